// Golden matrix for non-streaming responses: every upstream fixture → IR → every client protocol.
// Each rendered body is also checked against the client protocol's wire schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOLS, type IrResponse, type ProtocolId } from '../../src/protocols/index.js';
import { MessageResponse } from '../../src/protocols/anthropic/wire.js';
import { GenerateResponse } from '../../src/protocols/gemini/wire.js';
import { ChatResponse } from '../../src/protocols/openai/wire.js';
import { ENCODE_CTX, goldenJson, listFixtures, PROTOCOL_IDS, readJson } from './golden.js';

interface ResponseFixture {
  protocol: ProtocolId;
  body: unknown;
}

const DIR = 'responses/';
const cases = listFixtures(DIR).filter((f) => f.endsWith('.input.json')).map((f) => f.slice(0, -'.input.json'.length));
const SCHEMAS = { openai: ChatResponse, anthropic: MessageResponse, gemini: GenerateResponse } as const;

test('response fixtures exist for every upstream protocol; no stale goldens', () => {
  for (const p of PROTOCOL_IDS) {
    assert.ok(cases.some((c) => (readJson(`${DIR}${c}.input.json`) as ResponseFixture).protocol === p), `no ${p} response fixture`);
  }
  for (const f of listFixtures(DIR)) assert.ok(cases.includes(f.replace(/\.(input|ir|to-\w+)\.json$/, '')), `stale ${f}`);
});

for (const c of cases) {
  test(`response ${c}: upstream → IR → every client matches the goldens and the client's wire schema`, () => {
    const fx = readJson(`${DIR}${c}.input.json`) as ResponseFixture;
    const ir: IrResponse = PROTOCOLS[fx.protocol].responseToIr(structuredClone(fx.body), { toolCallIdPrefix: 'call_gw_' });
    goldenJson(`${DIR}${c}.ir.json`, ir);
    for (const target of PROTOCOL_IDS) {
      const out = PROTOCOLS[target].responseFromIr(structuredClone(ir), ENCODE_CTX);
      goldenJson(`${DIR}${c}.to-${target}.json`, out);
      const parsed = SCHEMAS[target].safeParse(out.value);
      assert.ok(parsed.success, `${c} → ${target} does not match the ${target} response schema: ${parsed.error?.message ?? ''}`);
    }
  });
}

test('same-protocol response round trips keep what the client needs', () => {
  const a = readJson(`${DIR}anthropic-thinking-tool.input.json`) as ResponseFixture;
  const back = PROTOCOLS.anthropic.responseFromIr(PROTOCOLS.anthropic.responseToIr(a.body), ENCODE_CTX).value as Record<string, unknown>;
  const src = a.body as Record<string, unknown>;
  assert.deepEqual(back['content'], src['content']);
  assert.equal(back['stop_reason'], 'tool_use');
  assert.deepEqual(back['usage'], { input_tokens: 50, cache_creation_input_tokens: 200, cache_read_input_tokens: 1800, output_tokens: 95 });

  const o = readJson(`${DIR}openai-tool-calls.input.json`) as ResponseFixture;
  const ob = PROTOCOLS.openai.responseFromIr(PROTOCOLS.openai.responseToIr(o.body), ENCODE_CTX).value as { choices: Array<{ message: unknown }>; usage: unknown };
  assert.deepEqual((ob.choices[0]?.message as { tool_calls: unknown }).tool_calls, ((o.body as { choices: Array<{ message: { tool_calls: unknown } }> }).choices[0]?.message.tool_calls));
  assert.deepEqual(ob.usage, { prompt_tokens: 1200, completion_tokens: 80, total_tokens: 1280, prompt_tokens_details: { cached_tokens: 1024 }, completion_tokens_details: { reasoning_tokens: 0 } });
});

test('usage is normalised once: cached, cache-write and reasoning tokens land in the same IR fields', () => {
  const u = (c: string): IrResponse['usage'] => {
    const fx = readJson(`${DIR}${c}.input.json`) as ResponseFixture;
    return PROTOCOLS[fx.protocol].responseToIr(fx.body).usage;
  };
  assert.deepEqual({ ...u('anthropic-thinking-tool'), raw: undefined }, {
    inputTokens: { total: 2050, noCache: 50, cacheRead: 1800, cacheWrite: 200 }, outputTokens: { total: 95 }, raw: undefined,
  });
  assert.deepEqual({ ...u('gemini-function-calls'), raw: undefined }, {
    inputTokens: { total: 2100, noCache: 52, cacheRead: 2048 }, outputTokens: { total: 130, text: 30, reasoning: 100 }, raw: undefined,
  });
  assert.deepEqual({ ...u('openai-tool-calls'), raw: undefined }, {
    inputTokens: { total: 1200, noCache: 176, cacheRead: 1024 }, outputTokens: { total: 80, text: 80, reasoning: 0 }, raw: undefined,
  });
});

test('malformed upstream responses are rejected, not half-translated', () => {
  assert.throws(() => PROTOCOLS.openai.responseToIr({ id: 'x', object: 'chat.completion' }), { name: 'TranslationError' });
  assert.throws(() => PROTOCOLS.anthropic.responseToIr({ type: 'message', content: 'nope' }), { name: 'TranslationError' });
  assert.throws(() => PROTOCOLS.gemini.responseToIr({ candidates: 'nope' }), { name: 'TranslationError' });
});
