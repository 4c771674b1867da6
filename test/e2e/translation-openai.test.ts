/**
 * `provider: "openai-compatible"` (near-passthrough with `provider_config` auth, base URL, headers, query parameters,
 * default model and whitelist) and `/v1/models` for translation backends: only the models the key can route to,
 * `<backend>/<model>` ids, `x-ditto-translation` = backend name on model lookups (CONTRACT §3.4, §3.6).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { assertNoLeak, errorOf, jsonOf, raw, sdk, VK_TOKEN } from './proxy-kit.js';

const COMPAT_KEY = 'compat-secret-55aa';
const PINNED = 'sk-vk-pinned-to-gem-0b1c';
let up: MockUpstream;
let gw: TestGateway;
let client: OpenAI;

before(async () => {
  up = await startUpstream();
  gw = await startTestGateway({
    backends: [
      {
        name: 'compat', provider: 'openai-compatible',
        provider_config: {
          base_url: up.baseUrl,
          auth: { type: 'http_header_env', header: 'api-key', keys: ['UNSET_COMPAT_KEY', 'TEST_COMPAT_KEY'] },
          http_headers: { 'x-tenant': 'acme' },
          http_query_params: { 'api-version': '2024-10-21' },
          default_model: 'm-default',
          model_whitelist: ['m-default', 'm2'],
        },
      },
      { name: 'claude', provider: 'anthropic', model_map: { fast: 'claude-a' }, provider_config: { base_url: 'http://127.0.0.1:9', model_whitelist: ['claude-a', 'claude-b', 'orphan'] } },
      { name: 'gem', provider: 'google', provider_config: { base_url: 'http://127.0.0.1:9/v1beta', default_model: 'gemini-x' } },
    ],
    virtual_keys: [{ id: 'all', token: VK_TOKEN }, { id: 'pinned', token: PINNED, route: 'gem' }],
    router: {
      default_backends: [{ backend: 'compat' }],
      rules: [
        { model_prefix: 'claude', backend: 'claude' },
        { model_prefix: 'fast', backend: 'claude' },
        { model_prefix: 'gem', backend: 'gem' },
      ],
    },
  }, {}, { TEST_COMPAT_KEY: COMPAT_KEY, ANTHROPIC_API_KEY: 'sk-ant-x', GEMINI_API_KEY: 'g-x' });
  client = sdk(gw.url);
});

after(async () => {
  await gw?.close();
  await up?.close();
});

test('openai-compatible: relayed natively with provider auth (first set env var), headers, query params', async () => {
  up.requests.length = 0;
  up.handle((_req, res) => sendJson(res, 200, chatCompletion('compat says hi', 'm2')));
  const { data, response } = await client.chat.completions.create({ model: 'm2', messages: [{ role: 'user', content: 'hi' }], temperature: 0 }).withResponse();
  assert.equal(data.choices[0]?.message.content, 'compat says hi');
  assert.equal(response.headers.get('x-ditto-translation'), 'openai-compatible');
  assert.equal(response.headers.get('x-ditto-backend'), 'compat');
  const seen = up.requests[0];
  assert.ok(seen);
  assert.equal(seen.url, '/v1/chat/completions?api-version=2024-10-21');
  assert.equal(seen.headers['api-key'], COMPAT_KEY);
  assert.equal(seen.headers['x-tenant'], 'acme');
  assert.equal(seen.headers['authorization'], undefined);
  assert.deepEqual(JSON.parse(seen.body.toString('utf8')), { model: 'm2', messages: [{ role: 'user', content: 'hi' }], temperature: 0 });
  assertNoLeak(up.requests);
});

test('openai-compatible: `<backend>/<model>` is stripped, streams pass through, whitelist refuses others with 404', async () => {
  up.requests.length = 0;
  up.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const base = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm-default' };
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: 'streamed' }, finish_reason: null }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
    res.end('data: [DONE]\n\n');
  });
  const stream = await client.chat.completions.create({ model: 'compat/m-default', messages: [{ role: 'user', content: 'x' }], stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
  assert.equal(text, 'streamed');
  assert.equal((JSON.parse(up.requests[0]?.body.toString('utf8') ?? '{}') as { model?: string }).model, 'm-default');

  up.requests.length = 0;
  const err = await client.chat.completions.create({ model: 'not-allowed', messages: [{ role: 'user', content: 'x' }] }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof OpenAI.NotFoundError);
  assert.equal(err.code, 'model_not_found');
  assert.equal(up.requests.length, 0);
});

test('/v1/models: translation models the key can route to, `<backend>/<model>` ids, pinned keys see their backend only', async () => {
  const all = await raw(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${VK_TOKEN}` } });
  assert.equal(all.status, 200);
  const ids = (jsonOf(all)['data'] as Array<{ id: string; owned_by: string }>).map((m) => `${m.id}@${m.owned_by}`);
  // `orphan` and `gemini-x`-less ids are not routed to their backend by any rule for this key; `m2`/`m-default` go
  // to compat through the default route; `compat/…` ids too (no rule claims them).
  assert.deepEqual(ids, [
    'claude-a@claude', 'claude-b@claude', 'claude/claude-a@claude', 'claude/claude-b@claude', 'claude/orphan@claude',
    'compat/m-default@compat', 'compat/m2@compat', 'fast@claude', 'gem/gemini-x@gem', 'gemini-x@gem', 'm-default@compat', 'm2@compat',
  ]);
  const pinned = await raw(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${PINNED}` } });
  assert.deepEqual((jsonOf(pinned)['data'] as Array<{ id: string }>).map((m) => m.id), ['gem/gemini-x', 'gemini-x']);
  assert.equal(pinned.headers['x-ditto-translation'], 'gem');
  assert.equal(all.headers['x-ditto-translation'], undefined);
});

test('/v1/models/{id}: served by the routed translation backend; unknown → 404 model_not_found', async () => {
  const hit = await raw(`${gw.url}/v1/models/claude-b`, { headers: { authorization: `Bearer ${VK_TOKEN}` } });
  assert.equal(hit.status, 200);
  assert.deepEqual(jsonOf(hit), { id: 'claude-b', object: 'model', created: 0, owned_by: 'claude' });
  assert.equal(hit.headers['x-ditto-translation'], 'claude');
  const miss = await raw(`${gw.url}/v1/models/gemma-unknown`, { headers: { authorization: `Bearer ${VK_TOKEN}` } });
  assert.equal(miss.status, 404);
  assert.equal(errorOf(miss).code, 'model_not_found');
});
