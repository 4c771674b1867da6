/**
 * The Google GenAI surface (CONTRACT §3.8) with the official `@google/genai` SDK as the client: token order, the
 * mapped chat body (text turns as one string), reply shape and finish reasons, stream chunks (final chunk with
 * `finishReason` + `usageMetadata`, no `[DONE]`), tools, errors in Google's shape, non-JSON replies → 502, and the
 * `/v1internal` envelope.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiError, FunctionCallingConfigMode, GoogleGenAI } from '@google/genai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { raw, VK_ID, VK_TOKEN } from './proxy-kit.js';
import { chunk, parseSse, sendSse, toolCompletion, usageChunk } from '../surfaces/kit.js';

let up: MockUpstream;
let gw: TestGateway;

before(async () => {
  up = await startUpstream();
  gw = await startTestGateway({
    backends: [{ name: 'primary', base_url: up.baseUrl }, { name: 'mocky', provider: 'mock' }],
    virtual_keys: [{ id: VK_ID, token: VK_TOKEN }],
    router: { default_backends: [{ backend: 'primary' }], rules: [{ model_prefix: 'mock-', backend: 'mocky' }] },
  });
});

after(async () => {
  await gw?.close();
  await up?.close();
});

function genai(apiKey = VK_TOKEN): GoogleGenAI {
  return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: gw.url } });
}

function lastSeen(): { url: string; headers: Record<string, unknown>; body: Record<string, unknown> } {
  const r = up.requests[up.requests.length - 1];
  assert.ok(r, 'the upstream saw a request');
  return { url: r.url, headers: r.headers, body: JSON.parse(r.body.toString('utf8')) as Record<string, unknown> };
}

test('generateContent: mapped chat body (string content), Gemini reply with usage, key never forwarded', async () => {
  up.handle((_req, res) => sendJson(res, 200, chatCompletion('Hi from chat', 'up-model')));
  const r = await genai().models.generateContent({
    model: 'gemini-x',
    contents: [{ role: 'user', parts: [{ text: 'Hello ' }, { text: 'there' }] }],
    config: { systemInstruction: 'be brief', maxOutputTokens: 40, temperature: 0.3, topP: 0.9, stopSequences: ['STOP'] },
  });
  assert.equal(r.text, 'Hi from chat');
  assert.equal(r.candidates?.[0]?.finishReason, 'STOP');
  assert.equal(r.candidates?.[0]?.content?.role, 'model');
  assert.deepEqual(r.usageMetadata && { p: r.usageMetadata.promptTokenCount, c: r.usageMetadata.candidatesTokenCount, t: r.usageMetadata.totalTokenCount }, { p: 5, c: 2, t: 7 });
  const seen = lastSeen();
  assert.equal(seen.url, '/v1/chat/completions', 'no ?key= or alt= reaches the upstream');
  assert.equal(seen.headers['x-goog-api-key'], undefined);
  assert.ok(!JSON.stringify(seen.headers).includes(VK_TOKEN));
  assert.deepEqual(seen.body, {
    model: 'gemini-x',
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'Hello there' }],
    max_tokens: 40, temperature: 0.3, top_p: 0.9, stop: ['STOP'], stream: false,
  });
});

test('generateContent: length → MAX_TOKENS, content_filter → SAFETY', async () => {
  for (const [finish, want] of [['length', 'MAX_TOKENS'], ['content_filter', 'SAFETY']] as const) {
    up.handle((_req, res) => {
      const c = chatCompletion('cut', 'up-model') as { choices: Array<Record<string, unknown>> };
      (c.choices[0] as Record<string, unknown>)['finish_reason'] = finish;
      sendJson(res, 200, c);
    });
    const r = await genai().models.generateContent({ model: 'gemini-x', contents: 'x' });
    assert.equal(r.candidates?.[0]?.finishReason, want);
  }
});

test('generateContentStream: text chunks then a final chunk with finishReason and usageMetadata, no [DONE]', async () => {
  up.handle((_req, res) => sendSse(res, [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo' }), chunk({}, 'stop'), usageChunk(4, 2)]));
  const stream = await genai().models.generateContentStream({ model: 'gemini-x', contents: 'hi' });
  const texts: string[] = [];
  let finish: string | undefined;
  let total: number | undefined;
  for await (const c of stream) {
    if (c.text) texts.push(c.text);
    if (c.candidates?.[0]?.finishReason) finish = c.candidates[0].finishReason;
    if (c.usageMetadata) total = c.usageMetadata.totalTokenCount;
  }
  assert.deepEqual(texts, ['Hel', 'lo']);
  assert.equal(finish, 'STOP');
  assert.equal(total, 6);
  assert.equal(lastSeen().body['stream'], true);

  const rawRes = await raw(`${gw.url}/v1beta/models/gemini-x:streamGenerateContent?alt=sse&key=${VK_TOKEN}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
  });
  assert.equal(rawRes.status, 200, '?key= authenticates');
  assert.match(String(rawRes.headers['content-type']), /^text\/event-stream/);
  const text = rawRes.body.toString('utf8');
  assert.ok(!text.includes('[DONE]'));
  assert.ok(!text.includes('event:'), 'Gemini chunks are bare data: lines');
  const events = parseSse(text).map((e) => e.data as { candidates: Array<Record<string, unknown>>; usageMetadata?: Record<string, number> });
  const last = events[events.length - 1]!;
  assert.equal(last.candidates[0]?.['finishReason'], 'STOP');
  assert.deepEqual(last.usageMetadata, { promptTokenCount: 4, candidatesTokenCount: 2, totalTokenCount: 6 });
});

test('tools: functionDeclarations and toolConfig map to chat tools; calls come back as functionCall parts; results go back', async () => {
  up.handle((_req, res) => sendJson(res, 200, toolCompletion([{ id: 'call_1', name: 'lookup', arguments: '{"q":"paris"}' }])));
  const tools = [{ functionDeclarations: [{ name: 'lookup', description: 'look it up', parametersJsonSchema: { type: 'object', properties: { q: { type: 'string' } } } }] }];
  const r = await genai().models.generateContent({
    model: 'gemini-x', contents: 'find paris',
    config: { tools, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: ['lookup'] } } },
  });
  assert.deepEqual(r.functionCalls?.map((c) => [c.name, c.args]), [['lookup', { q: 'paris' }]]);
  const sent = lastSeen().body;
  assert.deepEqual(sent['tools'], [{ type: 'function', function: { name: 'lookup', description: 'look it up', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }]);
  assert.deepEqual(sent['tool_choice'], { type: 'function', function: { name: 'lookup' } });

  up.handle((_req, res) => sendJson(res, 200, chatCompletion('Paris is in France', 'up-model')));
  const r2 = await genai().models.generateContent({
    model: 'gemini-x',
    contents: [
      { role: 'user', parts: [{ text: 'find paris' }] },
      { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { q: 'paris' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { output: 'France' } } }] },
    ],
    config: { tools },
  });
  assert.equal(r2.text, 'Paris is in France');
  const msgs = lastSeen().body['messages'] as Array<Record<string, unknown>>;
  assert.equal(msgs[1]?.['role'], 'assistant');
  const calls = msgs[1]?.['tool_calls'] as Array<{ id: string; function: { name: string; arguments: string } }>;
  assert.equal(calls[0]?.function.name, 'lookup');
  assert.deepEqual(JSON.parse(calls[0]!.function.arguments), { q: 'paris' });
  assert.deepEqual(msgs[2], { role: 'tool', tool_call_id: calls[0]?.id, content: 'France' });
});

test('token order: x-ditto-virtual-key beats x-goog-api-key beats ?key= beats Authorization; bad key → 401 in Google shape', async () => {
  up.handle((_req, res) => sendJson(res, 200, chatCompletion('ok', 'up-model')));
  const body = JSON.stringify({ contents: [{ parts: [{ text: 'x' }] }] });
  const url = `${gw.url}/v1beta/models/gemini-x:generateContent`;
  const post = (headers: Record<string, string>, query = '') => raw(url + query, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  assert.equal((await post({ 'x-ditto-virtual-key': VK_TOKEN, 'x-goog-api-key': 'wrong' })).status, 200);
  assert.equal((await post({ 'x-goog-api-key': VK_TOKEN }, '?key=wrong')).status, 200);
  assert.equal((await post({ authorization: `Bearer ${VK_TOKEN}` }, '?key=wrong')).status, 401);
  assert.equal((await post({ authorization: `Bearer ${VK_TOKEN}` })).status, 200);
  assert.equal((await post({ 'x-litellm-api-key': VK_TOKEN, authorization: 'Bearer wrong' })).status, 200);
  const bad = await post({ 'x-goog-api-key': 'wrong' });
  assert.equal(bad.status, 401);
  assert.deepEqual(JSON.parse(bad.body.toString()), { error: { code: 401, message: 'unauthorized virtual key', status: 'UNAUTHENTICATED' } });
  assert.ok(bad.headers['x-ditto-request-id']);
  await assert.rejects(genai('wrong').models.generateContent({ model: 'gemini-x', contents: 'x' }), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 401);
    return true;
  });
});

test('errors: upstream 400 keeps its status in Google shape; missing contents → 400 INVALID_ARGUMENT; non-JSON reply → 502', async () => {
  up.handle((_req, res) => sendJson(res, 400, { error: { message: 'bad temperature', type: 'invalid_request_error', param: 'temperature', code: null } }));
  const r = await raw(`${gw.url}/v1beta/models/gemini-x:generateContent`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': VK_TOKEN }, body: JSON.stringify({ contents: [{ parts: [{ text: 'x' }] }] }),
  });
  assert.equal(r.status, 400);
  assert.deepEqual(JSON.parse(r.body.toString()), { error: { code: 400, message: 'bad temperature', status: 'INVALID_ARGUMENT' } });
  await assert.rejects(genai().models.generateContent({ model: 'gemini-x', contents: 'x' }), (err: unknown) => err instanceof ApiError && err.status === 400);

  const missing = await raw(`${gw.url}/v1beta/models/gemini-x:generateContent`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': VK_TOKEN }, body: JSON.stringify({ generationConfig: {} }),
  });
  assert.equal(missing.status, 400);
  assert.deepEqual(JSON.parse(missing.body.toString()), { error: { code: 400, message: 'missing field `contents`', status: 'INVALID_ARGUMENT' } });

  up.handle((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('not json'); });
  const nonJson = await raw(`${gw.url}/v1beta/models/gemini-x:generateContent`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': VK_TOKEN }, body: JSON.stringify({ contents: [{ parts: [{ text: 'x' }] }] }),
  });
  assert.equal(nonJson.status, 502);
  assert.equal((JSON.parse(nonJson.body.toString()) as { error: { code: number } }).error.code, 502);
});

test('/v1internal: {model, request} in, every reply and chunk wrapped as {"response":…} with responseId and modelVersion', async () => {
  up.handle((_req, res) => sendJson(res, 200, chatCompletion('wrapped', 'up-model')));
  const body = JSON.stringify({ model: 'gemini-x', request: { contents: [{ role: 'user', parts: [{ text: 'x' }] }] } });
  const r = await raw(`${gw.url}/v1internal:generateContent`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${VK_TOKEN}` }, body });
  assert.equal(r.status, 200);
  const json = JSON.parse(r.body.toString()) as { response: { candidates: Array<{ content: { parts: Array<{ text: string }> } }>; responseId: string; modelVersion: string } };
  assert.equal(json.response.candidates[0]?.content.parts[0]?.text, 'wrapped');
  assert.equal(json.response.responseId, 'chatcmpl-test');
  assert.equal(typeof json.response.modelVersion, 'string');
  assert.equal(lastSeen().body['model'], 'gemini-x');

  up.handle((_req, res) => sendSse(res, [chunk({ content: 'a' }), chunk({ content: 'b' }), chunk({}, 'stop'), usageChunk(1, 2)]));
  const s = await raw(`${gw.url}/v1internal:streamGenerateContent?alt=sse`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${VK_TOKEN}` }, body });
  const events = parseSse(s.body.toString()).map((e) => e.data as { response: { candidates: Array<Record<string, unknown>>; responseId: string } });
  assert.equal(events.length, 3);
  for (const e of events) assert.equal(e.response.responseId, 'chatcmpl-s');
  assert.equal(events[2]?.response.candidates[0]?.['finishReason'], 'STOP');
});

test('built-in mock backend through the Gemini surface, stream and non-stream', async () => {
  const r = await genai().models.generateContent({ model: 'mock-gpt', contents: 'Hello gemini' });
  assert.equal(r.text, 'This is a mock reply to: Hello gemini');
  const stream = await genai().models.generateContentStream({ model: 'models/mock-gpt', contents: 'Hello gemini' });
  let text = '';
  for await (const c of stream) text += c.text ?? '';
  assert.equal(text, 'This is a mock reply to: Hello gemini');
});

test('no virtual keys: the Google key is forwarded as authorization: Bearer; none → 401', async () => {
  const up2 = await startUpstream();
  const gw2 = await startTestGateway({ backends: [{ name: 'p', base_url: up2.baseUrl }], router: { default_backends: [{ backend: 'p' }] } });
  try {
    up2.handle((_req, res) => sendJson(res, 200, chatCompletion('fwd', 'up-model')));
    const ai = new GoogleGenAI({ apiKey: 'AIza-client-own', httpOptions: { baseUrl: gw2.url } });
    const r = await ai.models.generateContent({ model: 'gemini-x', contents: 'x' });
    assert.equal(r.text, 'fwd');
    assert.equal(up2.requests[0]?.headers['authorization'], 'Bearer AIza-client-own');
    assert.equal(up2.requests[0]?.headers['x-goog-api-key'], undefined);
    const none = await raw(`${gw2.url}/v1beta/models/gemini-x:generateContent`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contents: [] }) });
    assert.equal(none.status, 401);
    assert.equal((JSON.parse(none.body.toString()) as { error: { status: string } }).error.status, 'UNAUTHENTICATED');
  } finally {
    await gw2.close();
    await up2.close();
  }
});
