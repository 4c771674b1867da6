/**
 * `provider: "google"` behind the OpenAI surface (CONTRACT §2.2, §3.6, §7.2), driven by the real `openai` SDK
 * against a mock Gemini API: generateContent / streamGenerateContent?alt=sse requests (exact JSON, key from env),
 * tools round trip with parallel calls, images, JSON schema, errors, mid-stream failure, and `/v1/embeddings` via
 * embedContent / batchEmbedContents.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI, { type APIError } from 'openai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { geminiError, geminiFrame, geminiResponse, geminiStreamFrames, startGeminiServer } from '../fixtures/providers/gemini.js';
import type { ProviderServer } from '../fixtures/providers/server.js';
import { sdk, VK_TOKEN } from './proxy-kit.js';

const KEY = 'AIzaSy-test-gemini-91c2';
let prov: ProviderServer;
let gw: TestGateway;
let client: OpenAI;

before(async () => {
  prov = await startGeminiServer(KEY);
  gw = await startTestGateway({
    backends: [{ name: 'gem', provider: 'google', provider_config: { base_url: `${prov.url}/v1beta` } }],
    virtual_keys: [{ id: 'k', token: VK_TOKEN }],
    router: { default_backends: [{ backend: 'gem' }] },
  }, {}, { GEMINI_API_KEY: KEY });
  client = sdk(gw.url);
});

after(async () => {
  await gw?.close();
  await prov?.close();
});

function last(): { path: string; query: URLSearchParams; json: Record<string, unknown>; headers: Record<string, unknown> } {
  const r = prov.requests[prov.requests.length - 1];
  assert.ok(r, 'the provider received no request');
  return { path: r.path, query: r.query, json: r.json as Record<string, unknown>, headers: r.headers };
}

test('non-stream: generateContent with system, turns, images, sampling, stop; key from the default env var', async () => {
  prov.reply({ type: 'json', body: geminiResponse([{ text: 'Two shapes.' }], { usage: { promptTokenCount: 40, candidatesTokenCount: 3, totalTokenCount: 50, cachedContentTokenCount: 16, thoughtsTokenCount: 7 } }) });
  const { data, response } = await client.chat.completions.create({
    model: 'gemini-2.5-flash',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: [
        { type: 'text', text: 'Describe' },
        { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
        { type: 'image_url', image_url: { url: 'https://example.com/pic.png' } },
      ] },
    ],
    max_tokens: 64, temperature: 0.1, top_p: 0.5, stop: ['##'], seed: 3,
  }).withResponse();
  const n = last();
  assert.equal(n.path, '/v1beta/models/gemini-2.5-flash:generateContent');
  assert.equal(n.headers['x-goog-api-key'], KEY);
  assert.equal(n.query.get('key'), null);
  assert.deepEqual(n.json, {
    contents: [
      { role: 'user', parts: [{ text: 'Hi' }] },
      { role: 'model', parts: [{ text: 'Hello.' }] },
      { role: 'user', parts: [
        { text: 'Describe' },
        { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQ' } },
        { fileData: { mimeType: 'image/png', fileUri: 'https://example.com/pic.png' } },
      ] },
    ],
    systemInstruction: { parts: [{ text: 'Be brief.' }] },
    generationConfig: { temperature: 0.1, topP: 0.5, maxOutputTokens: 64, stopSequences: ['##'], seed: 3 },
  });
  assert.ok(!JSON.stringify(prov.requests).includes(VK_TOKEN));
  assert.equal(data.choices[0]?.message.content, 'Two shapes.');
  assert.equal(data.choices[0]?.finish_reason, 'stop');
  assert.deepEqual(data.usage, {
    prompt_tokens: 40, completion_tokens: 10, total_tokens: 50,
    prompt_tokens_details: { cached_tokens: 16 }, completion_tokens_details: { reasoning_tokens: 7 },
  });
  assert.equal(response.headers.get('x-ditto-translation'), 'google');
});

test('stream: streamGenerateContent?alt=sse (CRLF frames, no [DONE]) → chat.completion.chunk deltas + usage', async () => {
  prov.reply({ type: 'sse', frames: geminiStreamFrames([[{ text: 'The ' }], [{ text: 'sky ' }], [{ text: 'is blue.' }]], { usage: { promptTokenCount: 5, candidatesTokenCount: 4, totalTokenCount: 9 } }) });
  const stream = await client.chat.completions.create({
    model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'sky?' }], stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let usage: OpenAI.CompletionUsage | null | undefined;
  let finish: string | null | undefined;
  for await (const c of stream) {
    text += c.choices[0]?.delta.content ?? '';
    if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
    if (c.usage) usage = c.usage;
  }
  assert.equal(text, 'The sky is blue.');
  assert.equal(finish, 'stop');
  assert.deepEqual(usage, { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
  assert.equal(last().path, '/v1beta/models/gemini-2.5-flash:streamGenerateContent');
  assert.equal(last().query.get('alt'), 'sse');
});

const tool: OpenAI.ChatCompletionTool = {
  type: 'function', function: { name: 'lookup', description: 'Look a word up', parameters: { type: 'object', properties: { word: { type: 'string' } } } },
};

test('tools round trip with parallel function calls: ids made up, results matched back to names', async () => {
  prov.reply({ type: 'json', body: geminiResponse([
    { functionCall: { name: 'lookup', args: { word: 'alpha' } } },
    { functionCall: { name: 'lookup', args: { word: 'beta' } } },
  ]) });
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'define alpha and beta' }];
  const first = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages, tools: [tool], tool_choice: 'required' });
  assert.deepEqual(last().json['tools'], [{ functionDeclarations: [{ name: 'lookup', description: 'Look a word up', parametersJsonSchema: tool.function.parameters }] }]);
  assert.deepEqual(last().json['toolConfig'], { functionCallingConfig: { mode: 'ANY' } });
  const msg = first.choices[0]?.message;
  assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
  const calls = (msg?.tool_calls ?? []).filter((c) => c.type === 'function');
  assert.equal(calls.length, 2);
  assert.deepEqual(calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]), [['lookup', { word: 'alpha' }], ['lookup', { word: 'beta' }]]);
  assert.notEqual(calls[0]?.id, calls[1]?.id);
  messages.push(msg as OpenAI.ChatCompletionMessageParam);
  messages.push({ role: 'tool', tool_call_id: calls[0]?.id ?? '', content: 'first letter' });
  messages.push({ role: 'tool', tool_call_id: calls[1]?.id ?? '', content: '{"meaning":"second letter"}' });
  prov.reply({ type: 'json', body: geminiResponse([{ text: 'Alpha is first, beta second.' }]) });
  const second = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages, tools: [tool] });
  assert.equal(second.choices[0]?.message.content, 'Alpha is first, beta second.');
  assert.deepEqual(last().json['contents'], [
    { role: 'user', parts: [{ text: 'define alpha and beta' }] },
    { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { word: 'alpha' } } }, { functionCall: { name: 'lookup', args: { word: 'beta' } } }] },
    { role: 'user', parts: [
      { functionResponse: { name: 'lookup', response: { output: 'first letter' } } },
      { functionResponse: { name: 'lookup', response: { meaning: 'second letter' } } },
    ] },
  ]);
});

test('streamed function calls arrive as whole tool_calls deltas; JSON schema → responseJsonSchema', async () => {
  prov.reply({ type: 'sse', frames: geminiStreamFrames([[{ text: 'Let me check. ' }], [{ functionCall: { name: 'lookup', args: { word: 'gamma' } } }, { functionCall: { name: 'lookup', args: { word: 'delta' } } }]]) });
  const done = await client.chat.completions.stream({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }], tools: [tool] }).finalChatCompletion();
  const calls = (done.choices[0]?.message.tool_calls ?? []).filter((c) => c.type === 'function');
  assert.deepEqual(calls.map((c) => JSON.parse(c.function.arguments)), [{ word: 'gamma' }, { word: 'delta' }]);
  assert.equal(done.choices[0]?.finish_reason, 'tool_calls');
  assert.equal(done.choices[0]?.message.content, 'Let me check. ');

  prov.reply({ type: 'json', body: geminiResponse([{ text: '{"n":1}' }]) });
  const schema = { type: 'object', properties: { n: { type: 'integer' } } };
  const r = await client.chat.completions.create({
    model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'json' }], response_format: { type: 'json_schema', json_schema: { name: 'o', schema } },
  });
  assert.deepEqual(last().json['generationConfig'], { responseMimeType: 'application/json', responseJsonSchema: schema });
  assert.equal(r.choices[0]?.message.content, '{"n":1}');
});

test('provider errors → mapped status, OpenAI error body, SDK class', async () => {
  const cases: Array<[ReturnType<typeof geminiError>, number, new (...a: never[]) => APIError]> = [
    [geminiError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'), 400, OpenAI.BadRequestError],
    [geminiError(403, 'PERMISSION_DENIED', 'Permission denied on resource project.'), 403, OpenAI.PermissionDeniedError],
    [geminiError(404, 'NOT_FOUND', 'models/nope is not found for API version v1beta'), 404, OpenAI.NotFoundError],
    [geminiError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).'), 429, OpenAI.RateLimitError],
    [geminiError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'), 503, OpenAI.InternalServerError],
  ];
  for (const [reply, status, cls] of cases) {
    prov.reply(reply);
    const err = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    assert.equal((err as APIError).status, status);
    assert.equal(((err as APIError).error as { message?: string }).message, (reply as { body: { error: { message: string } } }).body.error.message);
  }
});

test('mid-stream error chunk → SSE error event; the SDK throws after the partial text', async () => {
  const frames = geminiStreamFrames([[{ text: 'Once upon ' }], [{ text: 'a time' }]]).slice(0, 1);
  frames.push(geminiFrame({ error: { code: 500, message: 'An internal error has occurred.', status: 'INTERNAL' } }));
  prov.reply({ type: 'sse', frames });
  const stream = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }], stream: true });
  let text = '';
  const err = await (async () => { for await (const c of stream) text += c.choices[0]?.delta.content ?? ''; })().then(() => undefined, (e: unknown) => e);
  assert.equal(text, 'Once upon ');
  assert.ok(err instanceof OpenAI.APIError);
  assert.match((err as Error).message, /internal error/);
});

test('embeddings: one string → embedContent, a list → batchEmbedContents; dimensions, base64, usage', async () => {
  prov.reply({ type: 'json', body: { embedding: { values: [0.5, -0.25, 1] } } });
  const { data: one, response } = await client.embeddings.create({ model: 'text-embedding-004', input: 'hello world', dimensions: 3, encoding_format: 'float' }).withResponse();
  assert.equal(last().path, '/v1beta/models/text-embedding-004:embedContent');
  assert.deepEqual(last().json, { content: { parts: [{ text: 'hello world' }] }, outputDimensionality: 3 });
  assert.deepEqual(one.data, [{ object: 'embedding', index: 0, embedding: [0.5, -0.25, 1] }]);
  assert.equal(one.model, 'text-embedding-004');
  assert.deepEqual(one.usage, { prompt_tokens: 3, total_tokens: 3 });
  assert.match(response.headers.get('x-ditto-translation-warnings') ?? '', /usage: gemini reports no token count/);

  prov.reply({ type: 'json', body: { embeddings: [{ values: [1, 0] }, { values: [0, 1] }] } });
  const many = await client.embeddings.create({ model: 'text-embedding-004', input: ['a', 'b'] });
  assert.equal(last().path, '/v1beta/models/text-embedding-004:batchEmbedContents');
  assert.deepEqual(last().json, { requests: [
    { model: 'models/text-embedding-004', content: { parts: [{ text: 'a' }] } },
    { model: 'models/text-embedding-004', content: { parts: [{ text: 'b' }] } },
  ] });
  // The SDK asks for base64 by default and decodes it: the vectors survive the float32 round trip.
  assert.deepEqual(many.data.map((d) => d.embedding), [[1, 0], [0, 1]]);

  const before = prov.requests.length;
  const err = await client.embeddings.create({ model: 'text-embedding-004', input: [[1, 2, 3]] }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof OpenAI.BadRequestError);
  assert.equal(err.param, 'input');
  assert.equal(prov.requests.length, before);
});
