/**
 * Bad request bodies and paths never crash the gateway and get a clear JSON error (CONTRACT §3.3
 * steps 1 and 4): malformed JSON, invalid UTF-8, non-object JSON, `.`/`..` segments; a body that is
 * not `application/json` is relayed as is, never parsed. After each case `/health` still answers.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { BadRequestError } from 'openai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { assertHealthy, errorOf, passthroughConfig, raw, rejectsWith, sdk, VK_TOKEN, type RawResponse } from './proxy-kit.js';

let up: MockUpstream;
let gw: TestGateway;

before(async () => {
  up = await startUpstream();
  gw = await startTestGateway(passthroughConfig(up.baseUrl));
});

afterEach(async () => {
  await assertHealthy(gw.url);
});

after(async () => {
  await gw?.close();
  await up?.close();
});

function post(path: string, body: Buffer | string, contentType: string | null = 'application/json'): Promise<RawResponse> {
  const headers: Record<string, string> = { authorization: `Bearer ${VK_TOKEN}` };
  if (contentType !== null) headers['content-type'] = contentType;
  return raw(`${gw.url}${path}`, { method: 'POST', headers, body });
}

function assertError(r: RawResponse, status: number, code: string, message?: RegExp): void {
  assert.equal(r.status, status, r.body.toString('utf8'));
  assert.equal(r.headers['content-type'], 'application/json');
  const e = errorOf(r);
  assert.equal(e.code, code);
  assert.equal(e.type, 'invalid_request_error');
  if (message) assert.match(e.message, message);
  assert.ok(r.headers['x-ditto-request-id'], 'errors carry x-ditto-request-id');
}

test('malformed JSON: 400 invalid_json, never sent upstream', async () => {
  const before = up.requests.length;
  for (const body of ['{"model":', '{model: "gpt-4o"}', '{"a":1}}', '\u0000', '{"a":"\\x"}', 'nan']) {
    assertError(await post('/v1/chat/completions', body), 400, 'invalid_json', /invalid JSON body/);
  }
  // Content types are case-insensitive and may carry parameters.
  assertError(await post('/v1/chat/completions', '{"model":', 'Application/JSON; charset=utf-8'), 400, 'invalid_json');
  assert.equal(up.requests.length, before);
});

test('malformed JSON through the SDK raises BadRequestError', async () => {
  const client = sdk(gw.url);
  const err = await rejectsWith(client.post('/chat/completions', { body: '{"model":' as unknown as Record<string, unknown>, headers: { 'content-type': 'application/json' } }), BadRequestError);
  assert.equal(err.code, 'invalid_json');
});

test('invalid UTF-8 in a JSON body: 400 invalid_json', async () => {
  const before = up.requests.length;
  const bad = Buffer.concat([Buffer.from('{"model":"gpt-4o","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}]}')]);
  assertError(await post('/v1/chat/completions', bad), 400, 'invalid_json', /UTF-8/);
  // An overlong encoding of "/" and a lone surrogate are invalid too.
  assertError(await post('/v1/embeddings', Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d])), 400, 'invalid_json');
  assertError(await post('/v1/embeddings', Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d])), 400, 'invalid_json');
  assert.equal(up.requests.length, before);
});

test('a JSON body that is not an object: 400 invalid_request, never sent upstream', async () => {
  const before = up.requests.length;
  for (const body of ['[1,2,3]', '"just a string"', '42', 'null', 'true', '[{"model":"gpt-4o"}]']) {
    assertError(await post('/v1/chat/completions', body), 400, 'invalid_request', /request body must be a JSON object/);
  }
  assert.equal(up.requests.length, before);
});

test('a body that is not application/json is relayed byte for byte, never parsed', async () => {
  const cases: Array<[string | null, Buffer]> = [
    ['text/plain', Buffer.from('{"model": this is not json')],
    ['application/x-www-form-urlencoded', Buffer.from('model=gpt-4o&x=%FF')],
    ['application/octet-stream', Buffer.from([0x00, 0xff, 0xfe, 0x7b])],
    [null, Buffer.from('{not json either')],
  ];
  for (const [ct, body] of cases) {
    const before = up.requests.length;
    const r = await post('/v1/chat/completions', body, ct);
    assert.equal(r.status, 200, `${ct}: ${r.body.toString('utf8')}`);
    const seen = up.requests[before]!;
    assert.ok(seen.body.equals(body), `${ct}: body changed`);
    assert.equal(seen.headers['content-type'], ct ?? undefined);
  }
});

test('an empty application/json body is relayed, not a parse error', async () => {
  const before = up.requests.length;
  const r = await post('/v1/batches/b1/cancel', '');
  assert.equal(r.status, 200);
  assert.equal(up.requests[before]!.body.length, 0);
});

test('`.` and `..` path segments, raw or percent-encoded, are refused with 400', async () => {
  const before = up.requests.length;
  for (const path of [
    '/v1/../admin/keys', '/v1/files/../../etc/passwd', '/v1/./models', '/v1/files/%2e%2e/secret', '/v1/files/%2E%2e',
    '/v1/files/.%2E/x', '/files/../x', '/models/./gpt-4o', '/v1/files/..', '/v1/..?x=1',
  ]) {
    const r = await raw(`${gw.url}${path}`, { headers: { authorization: `Bearer ${VK_TOKEN}` } });
    assertError(r, 400, 'invalid_request', /"\." or "\.\." segments/);
  }
  // Dots inside a segment are fine.
  const ok = await raw(`${gw.url}/v1/files/file-1..2/...`, { headers: { authorization: `Bearer ${VK_TOKEN}` } });
  assert.equal(ok.status, 200);
  assert.equal(up.requests.length, before + 1);
  assert.equal(up.requests[before]!.url, '/v1/files/file-1..2/...');
});

test('a model id that is not valid percent-encoding: 400, not a crash', async () => {
  const r = await raw(`${gw.url}/v1/models/%E0%A4%A`, { headers: { authorization: `Bearer ${VK_TOKEN}` } });
  assertError(r, 400, 'invalid_request', /percent-encoding/);
});

test('a deeply nested JSON body gets a clean answer, not a stack overflow', async () => {
  const deep = '['.repeat(200_000) + ']'.repeat(200_000);
  const r = await post('/v1/chat/completions', `{"model":"gpt-4o","x":${deep}}`);
  // JSON.parse is iterative in V8, so this parses; what matters is a clean answer and a live process.
  assert.ok(r.status === 200 || r.status === 400, `unexpected ${r.status}`);
});
