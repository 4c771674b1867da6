/**
 * `GET /v1/models` and `GET /models` (CONTRACT §3.4): every passthrough backend is asked with its
 * own headers and query, failures are skipped, lists merge by id (first wins) sorted by id, a key's
 * `route` restricts the list, and when nothing answers the gateway says why.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { InternalServerError } from 'openai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { assertNoLeak, errorOf, jsonOf, raw, rejectsWith, sdk, VK_TOKEN } from './proxy-kit.js';

let one: MockUpstream;
let two: MockUpstream;
let broken: MockUpstream;
let gw: TestGateway;

const model = (id: string, owned_by: string) => ({ id, object: 'model', created: 1, owned_by });

before(async () => {
  one = await startUpstream();
  one.handle((_req, res) => sendJson(res, 200, { object: 'list', data: [model('shared', 'one'), model('zeta', 'one'), { no_id: true }] }));
  two = await startUpstream();
  two.handle((_req, res) => sendJson(res, 200, { object: 'list', data: [model('shared', 'two'), model('alpha', 'two')] }));
  broken = await startUpstream();
  broken.handle((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"data": not json'); });
  gw = await startTestGateway({
    backends: [
      { name: 'one', base_url: one.baseUrl, headers: { authorization: 'Bearer sk-one' }, query_params: { 'api-version': '1' } },
      { name: 'two', base_url: two.url },
      { name: 'broken', base_url: broken.baseUrl },
      { name: 'mocky', provider: 'mock', mock_models: ['mock-only'] },
    ],
    virtual_keys: [
      { id: 'all', token: VK_TOKEN },
      { id: 'pinned-two', token: `${VK_TOKEN}-two`, route: 'two' },
      { id: 'pinned-broken', token: `${VK_TOKEN}-broken`, route: 'broken' },
      { id: 'pinned-mock', token: `${VK_TOKEN}-mock`, route: 'mocky' },
    ],
    router: { default_backends: [{ backend: 'one' }], rules: [{ model_prefix: 'mock-', backend: 'mocky' }] },
  });
});

after(async () => {
  assertNoLeak([...one.requests, ...two.requests, ...broken.requests], VK_TOKEN);
  await gw?.close();
  await Promise.all([one?.close(), two?.close(), broken?.close()]);
});

test('the list merges every backend (first configured wins on duplicate ids), skips bad ones, sorted by id', async () => {
  const r = await raw(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${VK_TOKEN}` } });
  assert.equal(r.status, 200);
  const body = jsonOf(r) as { object: string; data: Array<{ id: string; owned_by: string }> };
  assert.equal(body.object, 'list');
  assert.deepEqual(body.data.map((m) => m.id), ['alpha', 'mock-only', 'shared', 'zeta']);
  assert.equal(body.data.find((m) => m.id === 'shared')?.owned_by, 'one');
  assert.ok(r.headers['x-ditto-request-id']);
  // Each backend was asked with its own headers and query; the key went nowhere.
  const seen = one.requests.at(-1)!;
  assert.equal(seen.url, '/v1/models?api-version=1');
  assert.equal(seen.headers['authorization'], 'Bearer sk-one');
  assert.equal(two.requests.at(-1)!.url, '/v1/models');
});

test('/models (alias) answers the same list through the SDK', async () => {
  const viaAlias = jsonOf(await raw(`${gw.url}/models`, { headers: { 'x-api-key': VK_TOKEN } })) as { data: Array<{ id: string }> };
  const ids: string[] = [];
  for await (const m of sdk(gw.url).models.list()) ids.push(m.id);
  assert.deepEqual(viaAlias.data.map((m) => m.id), ids);
});

test('a key pinned to one backend lists only that backend', async () => {
  const ids: string[] = [];
  for await (const m of sdk(gw.url, `${VK_TOKEN}-two`).models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['alpha', 'shared']);
  const mockIds: string[] = [];
  for await (const m of sdk(gw.url, `${VK_TOKEN}-mock`).models.list()) mockIds.push(m.id);
  assert.ok(mockIds.includes('mock-only'));
  assert.ok(!mockIds.includes('alpha'));
});

test('when every asked backend fails: 502 backend_error', async () => {
  const err = await rejectsWith(sdk(gw.url, `${VK_TOKEN}-broken`).models.list(), InternalServerError);
  assert.equal(err.status, 502);
  assert.equal(err.code, 'backend_error');
  const r = await raw(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${VK_TOKEN}-broken` } });
  assert.equal(errorOf(r).message, 'all upstream /v1/models requests failed');
});
