/**
 * Governance on client-surface traffic (issue 4 tests): budgets settle on the provider's real usage, read from the
 * translated answer — Gemini JSON and streams over an OpenAI upstream (whose `usageMetadata` the relay cannot read)
 * and an Anthropic stream passed through natively — and a 402 is rendered in the client's protocol.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { anthropicStream, startAnthropicServer } from '../fixtures/providers/anthropic.js';
import type { ProviderServer } from '../fixtures/providers/server.js';
import { raw } from './proxy-kit.js';
import { chunk, sendSse, usageChunk } from '../surfaces/kit.js';

const ANT_KEY = 'sk-ant-gov-3333';
let up: MockUpstream;
let ant: ProviderServer;
let gw: TestGateway;

/** A chat completion reporting `total` tokens of usage. */
function completionWithUsage(total: number): Record<string, unknown> {
  return {
    id: 'chatcmpl-g', object: 'chat.completion', created: 1700000000, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: total - 10, completion_tokens: 10, total_tokens: total },
  };
}

before(async () => {
  up = await startUpstream();
  ant = await startAnthropicServer(ANT_KEY);
  const key = (id: string) => ({ id, token: `sk-gov-${id}`, budget: { total_tokens: 1000 } });
  gw = await startTestGateway({
    backends: [
      { name: 'primary', base_url: up.baseUrl },
      { name: 'claude', provider: 'anthropic', provider_config: { base_url: ant.url, auth: { type: 'api_key_env', keys: ['T_ANT_GOV'] } } },
    ],
    virtual_keys: [key('gem-json'), key('gem-sse'), key('ant-native')],
    router: { default_backends: [{ backend: 'primary' }], rules: [{ model_prefix: 'claude', backend: 'claude' }] },
  }, {}, { T_ANT_GOV: ANT_KEY });
});

after(async () => {
  await gw?.close();
  await up?.close();
  await ant?.close();
});

function gemini(token: string, stream = false): Promise<{ status: number; body: Buffer }> {
  const method = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  return raw(`${gw.url}/v1beta/models/gem:${method}`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': token },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 20 } }),
  });
}

test('Gemini JSON over an OpenAI upstream: the budget settles on the upstream usage (990), so the next request is 402', async () => {
  up.handle((_req, res) => sendJson(res, 200, completionWithUsage(990)));
  assert.equal((await gemini('sk-gov-gem-json')).status, 200);
  const second = await gemini('sk-gov-gem-json');
  assert.equal(second.status, 402, 'settled on 990 real tokens, not on the ~40-token estimate');
  const err = (JSON.parse(second.body.toString()) as { error: { code: number; status: string; message: string } }).error;
  assert.equal(err.code, 402);
  assert.equal(err.status, 'RESOURCE_EXHAUSTED');
  assert.match(err.message, /^budget exceeded/);
});

test('Gemini stream over an OpenAI upstream: settles on the streamed usage', async () => {
  up.handle((_req, res) => sendSse(res, [chunk({ content: 'ok' }), chunk({}, 'stop'), usageChunk(980, 10)]));
  const first = await gemini('sk-gov-gem-sse', true);
  assert.equal(first.status, 200);
  assert.match(first.body.toString(), /"totalTokenCount":990/);
  assert.equal((await gemini('sk-gov-gem-sse', true)).status, 402);
});

test('Anthropic stream passed through natively: settles on the provider usage from message_start + message_delta', async () => {
  ant.reply(anthropicStream([{ type: 'text', text: 'hello' }], { usage: { input_tokens: 900, output_tokens: 90 } }));
  const c = new Anthropic({ apiKey: 'sk-gov-ant-native', baseURL: gw.url, maxRetries: 0 });
  const final = await c.messages.stream({ model: 'claude-gov', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
  assert.equal(final.usage.output_tokens, 90);
  await assert.rejects(c.messages.create({ model: 'claude-gov', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
    assert.ok(err instanceof Anthropic.APIError);
    assert.equal(err.status, 402);
    return true;
  });
});

test('guardrails see surface traffic: a banned phrase in an Anthropic or Gemini prompt is refused in the client shape', async () => {
  const up2 = await startUpstream();
  const gw2 = await startTestGateway({
    backends: [{ name: 'p', base_url: up2.baseUrl }],
    virtual_keys: [{ id: 'g', token: 'sk-gov-guard', guardrails: { banned_phrases: ['forbidden fruit'] } }],
    router: { default_backends: [{ backend: 'p' }] },
  });
  try {
    const a = await raw(`${gw2.url}/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': 'sk-gov-guard', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', max_tokens: 5, system: 'You like the Forbidden Fruit.', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(a.status, 403);
    const ae = JSON.parse(a.body.toString()) as { type: string; error: { type: string; message: string } };
    assert.equal(ae.type, 'error');
    assert.equal(ae.error.type, 'permission_error');
    assert.match(ae.error.message, /banned_phrase/);
    const g = await raw(`${gw2.url}/v1beta/models/m:generateContent`, {
      method: 'POST', headers: { 'x-goog-api-key': 'sk-gov-guard', 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'tell me of the forbidden fruit' }] }] }),
    });
    assert.equal(g.status, 403);
    assert.equal((JSON.parse(g.body.toString()) as { error: { status: string } }).error.status, 'PERMISSION_DENIED');
    assert.equal(up2.requests.length, 0);
  } finally {
    await gw2.close();
    await up2.close();
  }
});
