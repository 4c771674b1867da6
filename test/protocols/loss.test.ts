// Honesty about loss (issue 4 item 5): a field the target cannot carry is rejected with a TranslationError naming the
// parameter, or dropped with a warning — never silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOLS, TranslationError, type IrRequest, type ProtocolId } from '../../src/protocols/index.js';

function rejects(fn: () => unknown, param: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TranslationError, `expected a TranslationError, got ${String(e)}`);
    assert.equal(e.param, param);
    if (message) assert.match(e.message, message);
    return true;
  });
}

test('malformed or unsupported client requests are rejected with the exact parameter', () => {
  const oa = PROTOCOLS.openai.requestToIr;
  rejects(() => oa({ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2 }), 'n');
  rejects(() => oa({ model: 'm', messages: [{ role: 'user', content: [{ type: 'video', video: {} }] }] }), 'messages[0].content[0].type');
  rejects(() => oa({ model: 'm', messages: [{ role: 'function', name: 'f', content: 'x' }] }), 'messages[0].role');
  rejects(() => oa({ model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'extreme' }), 'reasoning_effort');
  rejects(() => oa({ model: 'm', messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: 'not-a-data-url' } }] }] }), 'messages[0].content[0].file.file_data');
  rejects(() => oa({ messages: [] }), 'model');
  const an = PROTOCOLS.anthropic.requestToIr;
  rejects(() => an({ model: 'm', messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text' }] }] }] }), 'messages[0].content[0].content[0].text');
  rejects(() => an({ model: 'm', messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', input: {} }] }] }), 'messages[0].content[0].name');
  rejects(() => an({ model: 'm', messages: [], tool_choice: { type: 'tool' } }), 'tool_choice.name');
  const ge = (body: unknown): unknown => PROTOCOLS.gemini.requestToIr(body, { model: 'g', stream: false });
  rejects(() => ge({ contents: [], generationConfig: { candidateCount: 2 } }), 'generationConfig.candidateCount');
  rejects(() => ge({ contents: [], generationConfig: { responseMimeType: 'text/x.enum' } }), 'generationConfig.responseMimeType');
  rejects(() => ge({ contents: [], toolConfig: { functionCallingConfig: { mode: 'SOMETIMES' } } }), 'toolConfig.functionCallingConfig.mode');
});

const base: IrRequest = { model: 'm', system: [], messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], stream: false };
const to = (p: ProtocolId, ir: IrRequest): { value: Record<string, unknown>; warnings: string[] } => PROTOCOLS[p].requestFromIr(ir);

test('what a target cannot express at all is rejected, naming the parameter', () => {
  const audio: IrRequest = { ...base, messages: [{ role: 'user', content: [{ type: 'file', source: { kind: 'base64', mediaType: 'audio/wav', data: 'UklGRg==' } }] }] };
  rejects(() => to('anthropic', audio), 'messages', /audio\/wav/);
  const fileId: IrRequest = { ...base, messages: [{ role: 'user', content: [{ type: 'image', source: { kind: 'file_id', fileId: 'file_1' } }] }] };
  rejects(() => to('gemini', fileId), 'messages');
  rejects(() => to('openai', fileId), 'messages');
  const hosted: IrRequest = { ...base, tools: [{ type: 'provider', protocol: 'anthropic', value: { type: 'web_search_20250305', name: 'web_search' } }] };
  rejects(() => to('openai', hosted), 'tools');
  rejects(() => to('gemini', hosted), 'tools');
  assert.deepEqual(to('anthropic', hosted).value['tools'], [{ type: 'web_search_20250305', name: 'web_search' }]);
  const badArgs: IrRequest = {
    ...base,
    messages: [...base.messages, { role: 'assistant', content: [{ type: 'tool_call', id: 'c1', name: 'f', arguments: '{"a":' }] }],
  };
  rejects(() => to('anthropic', badArgs), 'messages', /c1/);
  rejects(() => to('gemini', badArgs), 'messages', /c1/);
  // OpenAI carries arguments as text, so the same history passes through unchanged.
  assert.equal(((to('openai', badArgs).value['messages'] as Array<{ tool_calls?: Array<{ function: { arguments: string } }> }>)[1]?.tool_calls?.[0]?.function.arguments), '{"a":');
  const orphan: IrRequest = { ...base, messages: [{ role: 'tool', content: [{ type: 'tool_result', toolCallId: 'nope', content: [{ type: 'text', text: 'x' }] }] }] };
  rejects(() => to('gemini', orphan), 'messages', /nope/);
});

test('every field of a full IR request is either carried or reported, per target (exact warning lists)', () => {
  const full: IrRequest = {
    model: 'm',
    system: [{ type: 'text', text: 'sys', cacheControl: { type: 'ephemeral' } }],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image', source: { kind: 'url', url: 'https://x/y.png' }, detail: 'high' }] },
      { role: 'assistant', content: [{ type: 'thinking', text: 'hmm', signature: 'sig' }, { type: 'tool_call', id: 'c1', name: 'f', arguments: '{}' }] },
      { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'c1', content: [{ type: 'text', text: 'ok' }], isError: true }] },
      { role: 'system', content: [{ type: 'text', text: 'late system' }] },
    ],
    tools: [{ type: 'function', name: 'f', parameters: { type: 'object' }, strict: true }],
    toolChoice: 'required',
    parallelToolCalls: false,
    responseFormat: { type: 'json_object' },
    maxTokens: 100,
    temperature: 0.5,
    topP: 0.9,
    topK: 10,
    stop: ['x'],
    seed: 1,
    presencePenalty: 0.1,
    frequencyPenalty: 0.2,
    thinking: { type: 'enabled', budgetTokens: 2000 },
    user: 'u1',
    metadata: { k: 'v' },
    stream: true,
    streamIncludeUsage: true,
    extra: { protocol: 'openai', fields: { logit_bias: { 1: 2 }, store: true } },
  };
  assert.deepEqual(to('openai', full).warnings, [
    'cache_control: openai has no cache_control, dropped',
    'thinking: openai does not accept reasoning in conversation history, dropped',
    'tool_result.is_error: openai has no error flag on tool messages, dropped',
    'top_k: not supported by openai, dropped',
    'thinking.budget_tokens: openai takes an effort level, sent reasoning_effort=low',
  ]);
  assert.deepEqual(to('anthropic', full).warnings, [
    'image_url.detail: not supported by anthropic, dropped',
    'messages: anthropic has no mid-conversation system messages; moved into system',
    'seed: not supported by anthropic, dropped',
    'presence_penalty: not supported by anthropic, dropped',
    'frequency_penalty: not supported by anthropic, dropped',
    'response_format: anthropic has no JSON mode without a schema, dropped',
    'metadata: anthropic accepts only metadata.user_id, other keys dropped',
    'logit_bias: not supported by anthropic, dropped',
    'store: not supported by anthropic, dropped',
  ]);
  assert.deepEqual(to('gemini', full).warnings, [
    'cache_control: gemini has no inline cache hints, dropped',
    'image_url.detail: not supported by gemini, dropped',
    'thinking: gemini does not accept reasoning in conversation history, dropped',
    'messages: gemini has no mid-conversation system messages; moved into systemInstruction',
    'tools.strict: gemini has no strict flag, dropped',
    'parallel_tool_calls: gemini cannot forbid parallel calls, dropped',
    'user: not supported by gemini, dropped',
    'metadata: not supported by gemini, dropped',
    'logit_bias: not supported by gemini, dropped',
    'store: not supported by gemini, dropped',
  ]);
  // And what is carried really is there.
  const g = to('gemini', full).value;
  assert.deepEqual(g['generationConfig'], {
    temperature: 0.5, topP: 0.9, topK: 10, maxOutputTokens: 100, stopSequences: ['x'], seed: 1, presencePenalty: 0.1,
    frequencyPenalty: 0.2, responseMimeType: 'application/json', thinkingConfig: { thinkingBudget: 2000, includeThoughts: true },
  });
  const a = to('anthropic', full).value;
  assert.deepEqual(a['metadata'], { user_id: 'u1' });
  assert.deepEqual(a['tool_choice'], { type: 'any', disable_parallel_tool_use: true });
  assert.deepEqual(a['thinking'], { type: 'enabled', budget_tokens: 2000 });
  const o = to('openai', full).value;
  assert.equal(o['user'], 'u1');
  assert.deepEqual(o['metadata'], { k: 'v' });
  assert.deepEqual(o['stream_options'], { include_usage: true });
});

test('a missing max_tokens for anthropic is filled in, and said so; a thinking budget raises it', () => {
  const r = to('anthropic', base);
  assert.equal(r.value['max_tokens'], 4096);
  assert.deepEqual(r.warnings, ['max_tokens: anthropic requires it; sent max_tokens=4096']);
  const t = to('anthropic', { ...base, thinking: { type: 'enabled', effort: 'high' } });
  assert.equal(t.value['max_tokens'], 24576 + 4096);
  assert.deepEqual(t.value['thinking'], { type: 'enabled', budget_tokens: 24576 });
  assert.equal(PROTOCOLS.anthropic.requestFromIr(base, { defaultMaxTokens: 1000 }).value['max_tokens'], 1000);
});

test('stream usage: openai upstream requests always ask for usage; the client flag only shapes the client stream', () => {
  assert.deepEqual(to('openai', { ...base, stream: true }).value['stream_options'], { include_usage: true });
  assert.equal(to('openai', base).value['stream_options'], undefined);
  const ir = PROTOCOLS.openai.requestToIr({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true }).value;
  assert.equal(ir.streamIncludeUsage, undefined);
});

test('openai user content: parts by default (CONTRACT §3.7), one string on request (§3.8), parts whenever non-text', () => {
  const ir = PROTOCOLS.gemini.requestToIr({ contents: [{ role: 'user', parts: [{ text: 'Tell me ' }, { text: 'a joke.' }, { text: '' }] }] }, { model: 'g', stream: false }).value;
  const parts = PROTOCOLS.openai.requestFromIr(ir).value['messages'];
  assert.deepEqual(parts, [{ role: 'user', content: [{ type: 'text', text: 'Tell me ' }, { type: 'text', text: 'a joke.' }] }]);
  const flat = PROTOCOLS.openai.requestFromIr(ir, { textContent: 'string' }).value['messages'];
  assert.deepEqual(flat, [{ role: 'user', content: 'Tell me a joke.' }]);
  const img = { ...base, messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'x' }, { type: 'image' as const, source: { kind: 'url' as const, url: 'https://x/y.png' } }] }] };
  assert.ok(Array.isArray((PROTOCOLS.openai.requestFromIr(img, { textContent: 'string' }).value['messages'] as Array<{ content: unknown }>)[0]?.content));
});
