/**
 * The in-process `mock` provider on its own: response shapes, determinism, truncation, usage,
 * embeddings encodings, model lookups and unsupported paths.
 */
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { test } from 'node:test';
import { BackendSchema } from '../../src/config/schema.js';
import { MockBackend } from '../../src/providers/mock.js';
import { UpstreamFailure, type UpstreamRequest, type UpstreamResponse } from '../../src/upstream/types.js';

const mock = new MockBackend(BackendSchema.parse({ name: 'm', provider: 'mock' }));

function req(method: string, path: string, json?: Record<string, unknown>, signal: AbortSignal = new AbortController().signal): UpstreamRequest {
  return { method, path, query: '', headers: {}, body: json ? Buffer.from(JSON.stringify(json)) : undefined, contentLength: undefined, json, requestId: 'rid-1', signal };
}

async function bodyText(r: UpstreamResponse): Promise<string> {
  if (Buffer.isBuffer(r.body)) return r.body.toString('utf8');
  const chunks: Buffer[] = [];
  for await (const c of r.body as Readable) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function json(r: UpstreamResponse): Promise<Record<string, unknown>> {
  return JSON.parse(await bodyText(r)) as Record<string, unknown>;
}

/** The JSON events of an SSE body, `[DONE]` as the string. */
async function events(r: UpstreamResponse): Promise<unknown[]> {
  const text = await bodyText(r);
  assert.ok(text.endsWith('data: [DONE]\n\n'));
  return text.split('\n\n').filter((e) => e !== '').map((e) => {
    assert.ok(e.startsWith('data: '), e);
    const d = e.slice(6);
    return d === '[DONE]' ? d : JSON.parse(d) as unknown;
  });
}

test('is a translation backend named from config, listing its models', () => {
  assert.equal(mock.kind, 'translation');
  assert.equal(mock.provider, 'mock');
  assert.equal(mock.name, 'm');
  assert.deepEqual(mock.ownModels(), ['mock-gpt', 'mock-embedding']);
  const custom = new MockBackend(BackendSchema.parse({ name: 'c', provider: 'mock', mock_models: ['x', 'y'] }));
  assert.deepEqual(custom.ownModels(), ['x', 'y']);
});

test('chat: OpenAI shape, usage adds up, content deterministic, x-ditto-translation = provider', async () => {
  const r = await mock.send(req('POST', '/v1/chat/completions', { model: 'mock-gpt', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'text', text: 'there' }] }] }));
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['x-ditto-translation'], 'mock');
  const b = await json(r);
  const body = b as { id: string; object: string; choices: Array<{ message: { content: string }; finish_reason: string }>; usage: Record<string, number> };
  assert.equal(body.object, 'chat.completion');
  assert.equal(body.choices[0]?.message.content, 'This is a mock reply to: hi there');
  assert.equal(body.choices[0]?.finish_reason, 'stop');
  assert.equal(body.usage['total_tokens'], (body.usage['prompt_tokens'] ?? 0) + (body.usage['completion_tokens'] ?? 0));
  assert.equal(r.headers['content-length'], String(Buffer.byteLength(JSON.stringify(b))));
  const again = await json(await mock.send(req('POST', '/v1/chat/completions', { model: 'mock-gpt', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'text', text: 'there' }] }] })));
  assert.equal(body.id, (again as { id: string }).id, 'same request id, same completion id');
});

test('chat: an empty prompt still answers; max_tokens cuts with finish_reason length', async () => {
  const empty = await json(await mock.send(req('POST', '/v1/chat/completions', { model: 'x', messages: [] })));
  assert.equal((empty as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content, 'This is a mock reply to: (empty)');
  const cut = await json(await mock.send(req('POST', '/v1/chat/completions', { model: 'x', messages: [{ role: 'user', content: 'q' }], max_tokens: 1 })));
  const c = cut as { choices: Array<{ message: { content: string }; finish_reason: string }>; usage: { completion_tokens: number } };
  assert.equal(c.choices[0]?.message.content, 'This');
  assert.equal(c.choices[0]?.finish_reason, 'length');
  assert.equal(c.usage.completion_tokens, 1);
});

test('chat stream: role chunk, one chunk per word, finish chunk, usage only on request, [DONE]', async () => {
  const body = { model: 'mock-gpt', messages: [{ role: 'user', content: 'one two' }], stream: true };
  const plain = await events(await mock.send(req('POST', '/v1/chat/completions', body)));
  const withUsage = await events(await mock.send(req('POST', '/v1/chat/completions', { ...body, stream_options: { include_usage: true } })));
  // role + 8 words + finish + [DONE]
  assert.equal(plain.length, 11);
  assert.equal(withUsage.length, 12);
  const usageEvent = withUsage[withUsage.length - 2] as { choices: unknown[]; usage: { completion_tokens: number } };
  assert.deepEqual(usageEvent.choices, []);
  assert.equal(usageEvent.usage.completion_tokens, 8);
  const r = await mock.send(req('POST', '/v1/chat/completions', body));
  assert.match(String(r.headers['content-type']), /^text\/event-stream/);
});

test('completions: prompt as string or array of strings', async () => {
  const a = await json(await mock.send(req('POST', '/v1/completions', { model: 'x', prompt: 'p q' })));
  const b = await json(await mock.send(req('POST', '/v1/completions', { model: 'x', prompt: ['p', 'q'] })));
  assert.equal((a as { choices: Array<{ text: string }> }).choices[0]?.text, 'This is a mock reply to: p q');
  assert.equal((b as { choices: Array<{ text: string }> }).choices[0]?.text, 'This is a mock reply to: p q');
});

test('embeddings: base64 decodes to the float vector; token arrays are one input; bad input is 400', async () => {
  const f = await json(await mock.send(req('POST', '/v1/embeddings', { model: 'e', input: 'hello', dimensions: 20 })));
  const b = await json(await mock.send(req('POST', '/v1/embeddings', { model: 'e', input: 'hello', dimensions: 20, encoding_format: 'base64' })));
  const floats = (f as { data: Array<{ embedding: number[] }> }).data[0]!.embedding;
  const b64 = (b as { data: Array<{ embedding: string }> }).data[0]!.embedding;
  const buf = Buffer.from(b64, 'base64');
  const decoded = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
  assert.equal(floats.length, 20);
  assert.deepEqual(decoded, floats);
  const tokens = await json(await mock.send(req('POST', '/v1/embeddings', { model: 'e', input: [1, 2, 3] })));
  assert.equal((tokens as { data: unknown[] }).data.length, 1);
  const many = await json(await mock.send(req('POST', '/v1/embeddings', { model: 'e', input: [[1, 2], [3]] })));
  assert.equal((many as { data: unknown[] }).data.length, 2);
  for (const bad of [{ input: 42 }, { input: [] }, { input: 'x', dimensions: 0 }, { input: 'x', dimensions: 1.5 }, { input: 'x', dimensions: 5000 }, { input: 'x', dimensions: '8' }]) {
    const r = await mock.send(req('POST', '/v1/embeddings', { model: 'e', ...bad }));
    assert.equal(r.status, 400, JSON.stringify(bad));
  }
});

test('models: list and lookup carry the backend name as x-ditto-translation; unknown is 404 model_not_found', async () => {
  const list = await mock.send(req('GET', '/v1/models'));
  assert.equal(list.headers['x-ditto-translation'], 'm');
  assert.deepEqual((await json(list) as { data: Array<{ id: string }> }).data.map((m) => m.id), ['mock-gpt', 'mock-embedding']);
  const one = await mock.send(req('GET', '/v1/models/mock-gpt'));
  assert.equal(one.status, 200);
  assert.equal(one.headers['x-ditto-translation'], 'm');
  const missing = await mock.send(req('GET', '/v1/models/nope'));
  assert.equal(missing.status, 404);
  assert.equal(((await json(missing)) as { error: { code: string } }).error.code, 'model_not_found');
  const badEscape = await mock.send(req('GET', '/v1/models/%E0%A4%A'));
  assert.equal(badEscape.status, 404);
});

test('unsupported methods and paths are 404; a POST without a JSON object is 400', async () => {
  for (const [m, p] of [['GET', '/v1/files'], ['POST', '/v1/images/generations'], ['DELETE', '/v1/models/mock-gpt'], ['POST', '/v1/models']]) {
    const r = await mock.send(req(m as string, p as string, m === 'POST' ? { model: 'x' } : undefined));
    assert.equal(r.status, 404, `${m} ${p}`);
  }
  const r = await mock.send(req('POST', '/v1/chat/completions'));
  assert.equal(r.status, 400);
});

test('an aborted request rejects with UpstreamFailure(aborted), also during the artificial latency', async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(mock.send(req('POST', '/v1/chat/completions', { messages: [] }, ac.signal)), (e: unknown) => e instanceof UpstreamFailure && e.kind === 'aborted');
  const slow = new MockBackend(BackendSchema.parse({ name: 's', provider: 'mock', mock_latency_ms: 60_000 }));
  const ac2 = new AbortController();
  const p = slow.send(req('POST', '/v1/chat/completions', { messages: [] }, ac2.signal));
  ac2.abort();
  await assert.rejects(p, (e: unknown) => e instanceof UpstreamFailure && e.kind === 'aborted');
});
