/**
 * The Anthropic Messages surface (CONTRACT §3.7) with the official `@anthropic-ai/sdk` as the client: mapped body,
 * reply shape and stop reasons, the exact SSE event sequence, tools round trip, errors as SDK exception classes,
 * the built-in mock backend, and the empty-`virtual_keys` credential forwarding exception.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Anthropic, { AuthenticationError, BadRequestError, RateLimitError } from '@anthropic-ai/sdk';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { raw, VK_ID, VK_TOKEN } from './proxy-kit.js';
import { chunk, parseSse, sendSse, toolCompletion, usageChunk } from '../surfaces/kit.js';

let up: MockUpstream;
let gw: TestGateway;

before(async () => {
  up = await startUpstream();
  gw = await startTestGateway({
    backends: [
      { name: 'primary', base_url: up.baseUrl },
      { name: 'mocky', provider: 'mock' },
    ],
    virtual_keys: [{ id: VK_ID, token: VK_TOKEN }],
    router: { default_backends: [{ backend: 'primary' }], rules: [{ model_prefix: 'mock-', backend: 'mocky' }] },
  });
});

after(async () => {
  await gw?.close();
  await up?.close();
});

function client(apiKey = VK_TOKEN): Anthropic {
  return new Anthropic({ apiKey, baseURL: gw.url, maxRetries: 0, timeout: 60_000 });
}

function lastBody(): Record<string, unknown> {
  const r = up.requests[up.requests.length - 1];
  assert.ok(r, 'the upstream saw a request');
  return JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
}

test('non-stream: mapped chat body upstream, Anthropic message back, request id header, no key leaks', async () => {
  up.handle((_req, res) => sendJson(res, 200, chatCompletion('Hi there', 'up-model')));
  // `temperature` is part of the Messages API; this SDK version's types leave it out, so the literal goes via a variable.
  const params = {
    model: 'claude-x', max_tokens: 64, system: 'be brief', temperature: 0.5, stop_sequences: ['END'],
    messages: [{ role: 'user' as const, content: 'Hello' }],
  };
  const { data, response } = await client().messages.create(params).withResponse();
  assert.equal(data.type, 'message');
  assert.equal(data.role, 'assistant');
  assert.deepEqual(data.content, [{ type: 'text', text: 'Hi there' }]);
  assert.equal(data.stop_reason, 'end_turn');
  assert.equal(data.stop_sequence, null);
  assert.equal(data.usage.input_tokens, 5);
  assert.equal(data.usage.output_tokens, 2);
  assert.match(response.headers.get('x-ditto-request-id') ?? '', /^ditto-/);
  assert.equal(response.headers.get('x-ditto-backend'), 'primary');
  const seen = up.requests[up.requests.length - 1]!;
  assert.equal(seen.url, '/v1/chat/completions');
  assert.equal(seen.headers['x-api-key'], undefined);
  assert.ok(!JSON.stringify(seen.headers).includes(VK_TOKEN), 'virtual key never reaches the upstream');
  assert.deepEqual(lastBody(), {
    model: 'claude-x',
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
    max_tokens: 64, temperature: 0.5, stop: ['END'], stream: false,
  });
});

test('non-stream: finish reasons map to stop_reason (length → max_tokens, content_filter → content_filtered)', async () => {
  for (const [finish, stop] of [['length', 'max_tokens'], ['content_filter', 'content_filtered'], ['stop', 'end_turn']] as const) {
    up.handle((_req, res) => {
      const c = chatCompletion('cut', 'up-model') as { choices: Array<Record<string, unknown>> };
      (c.choices[0] as Record<string, unknown>)['finish_reason'] = finish;
      sendJson(res, 200, c);
    });
    const r = await raw(`${gw.url}/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body.toString()) as { stop_reason: string }).stop_reason, stop, finish);
  }
});

test('stream: exact Anthropic event sequence for text then a tool call, usage from the upstream', async () => {
  up.handle((_req, res) => sendSse(res, [
    chunk({ role: 'assistant', content: '' }),
    chunk({ content: 'Let me ' }),
    chunk({ content: 'check.' }),
    chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
    chunk({}, 'tool_calls'),
    usageChunk(11, 7),
  ]));
  const r = await raw(`${gw.url}/v1/messages`, {
    method: 'POST', headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-x', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'weather?' }] }),
  });
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/event-stream/);
  assert.ok(r.headers['x-ditto-request-id']);
  const sent = lastBody();
  assert.equal(sent['stream'], true);
  assert.deepEqual(sent['stream_options'], { include_usage: true }, 'usage requested so the stream settles on real numbers');
  const events = parseSse(r.body.toString('utf8'));
  assert.deepEqual(events.map((e) => e.event), [
    'message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
    'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
  ]);
  for (const e of events) assert.equal((e.data as { type: string }).type, e.event, 'data.type equals the event name');
  const deltas = events.filter((e) => e.event === 'content_block_delta').map((e) => (e.data as { delta: Record<string, unknown> }).delta);
  assert.deepEqual(deltas, [
    { type: 'text_delta', text: 'Let me ' }, { type: 'text_delta', text: 'check.' },
    { type: 'input_json_delta', partial_json: '{"city":' }, { type: 'input_json_delta', partial_json: '"Paris"}' },
  ]);
  const toolStart = events[5]!.data as { index: number; content_block: Record<string, unknown> };
  assert.equal(toolStart.index, 1);
  assert.deepEqual(toolStart.content_block, { type: 'tool_use', id: 'call_1', name: 'get_weather', input: {} });
  const md = events[9]!.data as { delta: { stop_reason: string }; usage: { output_tokens: number; input_tokens: number } };
  assert.equal(md.delta.stop_reason, 'tool_use');
  assert.equal(md.usage.output_tokens, 7);
  assert.equal(md.usage.input_tokens, 11);
  assert.ok(!r.body.toString().includes('[DONE]'));
});

test('stream with the SDK: text accumulates and finalMessage carries usage', async () => {
  up.handle((_req, res) => sendSse(res, [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo!' }), chunk({}, 'stop'), usageChunk(3, 2)]));
  const stream = client().messages.stream({ model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
  let text = '';
  stream.on('text', (t) => { text += t; });
  const final = await stream.finalMessage();
  assert.equal(text, 'Hello!');
  assert.equal(final.content.length, 1);
  assert.equal(final.content[0]?.type === 'text' ? final.content[0].text : undefined, 'Hello!');
  assert.equal(final.stop_reason, 'end_turn');
  assert.equal(final.usage.output_tokens, 2);
});

test('tools round trip: tool_use out, tool_result back as a tool message, final answer', async () => {
  let call = 0;
  up.handle((_req, res) => {
    call++;
    if (call === 1) sendJson(res, 200, toolCompletion([{ id: 'call_a', name: 'add', arguments: '{"a":2,"b":3}' }, { id: 'call_b', name: 'add', arguments: '{"a":1,"b":1}' }]));
    else sendJson(res, 200, chatCompletion('5 and 2', 'up-model'));
  });
  const tools = [{ name: 'add', description: 'add two numbers', input_schema: { type: 'object' as const, properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] } }];
  const first = await client().messages.create({
    model: 'claude-x', max_tokens: 100, tools, tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'add 2+3 and 1+1' }],
  });
  assert.equal(first.stop_reason, 'tool_use');
  const uses = first.content.filter((b) => b.type === 'tool_use');
  assert.equal(uses.length, 2, 'parallel calls');
  assert.deepEqual(uses.map((u) => u.type === 'tool_use' ? [u.id, u.name, u.input] : []), [['call_a', 'add', { a: 2, b: 3 }], ['call_b', 'add', { a: 1, b: 1 }]]);
  const sent1 = lastBody();
  assert.deepEqual(sent1['tools'], [{ type: 'function', function: { name: 'add', description: 'add two numbers', parameters: tools[0]!.input_schema } }]);
  assert.equal(sent1['tool_choice'], 'required');

  const second = await client().messages.create({
    model: 'claude-x', max_tokens: 100, tools,
    messages: [
      { role: 'user', content: 'add 2+3 and 1+1' },
      { role: 'assistant', content: first.content },
      { role: 'user', content: [
        { type: 'tool_result', tool_use_id: 'call_a', content: '5' },
        { type: 'tool_result', tool_use_id: 'call_b', content: [{ type: 'text', text: '2' }] },
      ] },
    ],
  });
  assert.deepEqual(second.content, [{ type: 'text', text: '5 and 2' }]);
  const msgs = lastBody()['messages'] as Array<Record<string, unknown>>;
  assert.deepEqual(msgs[1], {
    role: 'assistant', content: null,
    tool_calls: [
      { id: 'call_a', type: 'function', function: { name: 'add', arguments: '{"a":2,"b":3}' } },
      { id: 'call_b', type: 'function', function: { name: 'add', arguments: '{"a":1,"b":1}' } },
    ],
  });
  assert.deepEqual(msgs.slice(2), [{ role: 'tool', tool_call_id: 'call_a', content: '5' }, { role: 'tool', tool_call_id: 'call_b', content: '2' }]);
});

test('errors: upstream 429 keeps its status as an Anthropic error (RateLimitError); 401 and 400 are Anthropic-shaped', async () => {
  up.handle((_req, res) => sendJson(res, 429, { error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }));
  await assert.rejects(client().messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), (err: unknown) => {
    assert.ok(err instanceof RateLimitError);
    assert.equal(err.status, 429);
    assert.deepEqual(err.error, { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
    return true;
  });
  await assert.rejects(client('sk-wrong').messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), (err: unknown) => {
    assert.ok(err instanceof AuthenticationError);
    assert.deepEqual(err.error, { type: 'error', error: { type: 'authentication_error', message: 'unauthorized virtual key' } });
    assert.ok(err.headers?.get('x-ditto-request-id'));
    return true;
  });
  const r = await raw(`${gw.url}/v1/messages`, {
    method: 'POST', headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json' }, body: JSON.stringify({ max_tokens: 5, messages: [] }),
  });
  assert.equal(r.status, 400);
  assert.deepEqual(JSON.parse(r.body.toString()), { type: 'error', error: { type: 'invalid_request_error', message: 'missing field `model`' } });
  assert.ok(r.headers['x-ditto-request-id']);
  await assert.rejects(client().messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'bogus' } as never] }] }), BadRequestError);
  const bad = await raw(`${gw.url}/messages`, { method: 'POST', headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json' }, body: '{nope' });
  assert.equal(bad.status, 400);
  assert.equal((JSON.parse(bad.body.toString()) as { type: string }).type, 'error');
});

test('errors: a 2xx upstream reply that is not JSON is a 502 api_error', async () => {
  up.handle((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>oops</html>'); });
  const r = await raw(`${gw.url}/v1/messages`, {
    method: 'POST', headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(r.status, 502);
  assert.deepEqual(JSON.parse(r.body.toString()), { type: 'error', error: { type: 'api_error', message: 'backend reply is not JSON' } });
});

test('stream: upstream breaking mid-stream ends with an Anthropic error event; the SDK throws', async () => {
  up.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify(chunk({ role: 'assistant', content: 'partial' }))}\n\n`, () => res.destroy());
  });
  const stream = await client().messages.create({ model: 'claude-x', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] });
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const ev of stream) seen.push(ev.type);
  });
  assert.deepEqual(seen.slice(0, 2), ['message_start', 'content_block_start']);
});

test('built-in mock backend: non-stream and stream through the Anthropic surface', async () => {
  const data = await client().messages.create({ model: 'mock-gpt', max_tokens: 100, messages: [{ role: 'user', content: 'Hello mock' }] });
  assert.deepEqual(data.content, [{ type: 'text', text: 'This is a mock reply to: Hello mock' }]);
  assert.equal(data.stop_reason, 'end_turn');
  assert.equal(data.usage.output_tokens, 8);
  const cut = await client().messages.create({ model: 'mock-gpt', max_tokens: 3, messages: [{ role: 'user', content: 'Hello mock' }] });
  assert.equal(cut.stop_reason, 'max_tokens');
  const stream = client().messages.stream({ model: 'mock-gpt', max_tokens: 100, messages: [{ role: 'user', content: 'Hello mock' }] });
  const final = await stream.finalMessage();
  assert.equal(final.content[0]?.type === 'text' ? final.content[0].text : '', 'This is a mock reply to: Hello mock');
  assert.equal(final.usage.output_tokens, 8);
});

test('count_tokens: ceil(bytes/4) with x-ditto-token-count: estimate; key required; JSON required; 4 MiB cap', async () => {
  const params = { model: 'claude-x', messages: [{ role: 'user' as const, content: 'count me please' }] };
  const { data, response } = await client().messages.countTokens(params).withResponse();
  const bytes = Buffer.byteLength(JSON.stringify(params));
  assert.equal(data.input_tokens, Math.ceil(bytes / 4));
  assert.equal(response.headers.get('x-ditto-token-count'), 'estimate');
  const before = up.requests.length;
  const body = JSON.stringify({ model: 'm', messages: [] });
  const r = await raw(`${gw.url}/messages/count_tokens`, { method: 'POST', headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json' }, body });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body.toString()), { input_tokens: Math.ceil(Buffer.byteLength(body) / 4) });
  assert.equal(up.requests.length, before, 'nothing goes upstream');
  const noKey = await raw(`${gw.url}/v1/messages/count_tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(noKey.status, 401);
  assert.deepEqual(JSON.parse(noKey.body.toString()), { type: 'error', error: { type: 'authentication_error', message: 'missing virtual key' } });
  const notJson = await raw(`${gw.url}/v1/messages/count_tokens`, { method: 'POST', headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json' }, body: 'not json' });
  assert.equal(notJson.status, 400);
  assert.equal((JSON.parse(notJson.body.toString()) as { error: { type: string } }).error.type, 'invalid_request_error');
  const big = await raw(`${gw.url}/v1/messages/count_tokens`, {
    method: 'POST', headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(4 * 1024 * 1024) }),
  });
  assert.equal(big.status, 413);
  assert.equal((JSON.parse(big.body.toString()) as { type: string }).type, 'error');
});

test('no virtual keys: the client credential is forwarded as authorization: Bearer; none at all is 401', async () => {
  const up2 = await startUpstream();
  const gw2 = await startTestGateway({ backends: [{ name: 'p', base_url: up2.baseUrl }], router: { default_backends: [{ backend: 'p' }] } });
  try {
    up2.handle((_req, res) => sendJson(res, 200, chatCompletion('fwd', 'up-model')));
    const c = new Anthropic({ apiKey: 'sk-ant-client-own', baseURL: gw2.url, maxRetries: 0 });
    const data = await c.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    assert.deepEqual(data.content, [{ type: 'text', text: 'fwd' }]);
    const seen = up2.requests[0]!;
    assert.equal(seen.headers['authorization'], 'Bearer sk-ant-client-own');
    assert.equal(seen.headers['x-api-key'], undefined);
    const r = await raw(`${gw2.url}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(r.status, 401);
    assert.equal((JSON.parse(r.body.toString()) as { error: { type: string } }).error.type, 'authentication_error');
    const openai = await raw(`${gw2.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-ant-client-own' },
      body: JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(openai.status, 401, '/v1/* stays fail-closed');
    assert.equal(up2.requests.length, 1);
  } finally {
    await gw2.close();
    await up2.close();
  }
});

test('loss is reported: a field chat completions cannot carry is dropped and named in x-ditto-translation-warnings', async () => {
  up.handle((_req, res) => sendJson(res, 200, chatCompletion('ok', 'up-model')));
  const r = await raw(`${gw.url}/v1/messages`, {
    method: 'POST', headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-x', max_tokens: 5, top_k: 40, messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(r.status, 200);
  const warnings = JSON.parse(String(r.headers['x-ditto-translation-warnings'])) as string[];
  assert.ok(warnings.some((w) => w.startsWith('top_k')), String(r.headers['x-ditto-translation-warnings']));
  assert.equal(lastBody()['top_k'], undefined);
});

test('stream: a client that leaves mid-stream aborts the upstream request', { timeout: 60_000 }, async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  up.handle(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify(chunk({ role: 'assistant', content: 'first' }))}\n\n`);
    await held;
  });
  const before = up.requests.length;
  const stream = await client().messages.create({ model: 'claude-x', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] });
  const seen: string[] = [];
  // Leaving the loop early makes the SDK abort its request (the client goes away).
  for await (const ev of stream) {
    seen.push(ev.type);
    if (ev.type === 'content_block_delta') break;
  }
  assert.deepEqual(seen, ['message_start', 'content_block_start', 'content_block_delta']);
  const seenUp = up.requests[before]!;
  await new Promise<void>((resolve) => {
    const check = (): void => { if (seenUp.aborted) resolve(); else setTimeout(check, 10); };
    check();
  });
  assert.equal(seenUp.aborted, true);
  release();
});

test('errors: an upstream JSON body cut off before its end is a 502 in Anthropic shape, not a 500', async () => {
  up.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
    res.write('{"id":"chatcmpl-x","object":', () => res.destroy());
  });
  const r = await raw(`${gw.url}/v1/messages`, {
    method: 'POST', headers: { 'x-api-key': VK_TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(r.status, 502);
  const e = JSON.parse(r.body.toString()) as { type: string; error: { type: string; message: string } };
  assert.equal(e.type, 'error');
  assert.equal(e.error.type, 'api_error');
  assert.match(e.error.message, /backend response failed/);
});
