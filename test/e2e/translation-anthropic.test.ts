/**
 * `provider: "anthropic"` behind the OpenAI surface (CONTRACT §2.2, §3.6, §7.2), driven by the real `openai` SDK
 * against a mock Anthropic Messages API: the exact native request (auth from env, no virtual key), responses,
 * streams translated as they arrive, tools round trips with parallel calls, images, JSON schema, error mapping
 * (SDK exception classes), mid-stream failures, warnings and local 400/501 replies.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI, { type APIError } from 'openai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import {
  anthropicError, anthropicMessage, anthropicStream, anthropicStreamFrames, frame, startAnthropicServer,
} from '../fixtures/providers/anthropic.js';
import { gate, type ProviderServer } from '../fixtures/providers/server.js';
import { errorOf, raw, sdk, VK_TOKEN } from './proxy-kit.js';

const KEY = 'sk-ant-api03-test-4a7b9c';
let prov: ProviderServer;
let gw: TestGateway;
let client: OpenAI;

before(async () => {
  prov = await startAnthropicServer(KEY);
  gw = await startTestGateway({
    backends: [{ name: 'claude', provider: 'anthropic', provider_config: { base_url: prov.url, auth: { type: 'api_key_env', keys: ['TEST_ANTHROPIC_KEY'] } } }],
    virtual_keys: [{ id: 'k', token: VK_TOKEN }],
    router: { default_backends: [{ backend: 'claude' }] },
  }, {}, { TEST_ANTHROPIC_KEY: KEY });
  client = sdk(gw.url);
});

after(async () => {
  await gw?.close();
  await prov?.close();
});

/** The native request the provider received last. */
function lastNative(): { json: Record<string, unknown>; headers: Record<string, unknown> } {
  const r = prov.requests[prov.requests.length - 1];
  assert.ok(r, 'the provider received no request');
  return { json: r.json as Record<string, unknown>, headers: r.headers };
}

test('non-stream: system, multi-turn, images (URL and base64), sampling, stop → exact Messages request; usage with cached tokens', async () => {
  prov.reply({ type: 'json', body: anthropicMessage([{ type: 'text', text: 'A red square.' }], { usage: { input_tokens: 12, output_tokens: 6, cache_read_input_tokens: 5, cache_creation_input_tokens: 3 } }) });
  const { data, response } = await client.chat.completions.create({
    model: 'claude-sonnet-4-5',
    messages: [
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: [
        { type: 'text', text: 'What is in these?' },
        { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      ] },
    ],
    max_tokens: 100,
    temperature: 0.3,
    top_p: 0.9,
    stop: ['END'],
    user: 'u-42',
  }).withResponse();
  assert.deepEqual(lastNative().json, {
    model: 'claude-sonnet-4-5',
    max_tokens: 100,
    system: [{ type: 'text', text: 'Be terse.' }],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] },
      { role: 'user', content: [
        { type: 'text', text: 'What is in these?' },
        { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      ] },
    ],
    temperature: 0.3,
    top_p: 0.9,
    stop_sequences: ['END'],
    metadata: { user_id: 'u-42' },
    stream: false,
  });
  const h = lastNative().headers;
  assert.equal(h['x-api-key'], KEY);
  assert.equal(h['anthropic-version'], '2023-06-01');
  assert.equal(h['authorization'], undefined);
  assert.ok(!JSON.stringify(prov.requests).includes(VK_TOKEN), 'the virtual key must not reach the provider');
  assert.equal(data.object, 'chat.completion');
  assert.equal(data.choices[0]?.message.content, 'A red square.');
  assert.equal(data.choices[0]?.finish_reason, 'stop');
  assert.deepEqual(data.usage, { prompt_tokens: 20, completion_tokens: 6, total_tokens: 26, prompt_tokens_details: { cached_tokens: 5 }, cache_creation_input_tokens: 3 });
  assert.equal(response.headers.get('x-ditto-translation'), 'anthropic');
  assert.equal(response.headers.get('x-ditto-backend'), 'claude');
  assert.equal(response.headers.get('x-ditto-translation-warnings'), null);
});

test('stream: deltas reach the client before the provider finishes; final usage chunk with include_usage', { timeout: 30_000 }, async () => {
  const g = gate();
  prov.reply({ type: 'sse', frames: anthropicStreamFrames([{ type: 'text', text: 'Hello there, friend.' }], { usage: { input_tokens: 30, output_tokens: 9, cache_read_input_tokens: 10 } }), holdAfter: 5, release: g.promise });
  const stream = await client.chat.completions.create({
    model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let finish: string | null | undefined;
  let usage: OpenAI.CompletionUsage | null | undefined;
  let released = false;
  for await (const chunk of stream) {
    const d = chunk.choices[0]?.delta.content;
    if (d) {
      text += d;
      // The first text arrived while the provider was still holding the rest of its stream: nothing was buffered.
      if (!released) { released = true; g.open(); }
    }
    if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(released, true);
  assert.equal(text, 'Hello there, friend.');
  assert.equal(finish, 'stop');
  assert.deepEqual(usage, { prompt_tokens: 40, completion_tokens: 9, total_tokens: 49, prompt_tokens_details: { cached_tokens: 10 } });
  assert.equal(lastNative().json['stream'], true);
});

test('stream without include_usage: no usage chunk, [DONE] at the end, no [DONE] needed upstream', async () => {
  prov.reply(anthropicStream([{ type: 'text', text: 'ok' }]));
  const r = await raw(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, stream: true }),
  });
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/event-stream/);
  const frames = r.body.toString('utf8').split('\n\n').filter((f) => f !== '');
  assert.equal(frames[frames.length - 1], 'data: [DONE]');
  const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.slice(6)) as { choices: unknown[]; usage?: unknown });
  assert.ok(chunks.every((c) => c.choices.length === 1 && c.usage === undefined));
});

const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

test('tools round trip with parallel calls: tool_use → tool_calls, tool messages → one user turn of tool_result blocks', async () => {
  prov.reply({ type: 'json', body: anthropicMessage([
    { type: 'text', text: 'Checking both.' },
    { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
    { type: 'tool_use', id: 'toolu_02', name: 'get_weather', input: { city: 'Oslo' } },
  ]) });
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris and Oslo?' }];
  const first = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages, tools: [weatherTool], tool_choice: 'auto', max_tokens: 200 });
  assert.deepEqual(lastNative().json['tools'], [{ name: 'get_weather', description: 'Weather for a city', input_schema: weatherTool.function.parameters }]);
  assert.deepEqual(lastNative().json['tool_choice'], { type: 'auto' });
  const msg = first.choices[0]?.message;
  assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
  assert.equal(msg?.content, 'Checking both.');
  assert.deepEqual(msg?.tool_calls, [
    { id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    { id: 'toolu_02', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
  ]);
  messages.push(msg as OpenAI.ChatCompletionMessageParam);
  messages.push({ role: 'tool', tool_call_id: 'toolu_01', content: '18C sunny' });
  messages.push({ role: 'tool', tool_call_id: 'toolu_02', content: '3C snow' });
  prov.reply({ type: 'json', body: anthropicMessage([{ type: 'text', text: 'Paris is warmer.' }]) });
  const second = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages, tools: [weatherTool], max_tokens: 200 });
  assert.equal(second.choices[0]?.message.content, 'Paris is warmer.');
  assert.deepEqual(lastNative().json['messages'], [
    { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Oslo?' }] },
    { role: 'assistant', content: [
      { type: 'text', text: 'Checking both.' },
      { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'toolu_02', name: 'get_weather', input: { city: 'Oslo' } },
    ] },
    { role: 'user', content: [
      { type: 'tool_result', tool_use_id: 'toolu_01', content: [{ type: 'text', text: '18C sunny' }] },
      { type: 'tool_result', tool_use_id: 'toolu_02', content: [{ type: 'text', text: '3C snow' }] },
    ] },
  ]);
});

test('streamed parallel tool calls: incremental arguments reassemble in the SDK; forced tool_choice maps', async () => {
  prov.reply(anthropicStream([
    { type: 'thinking', thinking: 'Two cities, two calls.', signature: 'sig-abc' },
    { type: 'tool_use', id: 'toolu_A', name: 'get_weather', input: { city: 'Lima', unit: 'celsius' } },
    { type: 'tool_use', id: 'toolu_B', name: 'get_weather', input: { city: 'Quito', unit: 'celsius' } },
  ]));
  const stream = client.chat.completions.stream({
    model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Lima and Quito' }], tools: [weatherTool],
    tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: true, max_tokens: 300,
  });
  let reasoning = '';
  stream.on('chunk', (c) => { reasoning += (c.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? ''; });
  const done = await stream.finalChatCompletion();
  assert.deepEqual(lastNative().json['tool_choice'], { type: 'tool', name: 'get_weather' });
  const calls = done.choices[0]?.message.tool_calls ?? [];
  assert.equal(done.choices[0]?.finish_reason, 'tool_calls');
  assert.deepEqual(calls.map((c) => c.type === 'function' ? [c.id, c.function.name, JSON.parse(c.function.arguments)] : []), [
    ['toolu_A', 'get_weather', { city: 'Lima', unit: 'celsius' }],
    ['toolu_B', 'get_weather', { city: 'Quito', unit: 'celsius' }],
  ]);
  assert.equal(reasoning, 'Two cities, two calls.');
});

test('JSON-schema response_format → output_config.format; finish length → "length"', async () => {
  prov.reply({ type: 'json', body: anthropicMessage([{ type: 'text', text: '{"a":' }], { stop_reason: 'max_tokens' }) });
  const schema = { type: 'object', properties: { a: { type: 'number' } }, required: ['a'], additionalProperties: false };
  const r = await client.chat.completions.create({
    model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'json' }], max_tokens: 3,
    response_format: { type: 'json_schema', json_schema: { name: 'out', schema, strict: true } },
  });
  assert.deepEqual(lastNative().json['output_config'], { format: { type: 'json_schema', schema } });
  assert.equal(r.choices[0]?.finish_reason, 'length');
});

test('provider errors before the first byte: status and OpenAI error body, the SDK raises the matching class', async () => {
  const cases: Array<[ReturnType<typeof anthropicError>, number, new (...a: never[]) => APIError, string]> = [
    [anthropicError(400, 'invalid_request_error', 'messages: at least one message is required'), 400, OpenAI.BadRequestError, 'invalid_request_error'],
    [anthropicError(401, 'authentication_error', 'invalid x-api-key'), 401, OpenAI.AuthenticationError, 'authentication_error'],
    [anthropicError(429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit', { 'retry-after': '7' }), 429, OpenAI.RateLimitError, 'rate_limit_error'],
    [anthropicError(500, 'api_error', 'Internal server error'), 500, OpenAI.InternalServerError, 'api_error'],
    [anthropicError(529, 'overloaded_error', 'Overloaded'), 503, OpenAI.InternalServerError, 'api_error'],
  ];
  for (const [reply, status, cls, type] of cases) {
    prov.reply(reply);
    const err = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }], max_tokens: 5 })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof cls, `expected ${cls.name} for ${status}, got ${String(err)}`);
    assert.equal((err as APIError).status, status);
    assert.equal((err as APIError).type, type);
    assert.equal(((err as APIError).error as { message?: string }).message, (reply as { body: { error: { message: string } } }).body.error.message);
    assert.equal((err as APIError).headers?.get('x-ditto-translation'), 'anthropic');
    if (status === 429) assert.equal((err as APIError).headers?.get('retry-after'), '7');
  }
});

test('mid-stream provider error event → OpenAI SSE error event, the SDK throws while iterating', async () => {
  const frames = anthropicStreamFrames([{ type: 'text', text: 'partial answer here' }]).slice(0, 5);
  frames.push(frame('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
  prov.reply({ type: 'sse', frames });
  const stream = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }], max_tokens: 50, stream: true });
  let text = '';
  const err = await (async () => {
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
  })().then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof OpenAI.APIError, `expected an APIError, got ${String(err)}`);
  assert.match((err as Error).message, /Overloaded/);
  assert.ok(text.length > 0 && 'partial answer here'.startsWith(text));
});

test('mid-stream connection loss → the stream ends with an SSE error event, never a spliced JSON body', async () => {
  prov.reply({ type: 'sse', frames: anthropicStreamFrames([{ type: 'text', text: 'cut off soon' }]), cutAfter: 4 });
  const r = await raw(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, stream: true }),
  });
  assert.equal(r.status, 200);
  const frames = r.body.toString('utf8').split('\n\n').filter((f) => f !== '');
  const last = JSON.parse((frames[frames.length - 1] ?? '').slice(6)) as { error?: { type: string } };
  assert.equal(last.error?.type, 'api_error');
  assert.ok(!r.body.toString('utf8').includes('[DONE]'));
});

test('fields Anthropic cannot carry: dropped and listed in x-ditto-translation-warnings; n > 1 → 400 naming n', async () => {
  prov.reply({ type: 'json', body: anthropicMessage([{ type: 'text', text: 'ok' }]) });
  const { response } = await client.chat.completions.create({
    model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }], seed: 7, frequency_penalty: 0.5,
  }).withResponse();
  const warnings = JSON.parse(response.headers.get('x-ditto-translation-warnings') ?? '[]') as string[];
  assert.ok(warnings.includes('seed: not supported by anthropic, dropped'), warnings.join(' | '));
  assert.ok(warnings.includes('frequency_penalty: not supported by anthropic, dropped'));
  assert.ok(warnings.some((w) => w.startsWith('max_tokens: anthropic requires it; sent max_tokens=4096')));
  assert.equal(lastNative().json['max_tokens'], 4096);
  assert.equal(lastNative().json['seed'], undefined);

  const before = prov.requests.length;
  const err = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }], n: 2 })
    .then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof OpenAI.BadRequestError);
  assert.equal(err.param, 'n');
  assert.equal(err.code, 'invalid_request');
  assert.equal(prov.requests.length, before, 'a rejected translation makes no provider call');
});

test('endpoints Anthropic has no equivalent for → 501 unsupported_endpoint, no provider call', async () => {
  const before = prov.requests.length;
  const r = await raw(`${gw.url}/v1/embeddings`, {
    method: 'POST', headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', input: 'x' }),
  });
  assert.equal(r.status, 501);
  assert.equal(errorOf(r).code, 'unsupported_endpoint');
  assert.equal(r.headers['x-ditto-translation'], 'anthropic');
  assert.equal(prov.requests.length, before);
});

test('client leaves mid-stream → the provider connection is closed (no orphaned generation)', { timeout: 30_000 }, async () => {
  const g = gate();
  prov.reply({ type: 'sse', frames: anthropicStreamFrames([{ type: 'text', text: 'a long answer that never finishes' }]), holdAfter: 4, release: g.promise });
  const ac = new AbortController();
  const stream = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }], max_tokens: 50, stream: true }, { signal: ac.signal });
  const seen = prov.requests[prov.requests.length - 1];
  assert.ok(seen);
  // The SDK ends (or rejects) the iteration once aborted; either way the gateway must close the provider side.
  await (async () => {
    for await (const c of stream) if (c.choices[0]?.delta.content) ac.abort();
  })().catch(() => undefined);
  await seen.closed;
  assert.equal(seen.aborted, true);
  g.open();
});

test('timeout_seconds: a provider that never answers → 504 backend_timeout', async () => {
  const p2 = await startAnthropicServer(KEY);
  const g2 = await startTestGateway({
    backends: [{ name: 'slow', provider: 'anthropic', timeout_seconds: 0.3, provider_config: { base_url: p2.url } }],
    virtual_keys: [{ id: 'k', token: VK_TOKEN }],
    router: { default_backends: [{ backend: 'slow' }] },
  }, {}, { ANTHROPIC_API_KEY: KEY });
  try {
    p2.reply({ type: 'hang' });
    const err = await sdk(g2.url).chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }], max_tokens: 5 })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal((err as APIError).status, 504);
    assert.equal((err as APIError).code, 'backend_timeout');
  } finally {
    await g2.close();
    await p2.close();
  }
});
