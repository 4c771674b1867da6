/**
 * Virtual-key authentication (CONTRACT §4.1): header precedence, fail-closed without keys, disabled
 * and unknown keys, `sha256:` stored tokens, and OpenAI-shaped 401 bodies the SDK turns into
 * `AuthenticationError`. Two backends on one upstream tell which key won: each key is pinned to one.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { AuthenticationError } from 'openai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { errorOf, raw, rejectsWith, sdk, type RawResponse } from './proxy-kit.js';

const A = 'sk-auth-token-aaaa-1111';
const B = 'sk-auth-token-bbbb-2222';
const DISABLED = 'sk-auth-token-dddd-3333';
const HASHED_PLAIN = 'sk-auth-token-hhhh-4444';
const HASHED = `sha256:${createHash('sha256').update(HASHED_PLAIN).digest('hex')}`;
const PADDED = 'sk-auth-token-pppp-5555';

let up: MockUpstream;
let gw: TestGateway;
let noKeys: TestGateway;

before(async () => {
  up = await startUpstream();
  const backends = ['ba', 'bb', 'bh', 'bp'].map((name) => ({ name, base_url: up.baseUrl }));
  gw = await startTestGateway({
    backends,
    virtual_keys: [
      { id: 'key-a', token: A, route: 'ba' },
      { id: 'key-b', token: B, route: 'bb' },
      { id: 'key-disabled', token: DISABLED, enabled: false, route: 'ba' },
      { id: 'key-hashed', token: HASHED, route: 'bh' },
      { id: 'key-padded', token: `  ${PADDED}\n`, route: 'bp' },
    ],
    router: { default_backends: [{ backend: 'ba' }] },
  });
  noKeys = await startTestGateway({ backends: [{ name: 'ba', base_url: up.baseUrl }], router: { default_backends: [{ backend: 'ba' }] } });
});

after(async () => {
  await gw?.close();
  await noKeys?.close();
  await up?.close();
});

function chat(url: string, headers: Record<string, string>): Promise<RawResponse> {
  return raw(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: '{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}',
  });
}

/** Which key authenticated the request, read from the backend it was pinned to. */
async function winner(headers: Record<string, string>): Promise<string> {
  const r = await chat(gw.url, headers);
  assert.equal(r.status, 200, r.body.toString('utf8'));
  return String(r.headers['x-ditto-backend']);
}

function assert401(r: RawResponse, message: string): void {
  assert.equal(r.status, 401);
  assert.deepEqual(errorOf(r), { message, type: 'authentication_error', code: 'invalid_api_key' });
  assert.equal(r.headers['content-type'], 'application/json');
  assert.ok(r.headers['x-ditto-request-id'], '401 carries x-ditto-request-id');
  assert.equal(r.headers['x-ditto-backend'], undefined);
}

test('precedence: x-litellm-api-key (with or without Bearer) beats Authorization', async () => {
  assert.equal(await winner({ 'x-litellm-api-key': `Bearer ${A}`, authorization: `Bearer ${B}` }), 'ba');
  assert.equal(await winner({ 'x-litellm-api-key': A, authorization: `Bearer ${B}`, 'x-api-key': B }), 'ba');
  assert.equal(await winner({ 'x-litellm-api-key': `bearer ${A}` }), 'ba');
});

test('precedence: Authorization Bearer beats x-ditto-virtual-key, which beats x-api-key', async () => {
  assert.equal(await winner({ authorization: `Bearer ${B}`, 'x-ditto-virtual-key': A, 'x-api-key': A }), 'bb');
  assert.equal(await winner({ authorization: `bearer ${B}`, 'x-ditto-virtual-key': A }), 'bb');
  assert.equal(await winner({ 'x-ditto-virtual-key': A, 'x-api-key': B }), 'ba');
  assert.equal(await winner({ 'x-api-key': B }), 'bb');
});

test('empty or whitespace headers count as absent; Authorization needs the Bearer scheme', async () => {
  assert.equal(await winner({ 'x-litellm-api-key': '   ', authorization: `Bearer ${B}` }), 'bb');
  assert.equal(await winner({ 'x-litellm-api-key': 'Bearer ', 'x-api-key': B }), 'bb');
  assert.equal(await winner({ authorization: 'Bearer    ', 'x-ditto-virtual-key': A }), 'ba');
  // A non-Bearer Authorization is not a virtual key: the next header decides.
  assert.equal(await winner({ authorization: `Basic ${B}`, 'x-api-key': A }), 'ba');
  assert401(await chat(gw.url, { authorization: B }), 'missing virtual key');
  assert401(await chat(gw.url, { authorization: `Token ${A}` }), 'missing virtual key');
});

test('the first present header decides: a wrong higher-precedence key is not rescued by a later one', async () => {
  assert401(await chat(gw.url, { 'x-litellm-api-key': 'sk-wrong', authorization: `Bearer ${A}` }), 'unauthorized virtual key');
  assert401(await chat(gw.url, { authorization: 'Bearer sk-wrong', 'x-api-key': A }), 'unauthorized virtual key');
});

test('missing, unknown and disabled keys get distinct 401 messages; nothing reaches the upstream', async () => {
  const before = up.requests.length;
  assert401(await chat(gw.url, {}), 'missing virtual key');
  assert401(await chat(gw.url, { authorization: 'Bearer sk-not-a-key' }), 'unauthorized virtual key');
  assert401(await chat(gw.url, { 'x-api-key': DISABLED }), 'virtual key disabled');
  // Case matters: tokens are compared exactly.
  assert401(await chat(gw.url, { authorization: `Bearer ${A.toUpperCase()}` }), 'unauthorized virtual key');
  assert.equal(up.requests.length, before);
});

test('a sha256: stored token accepts its plaintext, never the stored hash itself', async () => {
  assert.equal(await winner({ authorization: `Bearer ${HASHED_PLAIN}` }), 'bh');
  assert401(await chat(gw.url, { authorization: `Bearer ${HASHED}` }), 'unauthorized virtual key');
  assert401(await chat(gw.url, { authorization: `Bearer ${HASHED.slice(7)}` }), 'unauthorized virtual key');
});

test('configured and presented tokens are trimmed', async () => {
  assert.equal(await winner({ authorization: `Bearer ${PADDED}` }), 'bp');
  assert.equal(await winner({ 'x-api-key': `  ${PADDED}  ` }), 'bp');
});

test('fail closed: with no keys configured every proxy and models request is 401', async () => {
  const before = up.requests.length;
  assert401(await chat(noKeys.url, {}), 'missing virtual key');
  assert401(await chat(noKeys.url, { authorization: 'Bearer anything' }), 'unauthorized virtual key');
  assert401(await raw(`${noKeys.url}/v1/models`, { headers: { authorization: 'Bearer anything' } }), 'unauthorized virtual key');
  assert401(await raw(`${noKeys.url}/models`), 'missing virtual key');
  assert401(await raw(`${noKeys.url}/embeddings`, { method: 'POST', headers: { 'x-api-key': 'x' }, body: '{}' }), 'unauthorized virtual key');
  const err = await rejectsWith(sdk(noKeys.url, 'sk-anything').chat.completions.create({ model: 'm', messages: [] }), AuthenticationError);
  assert.equal(err.status, 401);
  assert.equal(up.requests.length, before, 'no anonymous relay');
});

test('the SDK raises AuthenticationError with code invalid_api_key and the contract message', async () => {
  const cases: Array<[string, string]> = [['sk-unknown', 'unauthorized virtual key'], [DISABLED, 'virtual key disabled']];
  for (const [key, message] of cases) {
    const err = await rejectsWith(sdk(gw.url, key).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }), AuthenticationError);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'invalid_api_key');
    assert.equal(err.type, 'authentication_error');
    assert.match(err.message, new RegExp(message));
    assert.ok(err.requestID, 'the SDK sees a request id');
  }
  const list = await rejectsWith(sdk(gw.url, 'sk-unknown').models.list(), AuthenticationError);
  assert.equal(list.code, 'invalid_api_key');
  const files = await rejectsWith(sdk(gw.url, DISABLED).files.list(), AuthenticationError);
  assert.match(files.message, /virtual key disabled/);
});

test('authentication happens before the body is read: an unauthenticated 64 MiB upload is refused at once', async () => {
  const before = up.requests.length;
  const { request } = await import('node:http');
  const r = await new Promise<{ status: number; body: Buffer; connection: string | undefined }>((resolve, reject) => {
    const req = request(`${gw.url}/v1/files`, {
      method: 'POST', agent: false,
      headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-length': 64 * 1024 * 1024 },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), connection: res.headers['connection'] });
        req.destroy();
      });
    });
    req.on('error', (err) => { if (!req.destroyed) reject(err); });
    // Send only the first few KiB: the answer must not wait for the rest.
    req.write(Buffer.alloc(4096, 0x61));
  });
  assert.equal(r.status, 401);
  assert.equal(errorOf(r).message, 'missing virtual key');
  assert.equal(r.connection, 'close', 'unread body: the connection is not reused');
  assert.equal(up.requests.length, before);
});
