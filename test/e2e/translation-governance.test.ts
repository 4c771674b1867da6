/**
 * Governance on translated traffic (issue 4 tests, CONTRACT §7.7): a token budget settles on the provider's native
 * usage numbers, for JSON answers and for streams, including streams whose client did not ask for usage (the usage
 * chunk is requested from the translation backend and removed from what the client receives).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { anthropicMessage, anthropicStream, startAnthropicServer } from '../fixtures/providers/anthropic.js';
import type { ProviderServer } from '../fixtures/providers/server.js';
import { raw, VK_TOKEN } from './proxy-kit.js';

const KEY = 'sk-ant-gov-1';
let prov: ProviderServer;
let gw: TestGateway;

before(async () => {
  prov = await startAnthropicServer(KEY);
  gw = await startTestGateway({
    backends: [{ name: 'claude', provider: 'anthropic', provider_config: { base_url: prov.url } }],
    virtual_keys: [{ id: 'kgov', token: VK_TOKEN, budget: { total_tokens: 1_000_000 } }],
    router: { default_backends: [{ backend: 'claude' }] },
  }, {}, { ANTHROPIC_API_KEY: KEY });
});

after(async () => {
  await gw?.close();
  await prov?.close();
});

async function spent(): Promise<number> {
  await gw.gw.governance.drain();
  const [led] = await gw.gw.governance.store.listLedgers({ scopes: ['kgov'] });
  return led?.spentTokens ?? 0;
}

function chat(stream: boolean, includeUsage = false): Promise<{ status: number; body: Buffer }> {
  const body: Record<string, unknown> = { model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'count my tokens' }], stream };
  if (includeUsage) body['stream_options'] = { include_usage: true };
  return raw(`${gw.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
}

test('JSON answer: the budget settles on Anthropic input + cache + output tokens', async () => {
  const before = await spent();
  prov.reply({ type: 'json', body: anthropicMessage([{ type: 'text', text: 'ok' }], { usage: { input_tokens: 100, output_tokens: 7, cache_read_input_tokens: 20, cache_creation_input_tokens: 3 } }) });
  const r = await chat(false);
  assert.equal(r.status, 200);
  assert.equal(await spent() - before, 130);
});

test('stream without include_usage: settles on native usage; the client sees no usage chunk', async () => {
  const before = await spent();
  prov.reply(anthropicStream([{ type: 'text', text: 'streamed words' }], { usage: { input_tokens: 50, output_tokens: 11 } }));
  const r = await chat(true);
  assert.equal(r.status, 200);
  assert.equal((prov.requests.at(-1)?.json as { stream?: boolean }).stream, true);
  const text = r.body.toString('utf8');
  assert.ok(text.endsWith('data: [DONE]\n\n'));
  assert.ok(!text.includes('"usage"'), 'the client did not ask for usage');
  assert.equal(await spent() - before, 61);
});

test('stream with include_usage: the client gets the usage chunk and the budget the same numbers', async () => {
  const before = await spent();
  prov.reply(anthropicStream([{ type: 'text', text: 'more' }], { usage: { input_tokens: 40, output_tokens: 2, cache_read_input_tokens: 8 } }));
  const r = await chat(true, true);
  const frames = r.body.toString('utf8').split('\n\n').filter((f) => f.startsWith('data: {'));
  const usage = (JSON.parse((frames.at(-1) ?? '').slice(6)) as { usage?: { total_tokens: number } }).usage;
  assert.equal(usage?.total_tokens, 50);
  assert.equal(await spent() - before, 50);
});
