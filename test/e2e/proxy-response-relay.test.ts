/**
 * The upstream response is relayed byte for byte (CONTRACT §3.3, §4.3): status, headers minus
 * hop-by-hop, body (buffered, chunked, binary, SSE), upstream error bodies untouched, plus the
 * gateway's `x-ditto-request-id`, `x-request-id` and `x-ditto-backend`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { BadRequestError, InternalServerError, NotFoundError, RateLimitError } from 'openai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { passthroughConfig, raw, rejectsWith, sdk, VK_TOKEN } from './proxy-kit.js';

let up: MockUpstream;
let gw: TestGateway;

before(async () => {
  up = await startUpstream();
  gw = await startTestGateway(passthroughConfig(up.baseUrl));
});

after(async () => {
  await gw?.close();
  await up?.close();
});

const auth = { authorization: `Bearer ${VK_TOKEN}` };
const CHAT = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'x' }] };

/** Header values for `name` as the client received them on the wire, in order. */
function wireValues(rawHeaders: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) out.push(rawHeaders[i + 1]!);
  return out;
}

test('status, headers and a binary body are relayed exactly; hop-by-hop headers are not', async () => {
  const payload = randomBytes(64 * 1024);
  up.handle((_req, res) => {
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('content-length', payload.length);
    res.setHeader('x-upstream-a', 'alpha');
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
    res.setHeader('openai-processing-ms', '42');
    res.setHeader('x-ratelimit-remaining-requests', '99');
    res.setHeader('keep-alive', 'timeout=7, max=3');
    res.setHeader('proxy-authenticate', 'Basic realm="up"');
    res.setHeader('connection', 'keep-alive, x-upstream-hop');
    res.setHeader('x-upstream-hop', 'connection-listed');
    res.writeHead(201);
    res.end(payload);
  });
  const r = await raw(`${gw.url}/v1/files/file-1/content`, { headers: auth });
  assert.equal(r.status, 201);
  assert.ok(r.body.equals(payload), 'body bytes differ');
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.equal(r.headers['content-length'], String(payload.length));
  assert.equal(r.headers['x-upstream-a'], 'alpha');
  assert.deepEqual(wireValues(r.rawHeaders, 'set-cookie'), ['a=1; Path=/', 'b=2; Path=/']);
  assert.equal(r.headers['openai-processing-ms'], '42');
  assert.equal(r.headers['x-ratelimit-remaining-requests'], '99');
  assert.equal(r.headers['proxy-authenticate'], undefined);
  assert.equal(r.headers['x-upstream-hop'], undefined);
  assert.ok(!wireValues(r.rawHeaders, 'keep-alive').some((v) => v.includes('timeout=7')), 'upstream keep-alive leaked');
  assert.equal(r.headers['x-ditto-backend'], 'primary');
  assert.match(String(r.headers['x-ditto-request-id']), /^ditto-\d+-\d+$/);
  assert.equal(r.headers['x-request-id'], r.headers['x-ditto-request-id']);
});

test('a chunked upstream body (no content-length) arrives complete and in order', async () => {
  const parts = Array.from({ length: 20 }, (_, i) => `part-${i};`);
  up.handle(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    for (const p of parts) {
      res.write(p);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    res.end();
  });
  const r = await raw(`${gw.url}/v1/some/unknown/endpoint`, { headers: auth });
  assert.equal(r.status, 200);
  assert.equal(r.body.toString('utf8'), parts.join(''));
  assert.equal(r.headers['content-type'], 'text/plain');
});

test('an SSE body is relayed byte for byte (comments, CRLF, multi-line data, [DONE])', async () => {
  const events = [
    ': keep-alive comment\n\n',
    'event: custom\r\ndata: {"a":1}\r\n\r\n',
    'data: line one\ndata: line two\n\n',
    'id: 7\nretry: 1000\ndata: {"b":"\u00e9"}\n\n',
    'data: [DONE]\n\n',
  ];
  up.handle(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-sse-upstream': '1' });
    for (const e of events) {
      res.write(e);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    res.end();
  });
  const r = await raw(`${gw.url}/v1/realtime/events`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"model":"m"}' });
  assert.equal(r.status, 200);
  assert.equal(r.body.toString('utf8'), events.join(''));
  assert.equal(r.headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(r.headers['x-sse-upstream'], '1');
  assert.equal(r.headers['x-ditto-backend'], 'primary');
});

test('a 204 without a body is relayed as 204', async () => {
  up.handle((_req, res) => { res.writeHead(204, { 'x-deleted': 'yes' }); res.end(); });
  const r = await raw(`${gw.url}/v1/files/file-9`, { method: 'DELETE', headers: auth });
  assert.equal(r.status, 204);
  assert.equal(r.body.length, 0);
  assert.equal(r.headers['x-deleted'], 'yes');
});

test('x-request-id: the client\'s is echoed in both headers; otherwise a ditto-<ms>-<seq> id', async () => {
  up.handle((_req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'upstream-own-id' }); res.end('{}'); });
  const mine = await raw(`${gw.url}/v1/models/x`, { headers: { ...auth, 'x-request-id': 'abc-123' } });
  assert.equal(mine.headers['x-request-id'], 'abc-123');
  assert.equal(mine.headers['x-ditto-request-id'], 'abc-123');
  const a = await raw(`${gw.url}/v1/models/x`, { headers: auth });
  const b = await raw(`${gw.url}/v1/models/x`, { headers: auth });
  assert.match(String(a.headers['x-ditto-request-id']), /^ditto-\d+-\d+$/);
  assert.notEqual(a.headers['x-ditto-request-id'], b.headers['x-ditto-request-id']);
  // The upstream's own x-request-id does not replace the gateway's.
  assert.equal(a.headers['x-request-id'], a.headers['x-ditto-request-id']);
});

test('upstream 400 error body relayed untouched; the SDK raises BadRequestError with the upstream code', async () => {
  const body = '{"error":{"message":"This model\'s maximum context length is 8192 tokens","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"},"extra":{"kept":true}}';
  up.handle((_req, res) => { res.writeHead(400, { 'content-type': 'application/json', 'x-upstream-err': '1' }); res.end(body); });
  const r = await raw(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(CHAT) });
  assert.equal(r.status, 400);
  assert.equal(r.body.toString('utf8'), body);
  assert.equal(r.headers['x-upstream-err'], '1');
  assert.equal(r.headers['x-ditto-backend'], 'primary');
  const err = await rejectsWith(sdk(gw.url).chat.completions.create(CHAT), BadRequestError);
  assert.equal(err.status, 400);
  assert.equal(err.code, 'context_length_exceeded');
  assert.equal(err.param, 'messages');
  assert.equal(err.headers?.get('x-ditto-backend'), 'primary');
});

test('upstream 404, 429 and 5xx are relayed with their bodies; SDK classes follow the status', async () => {
  up.handle((_req, res) => { res.writeHead(404, { 'content-type': 'application/json' }); res.end('{"error":{"message":"no such file","type":"invalid_request_error","code":"file_not_found"}}'); });
  const nf = await rejectsWith(sdk(gw.url).files.retrieve('file-missing'), NotFoundError);
  assert.equal(nf.code, 'file_not_found');

  up.handle((_req, res) => { res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '17' }); res.end('{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}'); });
  const rl = await rejectsWith(sdk(gw.url).chat.completions.create(CHAT), RateLimitError);
  assert.equal(rl.code, 'rate_limit_exceeded');
  assert.equal(rl.headers?.get('retry-after'), '17');

  up.handle((_req, res) => { res.writeHead(503, { 'content-type': 'text/plain' }); res.end('upstream overloaded\n'); });
  const r = await raw(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(CHAT) });
  assert.equal(r.status, 503);
  assert.equal(r.body.toString('utf8'), 'upstream overloaded\n');
  assert.equal(r.headers['content-type'], 'text/plain');
  assert.equal(r.headers['x-ditto-backend'], 'primary');
  const ise = await rejectsWith(sdk(gw.url).chat.completions.create(CHAT), InternalServerError);
  assert.equal(ise.status, 503);
});
