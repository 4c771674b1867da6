/**
 * The OpenAI passthrough driven by the real `openai` SDK (CONTRACT §3.3, §3.4): chat completions
 * (plain and streamed), embeddings, model listing and a multipart file upload, each checked on both
 * sides: what the SDK got back and what the upstream received.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { toFile } from 'openai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { assertNoLeak, passthroughConfig, sdk, VK_TOKEN } from './proxy-kit.js';

let up: MockUpstream;
let gw: TestGateway;

before(async () => {
  up = await startUpstream();
  gw = await startTestGateway(passthroughConfig(up.baseUrl));
});

after(async () => {
  await gw?.close();
  await up?.close();
});

test('chat completion (non-stream): the SDK gets the upstream answer, upstream gets the exact body', async () => {
  up.requests.length = 0;
  up.handle((_req, res) => sendJson(res, 200, chatCompletion('hi there', 'gpt-4o-mini'), { 'x-upstream-marker': 'u1' }));
  const client = sdk(gw.url);
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }], temperature: 0.2 })
    .withResponse();
  assert.equal(data.choices[0]?.message.content, 'hi there');
  assert.equal(data.usage?.total_tokens, 7);
  assert.equal(response.headers.get('x-upstream-marker'), 'u1');
  assert.equal(response.headers.get('x-ditto-backend'), 'primary');
  assert.match(response.headers.get('x-ditto-request-id') ?? '', /^ditto-\d+-\d+$/);
  assert.equal(up.requests.length, 1);
  const seen = up.requests[0]!;
  assert.equal(seen.method, 'POST');
  assert.equal(seen.url, '/v1/chat/completions');
  assert.deepEqual(JSON.parse(seen.body.toString('utf8')), { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }], temperature: 0.2 });
  assert.equal(seen.headers['x-request-id'], response.headers.get('x-ditto-request-id'));
  assertNoLeak(up.requests);
});

test('chat completion (stream): every SSE chunk reaches the SDK in order', async () => {
  up.requests.length = 0;
  const words = ['one', ' two', ' three', ' four'];
  up.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const base = { id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini' };
    for (const w of words) res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
    res.end('data: [DONE]\n\n');
  });
  const stream = await sdk(gw.url).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count' }], stream: true });
  const got: string[] = [];
  let finish: string | null = null;
  for await (const chunk of stream) {
    const c = chunk.choices[0];
    if (c?.delta.content) got.push(c.delta.content);
    if (c?.finish_reason) finish = c.finish_reason;
  }
  assert.deepEqual(got, words);
  assert.equal(finish, 'stop');
  const body = JSON.parse(up.requests[0]!.body.toString('utf8')) as { stream?: unknown };
  assert.equal(body.stream, true);
  assertNoLeak(up.requests);
});

test('embeddings: the SDK default encoding_format=base64 goes upstream and decodes on the way back', async () => {
  up.requests.length = 0;
  const vec = new Float32Array([0.25, -0.5, 1]);
  up.handle((_req, res, body) => {
    const req = JSON.parse(body.toString('utf8')) as { encoding_format?: string };
    const embedding = req.encoding_format === 'base64' ? Buffer.from(vec.buffer).toString('base64') : Array.from(vec);
    sendJson(res, 200, { object: 'list', data: [{ object: 'embedding', index: 0, embedding }], model: 'text-embedding-3-small', usage: { prompt_tokens: 2, total_tokens: 2 } });
  });
  const r = await sdk(gw.url).embeddings.create({ model: 'text-embedding-3-small', input: 'hello world' });
  assert.deepEqual(r.data[0]?.embedding, [0.25, -0.5, 1]);
  const sent = JSON.parse(up.requests[0]!.body.toString('utf8')) as Record<string, unknown>;
  assert.equal(up.requests[0]!.url, '/v1/embeddings');
  assert.equal(sent['encoding_format'], 'base64');
  assert.equal(sent['input'], 'hello world');
  assertNoLeak(up.requests);
});

test('models.list(): the backend list is merged and sorted by id', async () => {
  up.requests.length = 0;
  up.handle((req, res) => {
    if (req.url === '/v1/models') {
      sendJson(res, 200, { object: 'list', data: [
        { id: 'gpt-4o', object: 'model', created: 1, owned_by: 'openai' },
        { id: 'a-model', object: 'model', created: 2, owned_by: 'openai' },
      ] });
      return;
    }
    sendJson(res, 404, { error: { message: 'nope', type: 'invalid_request_error' } });
  });
  const ids: string[] = [];
  for await (const m of sdk(gw.url).models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['a-model', 'gpt-4o']);
  assert.equal(up.requests.length, 1);
  assert.equal(up.requests[0]!.method, 'GET');
  assert.equal(up.requests[0]!.url, '/v1/models');
  assertNoLeak(up.requests);
});

test('models.retrieve(): /v1/models/{id} goes through the proxy pipeline', async () => {
  up.requests.length = 0;
  up.handle((_req, res) => sendJson(res, 200, { id: 'gpt-4o', object: 'model', created: 1, owned_by: 'openai' }));
  const m = await sdk(gw.url).models.retrieve('gpt-4o');
  assert.equal(m.id, 'gpt-4o');
  assert.equal(up.requests[0]!.url, '/v1/models/gpt-4o');
  assertNoLeak(up.requests);
});

test('files.create(): a multipart upload reaches the upstream with its content intact', async () => {
  up.requests.length = 0;
  const content = Buffer.from('{"custom_id":"1","method":"POST","url":"/v1/chat/completions","body":{}}\n');
  up.handle((req, res, body) => {
    const ct = req.headers['content-type'] ?? '';
    sendJson(res, 200, {
      id: 'file-abc', object: 'file', bytes: body.length, created_at: 1, filename: 'batch.jsonl', purpose: 'batch',
      status: 'processed', echo_content_type: ct, contains_payload: body.includes(content),
    });
  });
  const f = await sdk(gw.url).files.create({ file: await toFile(content, 'batch.jsonl'), purpose: 'batch' });
  assert.equal(f.id, 'file-abc');
  const seen = up.requests[0]!;
  assert.equal(seen.method, 'POST');
  assert.equal(seen.url, '/v1/files');
  assert.match(seen.headers['content-type'] ?? '', /^multipart\/form-data; boundary=/);
  assert.ok(seen.body.includes(content), 'file content missing from the relayed multipart body');
  assert.ok(seen.body.includes(Buffer.from('name="purpose"')), 'purpose field missing');
  assert.equal((f as unknown as { contains_payload: boolean }).contains_payload, true);
  assertNoLeak(up.requests, VK_TOKEN);
});
