/**
 * The `/v1/responses` shim (CONTRACT §3.5) with the real `openai` SDK: an upstream without a Responses API (404/405/
 * 501 on `POST /v1/responses`) gets the mapped request on `/v1/chat/completions` of the same backend, and the
 * client gets a Responses object or Responses stream events, tool calls included, with `x-ditto-shim`.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { passthroughConfig, raw, sdk, VK_TOKEN } from './proxy-kit.js';
import { chunk, parseSse, sendSse, toolCompletion, usageChunk } from '../surfaces/kit.js';

let up: MockUpstream;
let gw: TestGateway;
/** What the upstream answers on `/v1/chat/completions`. */
let chat: (res: ServerResponse, body: Record<string, unknown>) => void;
let responsesStatus = 404;

before(async () => {
  up = await startUpstream();
  up.handle((req, res, body) => {
    if (req.url === '/v1/responses') return sendJson(res, responsesStatus, { error: { message: 'Not Found', type: 'invalid_request_error' } });
    if (req.url === '/v1/chat/completions') return chat(res, JSON.parse(body.toString('utf8')) as Record<string, unknown>);
    sendJson(res, 500, { error: { message: `unexpected ${req.url}` } });
  });
  gw = await startTestGateway(passthroughConfig(up.baseUrl, { model_map: { 'alias-model': 'real-model' } }));
});

after(async () => {
  await gw?.close();
  await up?.close();
});

function chatBodies(): Array<Record<string, unknown>> {
  return up.requests.filter((r) => r.url === '/v1/chat/completions').map((r) => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>);
}

test('non-stream: 404 on /v1/responses → chat completions on the same backend; Responses object back with x-ditto-shim', async () => {
  chat = (res) => sendJson(res, 200, chatCompletion('Hello from chat', 'real-model'));
  const before = up.requests.length;
  const { data, response } = await sdk(gw.url).responses.create({
    model: 'alias-model', instructions: 'be brief', input: 'Hi there', max_output_tokens: 50, temperature: 0.2,
  }).withResponse();
  assert.equal(response.headers.get('x-ditto-shim'), 'responses_via_chat_completions');
  assert.equal(response.headers.get('x-ditto-backend'), 'primary');
  assert.equal(data.object, 'response');
  assert.equal(data.status, 'completed');
  assert.equal(data.output_text, 'Hello from chat');
  assert.deepEqual(data.output.map((o) => o.type), ['message']);
  assert.deepEqual(data.usage && { i: data.usage.input_tokens, o: data.usage.output_tokens, t: data.usage.total_tokens }, { i: 5, o: 2, t: 7 });
  const seen = up.requests.slice(before).map((r) => `${r.method} ${r.url}`);
  assert.deepEqual(seen, ['POST /v1/responses', 'POST /v1/chat/completions']);
  assert.deepEqual(chatBodies().at(-1), {
    model: 'real-model', temperature: 0.2, max_tokens: 50,
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'Hi there' }],
  });
});

test('405 and 501 trigger the shim too; 400 is relayed as the upstream answered', async () => {
  chat = (res) => sendJson(res, 200, chatCompletion('ok', 'm'));
  for (const s of [405, 501]) {
    responsesStatus = s;
    const { response } = await sdk(gw.url).responses.create({ model: 'm', input: 'x' }).withResponse();
    assert.equal(response.headers.get('x-ditto-shim'), 'responses_via_chat_completions', String(s));
  }
  responsesStatus = 400;
  const r = await raw(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: 'x' }) });
  assert.equal(r.status, 400);
  assert.equal(r.headers['x-ditto-shim'], undefined);
  responsesStatus = 404;
});

test('length → incomplete with max_output_tokens; input arrays with parts, images and files map to chat parts', async () => {
  chat = (res) => {
    const c = chatCompletion('cut', 'm') as { choices: Array<Record<string, unknown>> };
    (c.choices[0] as Record<string, unknown>)['finish_reason'] = 'length';
    sendJson(res, 200, c);
  };
  const data = await sdk(gw.url).responses.create({
    model: 'm',
    input: [
      { role: 'user', content: [
        { type: 'input_text', text: 'look' },
        { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'auto' },
        { type: 'input_file', file_id: 'file-1' },
      ] },
      { role: 'assistant', content: [{ type: 'output_text', text: 'seen', annotations: [] }] } as never,
    ],
  });
  assert.equal(data.status, 'incomplete');
  assert.deepEqual(data.incomplete_details, { reason: 'max_output_tokens' });
  assert.deepEqual(chatBodies().at(-1)?.['messages'], [
    { role: 'user', content: [
      { type: 'text', text: 'look' },
      { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'auto' } },
      { type: 'file', file: { file_id: 'file-1' } },
    ] },
    { role: 'assistant', content: [{ type: 'text', text: 'seen' }] },
  ]);
});

test('tool calls: function_call items out, function_call_output back as a tool message', async () => {
  chat = (res) => sendJson(res, 200, toolCompletion([{ id: 'call_9', name: 'lookup', arguments: '{"q":"x"}' }]));
  const tools = [{ type: 'function' as const, name: 'lookup', description: 'find', parameters: { type: 'object', properties: { q: { type: 'string' } } }, strict: false }];
  const first = await sdk(gw.url).responses.create({ model: 'm', input: 'find x', tools, tool_choice: 'auto' });
  const call = first.output.find((o) => o.type === 'function_call');
  assert.ok(call && call.type === 'function_call');
  assert.equal(call.call_id, 'call_9');
  assert.equal(call.name, 'lookup');
  assert.equal(call.arguments, '{"q":"x"}');
  const sent = chatBodies().at(-1)!;
  assert.deepEqual(sent['tools'], [{ type: 'function', function: { name: 'lookup', description: 'find', parameters: tools[0]!.parameters, strict: false } }]);
  assert.equal(sent['tool_choice'], 'auto');

  chat = (res) => sendJson(res, 200, chatCompletion('x is 42', 'm'));
  const second = await sdk(gw.url).responses.create({
    model: 'm', tools,
    input: [
      { role: 'user', content: 'find x' },
      { type: 'function_call', call_id: 'call_9', name: 'lookup', arguments: '{"q":"x"}' },
      { type: 'function_call_output', call_id: 'call_9', output: '42' },
    ],
  });
  assert.equal(second.output_text, 'x is 42');
  assert.deepEqual(chatBodies().at(-1)?.['messages'], [
    { role: 'user', content: 'find x' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }] },
    { role: 'tool', tool_call_id: 'call_9', content: '42' },
  ]);
});

test('stream: response.created, output_text deltas, output_item.done for tool calls, response.completed with usage; no [DONE]', async () => {
  chat = (res) => sendSse(res, [
    chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo' }),
    chunk({ tool_calls: [{ index: 0, id: 'call_s', type: 'function', function: { name: 'f', arguments: '{"a"' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }),
    chunk({}, 'tool_calls'), usageChunk(9, 4),
  ]);
  const { data: stream, response } = await sdk(gw.url).responses.create({ model: 'm', input: 'hi', stream: true }).withResponse();
  assert.equal(response.headers.get('x-ditto-shim'), 'responses_via_chat_completions');
  const types: string[] = [];
  let text = '';
  let item: unknown;
  let usage: unknown;
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === 'response.output_text.delta') text += ev.delta;
    if (ev.type === 'response.output_item.done') item = ev.item;
    if (ev.type === 'response.completed') usage = ev.response.usage;
  }
  assert.deepEqual(types, ['response.created', 'response.output_text.delta', 'response.output_text.delta', 'response.output_item.done', 'response.completed']);
  assert.equal(text, 'Hello');
  assert.deepEqual(item, { type: 'function_call', id: 'fc_call_s', call_id: 'call_s', name: 'f', arguments: '{"a":1}', status: 'completed' });
  assert.deepEqual(usage, { input_tokens: 9, output_tokens: 4, total_tokens: 13 });
  const sent = chatBodies().at(-1)!;
  assert.equal(sent['stream'], true);
  assert.deepEqual(sent['stream_options'], { include_usage: true });

  const r = await raw(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: 'hi', stream: true }) });
  assert.ok(!r.body.toString().includes('[DONE]'));
  assert.ok(parseSse(r.body.toString()).every((e) => e.event === undefined));
});

test('stream: length → response.incomplete; an upstream that breaks → response.failed', async () => {
  chat = (res) => sendSse(res, [chunk({ content: 'cut' }), chunk({}, 'length'), usageChunk(1, 1)]);
  const r = await raw(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: 'hi', stream: true }) });
  const last = parseSse(r.body.toString()).at(-1)?.data as { type: string; response: { status: string; incomplete_details: unknown } };
  assert.equal(last.type, 'response.incomplete');
  assert.deepEqual(last.response.incomplete_details, { reason: 'max_output_tokens' });

  chat = (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify(chunk({ content: 'part' }))}\n\n`, () => res.destroy());
  };
  const broken = await raw(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: 'hi', stream: true }) });
  const end = parseSse(broken.body.toString()).at(-1)?.data as { type: string; response: { status: string } };
  assert.equal(end.type, 'response.failed');
  assert.equal(end.response.status, 'failed');
});

test('errors: file_url or unknown parts → 502 invalid_responses_request; unmappable chat reply → 502 invalid_backend_response', async () => {
  const post = (body: unknown) => raw(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const before = chatBodies().length;
  for (const body of [
    { model: 'm', input: [{ role: 'user', content: [{ type: 'input_file', file_url: 'https://x/y.pdf' }] }] },
    { model: 'm', input: [{ role: 'user', content: [{ type: 'input_audio', data: 'x' }] }] },
    { model: 'm', input: [] },
  ]) {
    const r = await post(body);
    assert.equal(r.status, 502);
    const e = (JSON.parse(r.body.toString()) as { error: { code: string; type: string } }).error;
    assert.equal(e.code, 'invalid_responses_request');
    assert.equal(e.type, 'api_error');
  }
  assert.equal(chatBodies().length, before, 'nothing sent to chat completions');
  chat = (res) => sendJson(res, 200, { not: 'a completion' });
  const bad = await post({ model: 'm', input: 'x' });
  assert.equal(bad.status, 502);
  assert.equal((JSON.parse(bad.body.toString()) as { error: { code: string } }).error.code, 'invalid_backend_response');
});

test('an upstream that has /v1/responses is relayed natively (no shim)', async () => {
  const up2 = await startUpstream();
  up2.handle((_req, res) => sendJson(res, 200, { id: 'resp_native', object: 'response', status: 'completed', output: [], output_text: 'native' }));
  const gw2 = await startTestGateway(passthroughConfig(up2.baseUrl));
  try {
    const { data, response } = await sdk(gw2.url).responses.create({ model: 'm', input: 'x' }).withResponse();
    assert.equal(data.id, 'resp_native');
    assert.equal(response.headers.get('x-ditto-shim'), null);
    assert.deepEqual(up2.requests.map((r) => r.url), ['/v1/responses']);
  } finally {
    await gw2.close();
    await up2.close();
  }
});

test('fail-over after a shimmed attempt: the next backend answers /v1/responses natively and is not converted', async () => {
  const a = await startUpstream();
  const b = await startUpstream();
  a.handle((req, res) => (req.url === '/v1/responses'
    ? sendJson(res, 404, { error: { message: 'Not Found' } })
    : sendJson(res, 503, { error: { message: 'overloaded', type: 'api_error' } })));
  b.handle((_req, res) => sendJson(res, 200, { id: 'resp_b', object: 'response', status: 'completed', output: [], output_text: 'from b' }));
  const gw2 = await startTestGateway({
    backends: [{ name: 'a', base_url: a.baseUrl }, { name: 'b', base_url: b.baseUrl }],
    virtual_keys: [{ id: 'k', token: VK_TOKEN }],
    router: { default_backends: [{ backend: 'a', weight: 1 }, { backend: 'b', weight: 0.0001 }] },
  }, { fallbackStatusCodes: [503] });
  try {
    const r = await raw(`${gw2.url}/v1/responses`, {
      method: 'POST', headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json', 'x-request-id': 'shim-failover-1' },
      body: JSON.stringify({ model: 'm', input: 'x' }),
    });
    assert.deepEqual(a.requests.map((q) => q.url), ['/v1/responses', '/v1/chat/completions']);
    assert.deepEqual(b.requests.map((q) => q.url), ['/v1/responses']);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-ditto-backend'], 'b');
    assert.equal(r.headers['x-ditto-shim'], undefined);
    assert.deepEqual(JSON.parse(r.body.toString()), { id: 'resp_b', object: 'response', status: 'completed', output: [], output_text: 'from b' });
  } finally {
    await gw2.close();
    await a.close();
    await b.close();
  }
});
