/**
 * What the upstream receives (CONTRACT §3.3): the exact URL (base path, `/v1` not repeated, client
 * query then backend `query_params`), headers (credentials and hop-by-hop stripped, backend headers
 * win, `x-request-id` = the request id, tracing and OpenAI headers pass), body bytes, `model_map`,
 * the `/v1`-less aliases, and that the virtual key never leaves the gateway.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type MockUpstream, type SeenRequest } from '../helpers/upstream.js';
import { assertNoLeak, raw, sdk, VK_ID, VK_TOKEN } from './proxy-kit.js';

let up: MockUpstream;
let gw: TestGateway;

/** Every backend points at the same upstream; a key pinned to each selects it. */
before(async () => {
  up = await startUpstream();
  const backends = [
    { name: 'v1', base_url: `${up.url}/v1/` },
    { name: 'root', base_url: up.url },
    { name: 'prefixed', base_url: `${up.url}/openai/v1` },
    { name: 'prefix-no-v1', base_url: `${up.url}/api` },
    { name: 'query', base_url: `${up.url}/v1`, query_params: { 'api-version': '2024-10-21', ' trimmed ': ' spaced ', '': 'dropped', a: 'backend' } },
    { name: 'headers', base_url: `${up.url}/v1`, headers: { 'X-Org': 'from-backend', Authorization: 'Bearer sk-upstream-secret', 'openai-organization': 'org-backend' } },
    { name: 'mapped', base_url: `${up.url}/v1`, model_map: { 'gpt-4o': 'azure-gpt-4o-2024', '*': 'catch-all-model' } },
    { name: 'mapped-exact', base_url: `${up.url}/v1`, model_map: { 'gpt-4o': 'azure-gpt-4o-2024' } },
  ];
  gw = await startTestGateway({
    backends,
    virtual_keys: [
      { id: VK_ID, token: VK_TOKEN },
      ...backends.map((b) => ({ id: `k-${b.name}`, token: `${VK_TOKEN}-${b.name}`, route: b.name })),
    ],
    router: { default_backends: [{ backend: 'v1' }] },
  });
});

after(async () => {
  // Nothing the upstream saw in this whole file may carry a virtual key.
  assertNoLeak(up.requests, VK_TOKEN);
  await gw?.close();
  await up?.close();
});

/** POST a JSON body with a key and return what the upstream saw. */
async function post(path: string, token: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; seen: SeenRequest; responseHeaders: Record<string, unknown> }> {
  const before = up.requests.length;
  const r = await raw(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body,
  });
  assert.equal(r.status, 200, r.body.toString('utf8'));
  assert.equal(up.requests.length, before + 1, 'expected exactly one upstream request');
  return { status: r.status, seen: up.requests[before]!, responseHeaders: r.headers };
}

const CHAT = '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}';

test('upstream URL: base_url ending /v1 (trailing slash too) does not repeat /v1; client query kept', async () => {
  const { seen } = await post('/v1/chat/completions?trace=1&b=%20x', `${VK_TOKEN}-v1`, CHAT);
  assert.equal(seen.url, '/v1/chat/completions?trace=1&b=%20x');
});

test('upstream URL: base_url without /v1 gets the /v1 path appended', async () => {
  assert.equal((await post('/v1/chat/completions', `${VK_TOKEN}-root`, CHAT)).seen.url, '/v1/chat/completions');
  assert.equal((await post('/v1/chat/completions', `${VK_TOKEN}-prefixed`, CHAT)).seen.url, '/openai/v1/chat/completions');
  assert.equal((await post('/v1/chat/completions', `${VK_TOKEN}-prefix-no-v1`, CHAT)).seen.url, '/api/v1/chat/completions');
});

test('upstream URL: backend query_params follow the client query, trimmed, empty names dropped, shared names sent twice', async () => {
  const { seen } = await post('/v1/chat/completions?a=client&z=1', `${VK_TOKEN}-query`, CHAT);
  assert.equal(seen.url, '/v1/chat/completions?a=client&z=1&api-version=2024-10-21&trimmed=spaced&a=backend');
  const noClientQuery = await post('/v1/embeddings', `${VK_TOKEN}-query`, '{"model":"e","input":"x"}');
  assert.equal(noClientQuery.seen.url, '/v1/embeddings?api-version=2024-10-21&trimmed=spaced&a=backend');
});

test('upstream headers: every credential header and hop-by-hop header is stripped, others pass', async () => {
  const { seen, responseHeaders } = await post('/v1/chat/completions', VK_TOKEN, CHAT, {
    'x-api-key': VK_TOKEN,
    'x-litellm-api-key': `Bearer ${VK_TOKEN}`,
    'x-ditto-virtual-key': VK_TOKEN,
    'proxy-authorization': `Basic ${VK_TOKEN}`,
    'x-forwarded-authorization': `Bearer ${VK_TOKEN}`,
    'x-ditto-protocol': 'openai',
    'x-ditto-cache-bypass': '1',
    'x-ditto-bypass-cache': '1',
    'x-ditto-skip-mcp': '1',
    connection: 'keep-alive, x-hop-listed',
    'x-hop-listed': 'only for this hop',
    'keep-alive': 'timeout=5',
    'proxy-connection': 'keep-alive',
    'proxy-authenticate': 'Basic',
    te: 'trailers',
    trailer: 'x-checksum',
    upgrade: 'websocket',
    'openai-organization': 'org-123',
    'openai-project': 'proj-9',
    'openai-beta': 'assistants=v2',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    tracestate: 'vendor=1',
    'user-agent': 'e2e-client/1.0',
    'x-custom': 'kept',
  });
  const h = seen.headers;
  for (const name of [
    'authorization', 'x-api-key', 'x-litellm-api-key', 'x-ditto-virtual-key', 'proxy-authorization', 'x-forwarded-authorization',
    'x-ditto-protocol', 'x-ditto-cache-bypass', 'x-ditto-bypass-cache', 'x-ditto-skip-mcp',
    'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'upgrade', 'transfer-encoding', 'x-hop-listed',
  ]) {
    assert.equal(h[name], undefined, `${name} must not reach the upstream`);
  }
  // The gateway's own connection to the upstream, not the client's.
  assert.notEqual(h['connection'], 'keep-alive, x-hop-listed');
  assert.equal(h['openai-organization'], 'org-123');
  assert.equal(h['openai-project'], 'proj-9');
  assert.equal(h['openai-beta'], 'assistants=v2');
  assert.equal(h['traceparent'], '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.equal(h['tracestate'], 'vendor=1');
  assert.equal(h['user-agent'], 'e2e-client/1.0');
  assert.equal(h['x-custom'], 'kept');
  assert.equal(h['content-type'], 'application/json');
  assert.equal(h['content-length'], String(Buffer.byteLength(CHAT)));
  assert.equal(h['host'], new URL(up.url).host);
  assert.equal(h['x-request-id'], responseHeaders['x-ditto-request-id']);
  assert.match(String(h['x-request-id']), /^ditto-\d+-\d+$/);
});

test('upstream headers: a chunked client body goes upstream with a content-length, not transfer-encoding', async () => {
  const before = up.requests.length;
  const { request } = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${gw.url}/v1/chat/completions`, {
      method: 'POST', agent: false,
      headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.write(CHAT.slice(0, 10));
    req.end(CHAT.slice(10));
  });
  assert.equal(status, 200);
  const seen = up.requests[before]!;
  assert.equal(seen.headers['transfer-encoding'], undefined);
  assert.equal(seen.headers['content-length'], String(Buffer.byteLength(CHAT)));
  assert.equal(seen.body.toString('utf8'), CHAT);
});

test('upstream headers: backend headers override the client\'s of the same name', async () => {
  const { seen } = await post('/v1/chat/completions', `${VK_TOKEN}-headers`, CHAT, { 'x-org': 'from-client', 'openai-organization': 'org-client' });
  assert.equal(seen.headers['x-org'], 'from-backend');
  assert.equal(seen.headers['openai-organization'], 'org-backend');
  assert.equal(seen.headers['authorization'], 'Bearer sk-upstream-secret');
});

test('upstream headers: x-request-id is the client\'s when it sent one, and is echoed back', async () => {
  const { seen, responseHeaders } = await post('/v1/chat/completions', VK_TOKEN, CHAT, { 'x-request-id': 'client-req-42' });
  assert.equal(seen.headers['x-request-id'], 'client-req-42');
  assert.equal(responseHeaders['x-request-id'], 'client-req-42');
  assert.equal(responseHeaders['x-ditto-request-id'], 'client-req-42');
});

test('body: bytes reach the upstream unchanged (whitespace, key order, escapes, numbers)', async () => {
  const odd = '{ "temperature" : 1.50,\n "model":"gpt-4o",  "messages":[{"role":"user","content":"caf\\u00e9 \u{1F600} \\"q\\""}], "z":1e2 }';
  const { seen } = await post('/v1/chat/completions', VK_TOKEN, odd);
  assert.ok(seen.body.equals(Buffer.from(odd, 'utf8')));
});

test('model_map: an exact hit rewrites only `model`', async () => {
  const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], temperature: 0.5, tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] };
  const { seen } = await post('/v1/chat/completions', `${VK_TOKEN}-mapped`, JSON.stringify(body));
  assert.deepEqual(JSON.parse(seen.body.toString('utf8')), { ...body, model: 'azure-gpt-4o-2024' });
  assert.equal(seen.headers['content-length'], String(seen.body.length));
});

test('model_map: `*` catches every other model; no hit and no `*` leaves the bytes alone', async () => {
  const other = '{"model":"gpt-3.5-turbo", "input":"x"}';
  const star = await post('/v1/embeddings', `${VK_TOKEN}-mapped`, other);
  assert.deepEqual(JSON.parse(star.seen.body.toString('utf8')), { model: 'catch-all-model', input: 'x' });
  const miss = await post('/v1/embeddings', `${VK_TOKEN}-mapped-exact`, other);
  assert.equal(miss.seen.body.toString('utf8'), other);
  const noModel = await post('/v1/embeddings', `${VK_TOKEN}-mapped`, '{"input": "no model here"}');
  assert.equal(noModel.seen.body.toString('utf8'), '{"input": "no model here"}');
});

test('aliases without /v1 are rewritten to /v1/... with the query kept', async () => {
  const cases: Array<[string, string]> = [
    ['POST', '/chat/completions?x=1'],
    ['POST', '/completions'],
    ['POST', '/embeddings?y=2&y=3'],
    ['POST', '/moderations'],
    ['POST', '/images/generations'],
    ['POST', '/audio/speech'],
    ['POST', '/rerank'],
    ['POST', '/responses'],
    ['POST', '/responses/compact'],
    ['GET', '/responses/resp_1?include=x'],
    ['GET', '/files'],
    ['GET', '/files/file-1?z=9'],
    ['GET', '/files/file-1/content'],
    ['POST', '/batches'],
    ['POST', '/batches/b_1/cancel'],
    ['GET', '/models/gpt-4o?q=1'],
  ];
  for (const [method, path] of cases) {
    const before = up.requests.length;
    const r = await raw(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${VK_TOKEN}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      ...(method === 'POST' ? { body: '{"model":"gpt-4o"}' } : {}),
    });
    assert.equal(r.status, 200, `${method} ${path}: ${r.body.toString('utf8')}`);
    assert.equal(up.requests[before]?.url, `/v1${path}`, `${method} ${path}`);
    assert.equal(up.requests[before]?.method, method);
  }
});

test('the SDK with each of the four key headers: the key is accepted and never forwarded', async () => {
  const before = up.requests.length;
  const ok = (headers: Record<string, string>) =>
    sdk(gw.url, 'unused-placeholder', { defaultHeaders: { authorization: null, ...headers } })
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
  await ok({ 'x-litellm-api-key': VK_TOKEN });
  await ok({ 'x-ditto-virtual-key': VK_TOKEN });
  await ok({ 'x-api-key': VK_TOKEN });
  await sdk(gw.url).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(up.requests.length, before + 4);
  assertNoLeak(up.requests.slice(before));
});
