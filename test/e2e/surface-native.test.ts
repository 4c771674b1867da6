/**
 * Client surfaces on translation backends (issue 4 item 2/3): an Anthropic client on an `anthropic` backend and a Gemini
 * client on a `google` backend go through natively — thinking blocks, their signatures and `cache_control` reach the
 * provider and come back untouched — while a client of the other protocol is translated once (no OpenAI hop).
 * Official SDKs as clients, mock provider servers that follow each wire format.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { anthropicMessage, anthropicStream, anthropicStreamFrames, startAnthropicServer } from '../fixtures/providers/anthropic.js';
import { geminiResponse, geminiStreamFrames, startGeminiServer } from '../fixtures/providers/gemini.js';
import type { ProviderServer } from '../fixtures/providers/server.js';
import { raw, VK_TOKEN } from './proxy-kit.js';

const ANT_KEY = 'sk-ant-api03-native-1111';
const GOOG_KEY = 'AIza-native-2222';
let ant: ProviderServer;
let goog: ProviderServer;
let gw: TestGateway;

before(async () => {
  ant = await startAnthropicServer(ANT_KEY);
  goog = await startGeminiServer(GOOG_KEY);
  gw = await startTestGateway({
    backends: [
      { name: 'claude', provider: 'anthropic', provider_config: { base_url: ant.url, auth: { type: 'api_key_env', keys: ['T_ANT_KEY'] } } },
      { name: 'gem', provider: 'google', provider_config: { base_url: `${goog.url}/v1beta`, auth: { type: 'api_key_env', keys: ['T_GOOG_KEY'] } } },
    ],
    virtual_keys: [{ id: 'k', token: VK_TOKEN }],
    router: { default_backends: [{ backend: 'claude' }], rules: [{ model_prefix: 'gemini', backend: 'gem' }] },
  }, {}, { T_ANT_KEY: ANT_KEY, T_GOOG_KEY: GOOG_KEY });
});

after(async () => {
  await gw?.close();
  await ant?.close();
  await goog?.close();
});

const anthropic = (): Anthropic => new Anthropic({ apiKey: VK_TOKEN, baseURL: gw.url, maxRetries: 0 });
const genai = (): GoogleGenAI => new GoogleGenAI({ apiKey: VK_TOKEN, httpOptions: { baseUrl: gw.url } });

/** An Anthropic request using what the IR or the OpenAI shape would lose. */
const thinkingRequest = {
  model: 'claude-x-native',
  max_tokens: 2048,
  thinking: { type: 'enabled' as const, budget_tokens: 1024 },
  system: [{ type: 'text' as const, text: 'You are a careful assistant.', cache_control: { type: 'ephemeral' as const } }],
  messages: [
    { role: 'user' as const, content: [{ type: 'text' as const, text: 'What is 2+2?', cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } }] },
    { role: 'assistant' as const, content: [
      { type: 'thinking' as const, thinking: 'Simple arithmetic.', signature: 'EqQBCkYIBxgCKkDsig==' },
      { type: 'text' as const, text: '4' },
    ] },
    { role: 'user' as const, content: 'And 3+3?' },
  ],
};

test('Anthropic → anthropic backend, non-stream: the provider gets the client body as sent; thinking + signature come back', async () => {
  ant.reply({ type: 'json', body: anthropicMessage([
    { type: 'thinking', thinking: 'Add three and three.', signature: 'ErUBCkYIBxgCsig2==' },
    { type: 'text', text: '6' },
  ], { usage: { input_tokens: 30, output_tokens: 9, cache_read_input_tokens: 20 } }) });
  const { data, response } = await anthropic().messages.create(thinkingRequest, { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } }).withResponse();
  const got = ant.requests[ant.requests.length - 1]!;
  assert.equal(got.path, '/v1/messages');
  assert.deepEqual(got.json, { ...thinkingRequest }, 'thinking blocks, signatures and cache_control reach the provider unchanged');
  assert.equal(got.headers['x-api-key'], ANT_KEY, 'provider auth from env, never the virtual key');
  assert.equal(got.headers['anthropic-beta'], 'interleaved-thinking-2025-05-14');
  assert.ok(!JSON.stringify(got.headers).includes(VK_TOKEN));
  assert.deepEqual(data.content, [
    { type: 'thinking', thinking: 'Add three and three.', signature: 'ErUBCkYIBxgCsig2==' },
    { type: 'text', text: '6' },
  ]);
  assert.equal(data.usage.cache_read_input_tokens, 20);
  assert.equal(response.headers.get('x-ditto-backend'), 'claude');
  assert.equal(response.headers.get('x-ditto-translation'), 'anthropic');
  assert.ok(response.headers.get('x-ditto-request-id'));
});

test('Anthropic → anthropic backend, stream: the native event stream with thinking and signature_delta reaches the SDK', async () => {
  ant.reply(anthropicStream([
    { type: 'thinking', thinking: 'Three plus three is six.', signature: 'EsigStream==' },
    { type: 'text', text: 'It is 6.' },
  ]));
  const stream = anthropic().messages.stream(thinkingRequest);
  const final = await stream.finalMessage();
  assert.deepEqual(final.content.map((b) => b.type), ['thinking', 'text']);
  const t = final.content[0];
  assert.ok(t && t.type === 'thinking');
  assert.equal(t.thinking, 'Three plus three is six.');
  assert.equal(t.signature, 'EsigStream==');
  assert.equal(final.content[1]?.type === 'text' ? final.content[1].text : '', 'It is 6.');
  const got = ant.requests[ant.requests.length - 1]!;
  assert.equal((got.json as { stream: boolean }).stream, true);
});

test('Anthropic → anthropic backend: provider errors keep their status and Anthropic shape', async () => {
  ant.reply({ type: 'json', status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
  const r = await raw(`${gw.url}/v1/messages`, {
    method: 'POST', headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-x-native', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(r.status, 529);
  assert.deepEqual(JSON.parse(r.body.toString()), { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  assert.ok(r.headers['x-ditto-request-id']);
});

test('Gemini → google backend, non-stream and stream: native body and thoughtSignature both ways', async () => {
  goog.reply({ type: 'json', body: geminiResponse([{ text: 'thinking…', thought: true, thoughtSignature: 'gsig-1' }, { text: 'Hello!' }]) });
  const contents = [
    { role: 'user', parts: [{ text: 'hi' }] },
    { role: 'model', parts: [{ functionCall: { name: 'f', args: { a: 1 } }, thoughtSignature: 'prev-sig' }] },
    { role: 'user', parts: [{ functionResponse: { name: 'f', response: { output: 'ok' } } }] },
  ];
  const r = await genai().models.generateContent({ model: 'gemini-2.5-flash', contents, config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 512 } } });
  assert.equal(r.candidates?.[0]?.content?.parts?.[0]?.thoughtSignature, 'gsig-1');
  assert.equal(r.text, 'Hello!');
  const got = goog.requests[goog.requests.length - 1]!;
  assert.equal(got.path, '/v1beta/models/gemini-2.5-flash:generateContent');
  assert.equal(got.headers['x-goog-api-key'], GOOG_KEY);
  assert.deepEqual((got.json as { contents: unknown }).contents, contents, 'thoughtSignature reaches the provider');
  assert.deepEqual((got.json as { generationConfig: unknown }).generationConfig, { thinkingConfig: { includeThoughts: true, thinkingBudget: 512 } });

  goog.reply({ type: 'sse', frames: geminiStreamFrames([[{ text: 'Hel' }], [{ text: 'lo' }]]) });
  const stream = await genai().models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' });
  let text = '';
  let total: number | undefined;
  for await (const c of stream) {
    text += c.text ?? '';
    if (c.usageMetadata?.totalTokenCount !== undefined) total = c.usageMetadata.totalTokenCount;
  }
  assert.equal(text, 'Hello');
  assert.equal(total, 13);
  assert.equal(goog.requests[goog.requests.length - 1]?.query.get('alt'), 'sse');
});

test('cross-protocol without an OpenAI hop: Anthropic client on google, Gemini client on anthropic', async () => {
  goog.reply({ type: 'json', body: geminiResponse([{ text: 'from gemini' }]) });
  const a = await anthropic().messages.create({ model: 'gemini-2.5-flash', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
  assert.deepEqual(a.content, [{ type: 'text', text: 'from gemini' }]);
  assert.equal(a.usage.input_tokens, 9);
  const gotG = goog.requests[goog.requests.length - 1]!;
  assert.deepEqual((gotG.json as { contents: unknown }).contents, [{ role: 'user', parts: [{ text: 'hi' }] }]);

  ant.reply(anthropicStream([{ type: 'text', text: 'from claude' }]));
  const s = await genai().models.generateContentStream({ model: 'claude-x-native', contents: 'hi' });
  let text = '';
  let finish: string | undefined;
  for await (const c of s) {
    text += c.text ?? '';
    finish = c.candidates?.[0]?.finishReason ?? finish;
  }
  assert.equal(text, 'from claude');
  assert.equal(finish, 'STOP');
  const gotA = ant.requests[ant.requests.length - 1]!;
  assert.equal((gotA.json as { stream: boolean }).stream, true);
  assert.deepEqual((gotA.json as { messages: unknown }).messages, [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
});

test('/v1internal on a google backend: wrapped reply', async () => {
  goog.reply({ type: 'json', body: geminiResponse([{ text: 'inner' }]) });
  const r = await raw(`${gw.url}/v1internal:generateContent`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${VK_TOKEN}` },
    body: JSON.stringify({ model: 'gemini-2.5-flash', request: { contents: [{ role: 'user', parts: [{ text: 'x' }] }] } }),
  });
  assert.equal(r.status, 200);
  const json = JSON.parse(r.body.toString()) as { response: { candidates: Array<{ content: { parts: Array<{ text: string }> } }> } };
  assert.equal(json.response.candidates[0]?.content.parts[0]?.text, 'inner');
});

test('Anthropic → anthropic backend, stream: a provider connection lost between events ends with an Anthropic error event', async () => {
  const frames = anthropicStream([{ type: 'text', text: 'Partial answer that never ends' }]);
  assert.ok(frames.type === 'sse');
  ant.reply({ type: 'sse', frames: frames.frames, cutAfter: 4 });
  const r = await raw(`${gw.url}/v1/messages`, {
    method: 'POST', headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-x-native', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(r.status, 200);
  const text = r.body.toString('utf8');
  const errorEvent = 'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"the provider stream failed before it finished"}}\n\n';
  assert.ok(text.endsWith(errorEvent), text);
  // Whatever arrived before the cut passes through unchanged, in whole events (bytes in flight at the cut may be lost).
  const before = text.slice(0, -errorEvent.length);
  assert.ok([0, 1, 2, 3, 4].some((k) => before === frames.frames.slice(0, k).join('')), before);

  ant.reply({ type: 'sse', frames: frames.frames, cutAfter: 4 });
  const stream = anthropic().messages.stream({ model: 'claude-x-native', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] });
  await assert.rejects(stream.finalMessage(), (err: unknown) => err instanceof Anthropic.APIError);
});

test('a provider connection lost mid-stream ends each client surface with an error event in its own protocol', async () => {
  // Anthropic client, anthropic backend (native relay): the stream ends with Anthropic's `event: error`.
  ant.reply({ type: 'sse', frames: anthropicStreamFrames([{ type: 'text', text: 'cut off soon' }]), cutAfter: 4 });
  const a = await raw(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(a.status, 200);
  const aText = a.body.toString('utf8');
  // (Frames sent just before the provider's reset may be discarded by the kernel, so only the end is checked.)
  const aLast = aText.trimEnd().split(/\n\n/).pop() ?? '';
  assert.match(aLast, /^event: error\ndata: /, `last Anthropic event: ${aLast}`);
  const aErr = JSON.parse(aLast.split('\ndata: ')[1] as string) as { type: string; error: { type: string; message: string } };
  assert.equal(aErr.type, 'error');
  assert.equal(aErr.error.type, 'api_error');
  assert.ok(!aText.includes('"code":"upstream_failure"'), 'no OpenAI-shaped error on the Anthropic surface');

  // Gemini client, anthropic backend (translated once): the stream ends with a Gemini-shaped error chunk.
  ant.reply({ type: 'sse', frames: anthropicStreamFrames([{ type: 'text', text: 'cut off soon' }]), cutAfter: 4 });
  const g = await raw(`${gw.url}/v1beta/models/claude-sonnet-4-5:streamGenerateContent?alt=sse`, {
    method: 'POST',
    headers: { 'x-goog-api-key': VK_TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 20 } }),
  });
  assert.equal(g.status, 200);
  const gLast = g.body.toString('utf8').trimEnd().split(/\n\n/).pop() ?? '';
  const gErr = JSON.parse(gLast.replace(/^data: /, '')) as { error?: { code: number; status: string } };
  assert.equal(gErr.error?.code, 502, `last Gemini chunk: ${gLast}`);
  assert.equal(gErr.error?.status, 'UNAVAILABLE');
});
