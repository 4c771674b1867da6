/**
 * The built-in `mock` provider (`provider: "mock"`) through the gateway with the real SDK: chat
 * (plain and streamed, with usage and `stream_options.include_usage`), `max_tokens` truncation,
 * completions, embeddings (float and base64), model listing and lookup, deterministic output, and
 * 404 for paths it does not serve.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BadRequestError, NotFoundError } from 'openai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { raw, rejectsWith, sdk, VK_ID, VK_TOKEN } from './proxy-kit.js';

let gw: TestGateway;

before(async () => {
  gw = await startTestGateway({
    backends: [{ name: 'mocky', provider: 'mock', model_map: { 'gpt-4o': 'mock-gpt' } }],
    virtual_keys: [{ id: VK_ID, token: VK_TOKEN }],
    router: { default_backends: [{ backend: 'mocky' }] },
  });
});

after(async () => {
  await gw?.close();
});

const user = (content: string) => [{ role: 'user' as const, content }];

test('chat (non-stream): deterministic reply echoing the prompt, usage, finish_reason stop', async () => {
  const { data, response } = await sdk(gw.url).chat.completions
    .create({ model: 'mock-gpt', messages: [{ role: 'system', content: 'be brief' }, ...user('Hello mock world')] })
    .withResponse();
  assert.equal(data.object, 'chat.completion');
  assert.equal(data.model, 'mock-gpt');
  assert.equal(data.choices.length, 1);
  assert.equal(data.choices[0]?.message.role, 'assistant');
  assert.equal(data.choices[0]?.message.content, 'This is a mock reply to: Hello mock world');
  assert.equal(data.choices[0]?.finish_reason, 'stop');
  const u = data.usage!;
  assert.equal(u.completion_tokens, 9);
  assert.ok(u.prompt_tokens > 0);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  assert.match(data.id, /^chatcmpl-mock-[0-9a-f]{24}$/);
  assert.equal(response.headers.get('x-ditto-backend'), 'mocky');
  assert.equal(response.headers.get('x-ditto-translation'), 'mock');
});

test('chat: equal prompts give equal text, different prompts differ', async () => {
  const client = sdk(gw.url);
  const a = await client.chat.completions.create({ model: 'mock-gpt', messages: user('same prompt') });
  const b = await client.chat.completions.create({ model: 'mock-gpt', messages: user('same prompt') });
  const c = await client.chat.completions.create({ model: 'mock-gpt', messages: user('other prompt') });
  assert.equal(a.choices[0]?.message.content, b.choices[0]?.message.content);
  assert.deepEqual(a.usage, b.usage);
  assert.notEqual(a.choices[0]?.message.content, c.choices[0]?.message.content);
  assert.notEqual(a.id, b.id, 'ids are per request');
});

test('chat: max_tokens (and max_completion_tokens) truncate with finish_reason length', async () => {
  const client = sdk(gw.url);
  const r = await client.chat.completions.create({ model: 'mock-gpt', messages: user('a b c d e f'), max_tokens: 3 });
  assert.equal(r.choices[0]?.message.content, 'This is a');
  assert.equal(r.choices[0]?.finish_reason, 'length');
  assert.equal(r.usage?.completion_tokens, 3);
  const r2 = await client.chat.completions.create({ model: 'mock-gpt', messages: user('a b c d e f'), max_completion_tokens: 5 });
  assert.equal(r2.choices[0]?.message.content, 'This is a mock reply');
  assert.equal(r2.choices[0]?.finish_reason, 'length');
});

test('chat (stream): chunks rebuild the non-stream text; usage chunk only with include_usage', async () => {
  const client = sdk(gw.url);
  const whole = await client.chat.completions.create({ model: 'mock-gpt', messages: user('stream me please') });
  const collect = async (includeUsage: boolean) => {
    const s = await client.chat.completions.create({
      model: 'mock-gpt', messages: user('stream me please'), stream: true,
      ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
    });
    let text = '';
    let finish: string | null = null;
    let usageChunks = 0;
    let usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
    let chunks = 0;
    for await (const ch of s) {
      chunks++;
      assert.equal(ch.object, 'chat.completion.chunk');
      const c = ch.choices[0];
      if (c?.delta.content) text += c.delta.content;
      if (c?.finish_reason) finish = c.finish_reason;
      if (ch.usage) {
        usageChunks++;
        usage = ch.usage;
        assert.equal(ch.choices.length, 0, 'the usage chunk has no choices');
      }
    }
    return { text, finish, usage, usageChunks, chunks };
  };
  const plain = await collect(false);
  assert.equal(plain.text, whole.choices[0]?.message.content);
  assert.equal(plain.finish, 'stop');
  assert.equal(plain.usageChunks, 0);
  assert.ok(plain.chunks > 3, 'streamed in several chunks');
  const withUsage = await collect(true);
  assert.equal(withUsage.text, whole.choices[0]?.message.content);
  assert.equal(withUsage.usageChunks, 1);
  assert.deepEqual(withUsage.usage, whole.usage);
});

test('chat (stream) with max_tokens ends with finish_reason length', async () => {
  const s = await sdk(gw.url).chat.completions.create({ model: 'mock-gpt', messages: user('x y z'), max_tokens: 2, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish: string | null = null;
  let completion = -1;
  for await (const ch of s) {
    text += ch.choices[0]?.delta.content ?? '';
    finish = ch.choices[0]?.finish_reason ?? finish;
    if (ch.usage) completion = ch.usage.completion_tokens;
  }
  assert.equal(text, 'This is');
  assert.equal(finish, 'length');
  assert.equal(completion, 2);
});

test('model_map applies before the mock: the reply names the mapped model', async () => {
  const r = await sdk(gw.url).chat.completions.create({ model: 'gpt-4o', messages: user('mapped') });
  assert.equal(r.model, 'mock-gpt');
});

test('completions: plain and streamed, with length truncation', async () => {
  const client = sdk(gw.url);
  const r = await client.completions.create({ model: 'mock-gpt', prompt: 'Once upon a time' });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices[0]?.text, 'This is a mock reply to: Once upon a time');
  assert.equal(r.choices[0]?.finish_reason, 'stop');
  assert.equal(r.usage?.completion_tokens, 10);
  const cut = await client.completions.create({ model: 'mock-gpt', prompt: 'Once upon a time', max_tokens: 4 });
  assert.equal(cut.choices[0]?.text, 'This is a mock');
  assert.equal(cut.choices[0]?.finish_reason, 'length');
  const s = await client.completions.create({ model: 'mock-gpt', prompt: 'Once upon a time', stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage: number | undefined;
  for await (const ch of s) {
    text += ch.choices[0]?.text ?? '';
    if (ch.usage) usage = ch.usage.total_tokens;
  }
  assert.equal(text, r.choices[0]?.text);
  assert.equal(usage, r.usage?.total_tokens);
});

test('embeddings: float and base64 encode the same deterministic unit vectors', async () => {
  const client = sdk(gw.url);
  const b64 = await client.embeddings.create({ model: 'mock-embedding', input: ['alpha', 'beta', 'alpha'] });
  const flt = await client.embeddings.create({ model: 'mock-embedding', input: ['alpha', 'beta', 'alpha'], encoding_format: 'float' });
  assert.equal(b64.data.length, 3);
  assert.deepEqual(b64.data.map((d) => d.index), [0, 1, 2]);
  for (let i = 0; i < 3; i++) assert.deepEqual(b64.data[i]?.embedding, flt.data[i]?.embedding);
  const [a, b, a2] = flt.data.map((d) => d.embedding);
  assert.equal(a!.length, 8, 'default dimensions');
  assert.deepEqual(a, a2, 'equal inputs embed equally');
  assert.notDeepEqual(a, b);
  const norm = Math.sqrt(a!.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-5, `unit length, got ${norm}`);
  assert.ok(flt.usage.prompt_tokens > 0);
  // The wire really carries base64 strings when asked.
  const wire = await raw(`${gw.url}/v1/embeddings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock-embedding', input: 'alpha', encoding_format: 'base64', dimensions: 16 }),
  });
  const emb = (JSON.parse(wire.body.toString('utf8')) as { data: Array<{ embedding: unknown }> }).data[0]?.embedding;
  assert.equal(typeof emb, 'string');
  assert.equal(Buffer.from(emb as string, 'base64').length, 16 * 4);
});

test('embeddings: a bad dimensions value is a 400, not a backend failure', async () => {
  const err = await rejectsWith(sdk(gw.url).embeddings.create({ model: 'mock-embedding', input: 'x', dimensions: 2.5 }), BadRequestError);
  assert.equal(err.param, 'dimensions');
});

test('/v1/models lists the mock models; /v1/models/{id} finds them or 404s', async () => {
  const client = sdk(gw.url);
  const ids: string[] = [];
  for await (const m of client.models.list()) ids.push(m.id);
  for (const id of ['mock-gpt', 'mock-embedding', 'gpt-4o']) assert.ok(ids.includes(id), `${id} listed in ${ids.join(',')}`);
  assert.deepEqual(ids, [...ids].sort());
  const { data: m, response } = await client.models.retrieve('mock-gpt').withResponse();
  assert.equal(m.id, 'mock-gpt');
  assert.equal(m.object, 'model');
  assert.equal(response.headers.get('x-ditto-translation'), 'mocky', 'backend name on model lookups');
  const err = await rejectsWith(client.models.retrieve('no-such-model'), NotFoundError);
  assert.equal(err.code, 'model_not_found');
});

test('paths the mock does not serve get 404', async () => {
  const client = sdk(gw.url);
  const img = await rejectsWith(client.images.generate({ model: 'mock-gpt', prompt: 'a cat' }), NotFoundError);
  assert.match(img.message, /does not serve POST \/v1\/images\/generations/);
  await rejectsWith(client.files.list(), NotFoundError);
  await rejectsWith(client.moderations.create({ model: 'mock-gpt', input: 'x' }), NotFoundError);
});

test('a mock with latency still answers, and a client that gives up does not break it', async () => {
  const slow = await startTestGateway({
    backends: [{ name: 'slowmock', provider: 'mock', mock_latency_ms: 300 }],
    virtual_keys: [{ id: VK_ID, token: VK_TOKEN }],
    router: { default_backends: [{ backend: 'slowmock' }] },
  });
  try {
    const client = sdk(slow.url);
    const ac = new AbortController();
    const gaveUp = client.chat.completions.create({ model: 'mock-gpt', messages: user('x') }, { signal: ac.signal });
    ac.abort();
    await assert.rejects(gaveUp);
    const r = await client.chat.completions.create({ model: 'mock-gpt', messages: user('still here') });
    assert.equal(r.choices[0]?.message.content, 'This is a mock reply to: still here');
  } finally {
    await slow.close();
  }
});
