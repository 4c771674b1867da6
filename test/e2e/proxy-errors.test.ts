/**
 * Errors the gateway makes itself (CONTRACT §4.2, §4.6, §7.1), checked through the SDK's exception
 * classes: 404 unknown routes, 413 oversize bodies, 429 `inflight_limit` (a slow upstream holds
 * the one permit), 502 `backend_not_found` and `backend_error`.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import OpenAI, { APIError, InternalServerError, NotFoundError, RateLimitError } from 'openai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { assertHealthy, errorOf, raw, rejectsWith, sdk, until, VK_ID, VK_TOKEN } from './proxy-kit.js';

let up: MockUpstream;
let gw: TestGateway;
let deadUrl: string;

/** A loopback URL nothing listens on (bound, then closed). */
async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

before(async () => {
  up = await startUpstream();
  deadUrl = await closedPortUrl();
  gw = await startTestGateway({
    backends: [{ name: 'primary', base_url: up.baseUrl }, { name: 'dead', base_url: deadUrl }],
    virtual_keys: [{ id: VK_ID, token: VK_TOKEN }],
    // Only gpt-* and dead-* models have a route: there is no default.
    router: { rules: [{ model_prefix: 'gpt-', backend: 'primary' }, { model_prefix: 'dead-', backend: 'dead' }] },
  }, { maxInFlight: 1, maxBodyBytes: 64 * 1024 });
});

after(async () => {
  await gw?.close();
  await up?.close();
});

const msg = [{ role: 'user' as const, content: 'x' }];

test('404 for unknown routes, as an OpenAI-shaped body the SDK maps to NotFoundError', async () => {
  const root = new OpenAI({ baseURL: gw.url, apiKey: VK_TOKEN, maxRetries: 0 });
  const err = await rejectsWith(root.get('/definitely/not/a/route'), NotFoundError);
  assert.equal(err.status, 404);
  assert.equal(err.code, 'route_not_found');
  for (const path of ['/', '/v2/chat/completions', '/images/edits', '/healthz', '/v1beta', '/admin/keys']) {
    const r = await raw(`${gw.url}${path}`, { headers: { authorization: `Bearer ${VK_TOKEN}` } });
    assert.equal(r.status, 404, path);
    assert.equal(errorOf(r).code, 'route_not_found', path);
    assert.equal(r.headers['content-type'], 'application/json');
  }
  // Known paths with the wrong method are unknown routes too.
  const post = await raw(`${gw.url}/health`, { method: 'POST', body: '{}' });
  assert.equal(post.status, 404);
});

test('413 request_too_large for a JSON body over --proxy-max-body-bytes', async () => {
  const err = await rejectsWith(sdk(gw.url).embeddings.create({ model: 'gpt-embed', input: 'y'.repeat(70 * 1024) }), APIError);
  assert.equal(err.status, 413);
  assert.equal(err.code, 'request_too_large');
  assert.equal(err.type, 'invalid_request_error');
  assert.match(err.message, /65536-byte limit/);
});

test('429 inflight_limit while the one global permit is held by a slow request; released afterwards', async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => { release = resolve; });
  let arrived!: () => void;
  const arrivedP = new Promise<void>((resolve) => { arrived = resolve; });
  up.handle(async (_req, res) => {
    arrived();
    await released;
    sendJson(res, 200, chatCompletion('slow answer'));
  });
  const client = sdk(gw.url);
  const slow = client.chat.completions.create({ model: 'gpt-4o', messages: msg });
  await arrivedP;
  const err = await rejectsWith(client.chat.completions.create({ model: 'gpt-4o', messages: msg }), RateLimitError);
  assert.equal(err.status, 429);
  assert.equal(err.code, 'inflight_limit');
  assert.equal(err.type, 'rate_limit_error');
  assert.equal(err.message, '429 too many in-flight proxy requests');
  assert.equal(err.headers?.get('retry-after'), '1');
  // Health and metrics need no permit.
  await assertHealthy(gw.url);
  release();
  assert.equal((await slow).choices[0]?.message.content, 'slow answer');
  await until(() => gw.gw.inFlight === 0, 'the permit to be released');
  up.handle((_req, res) => sendJson(res, 200, chatCompletion('fast again')));
  assert.equal((await client.chat.completions.create({ model: 'gpt-4o', messages: msg })).choices[0]?.message.content, 'fast again');
});

test('429 inflight_limit: an open stream holds its permit until it ends', async () => {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => { finish = resolve; });
  up.handle(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify({ id: 's', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: 'first' }, finish_reason: null }] })}\n\n`);
    await finished;
    res.end('data: [DONE]\n\n');
  });
  const client = sdk(gw.url);
  const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: msg, stream: true });
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  assert.equal(first.done, false);
  await rejectsWith(client.chat.completions.create({ model: 'gpt-4o', messages: msg }), RateLimitError);
  finish();
  while (!(await it.next()).done) { /* drain */ }
  await until(() => gw.gw.inFlight === 0, 'the stream to release its permit');
  up.handle((_req, res) => sendJson(res, 200, chatCompletion('after stream')));
  assert.equal((await client.chat.completions.create({ model: 'gpt-4o', messages: msg })).choices[0]?.message.content, 'after stream');
});

test('502 backend_not_found when no rule or default matches the model; no x-ditto-backend', async () => {
  const before = up.requests.length;
  const err = await rejectsWith(sdk(gw.url).chat.completions.create({ model: 'claude-3-opus', messages: msg }), InternalServerError);
  assert.equal(err.status, 502);
  assert.equal(err.code, 'backend_not_found');
  assert.equal(err.type, 'api_error');
  assert.match(err.message, /claude-3-opus/);
  assert.equal(err.headers?.get('x-ditto-backend'), null);
  // No model at all: also no route.
  const r = await raw(`${gw.url}/v1/files`, { headers: { authorization: `Bearer ${VK_TOKEN}` } });
  assert.equal(r.status, 502);
  assert.equal(errorOf(r).code, 'backend_not_found');
  assert.equal(up.requests.length, before);
});

test('502 backend_error when the only backend refuses the connection', async () => {
  const err = await rejectsWith(sdk(gw.url).chat.completions.create({ model: 'dead-model', messages: msg }), InternalServerError);
  assert.equal(err.status, 502);
  assert.equal(err.code, 'backend_error');
  assert.equal(err.headers?.get('x-ditto-backend'), null);
  assert.ok(!err.message.includes(VK_TOKEN));
  await assertHealthy(gw.url);
});
