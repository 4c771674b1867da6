import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import OpenAI from 'openai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import type { SeenRequest } from '../helpers/upstream.js';
import { eventFor, gate, KEY, startFleet, TOKEN, until, type Fleet } from './routing-support.js';

// Streaming relay (CONTRACT §4.6, STYLE §3.4 item 11): chunk by chunk as it arrives, client close
// aborts upstream, upstream failure ends the client stream, write backpressure reaches upstream.

let fleet: Fleet;
let gw: TestGateway;

before(async () => {
  fleet = await startFleet();
  gw = await startTestGateway({
    backends: [fleet.backend('sse')],
    virtual_keys: [KEY],
    router: { default_backends: [{ backend: 'sse' }] },
  });
});

after(async () => {
  await gw?.close();
  await fleet?.close();
});

/** A streamed chat request through the gateway with a raw HTTP client; resolves with the response. */
function rawStream(id: string): { done: Promise<IncomingMessage>; abort: () => void } {
  const body = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  const req = request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': id },
  });
  const done = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  req.end(body);
  return { done, abort: () => req.destroy() };
}

function sseChunk(content: string, finish: string | null = null): string {
  return `data: ${JSON.stringify({
    id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1700000000, model: 'm',
    choices: [{ index: 0, delta: finish ? {} : { content }, finish_reason: finish }],
  })}\n\n`;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} (waited ${ms} ms)`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

test('SSE is relayed chunk by chunk: chunk 2 is only written after the client received chunk 1', { timeout: 60_000 }, async () => {
  const clientGotFirst = gate();
  fleet.behave('sse', async (_q, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"n":1}\n\n');
    await clientGotFirst.wait();
    res.write('data: {"n":2}\n\n');
    res.end('data: [DONE]\n\n');
  });
  const res = await rawStream('chunked-1').done;
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/event-stream/);
  assert.equal(res.headers['cache-control'], 'no-cache');
  assert.equal(res.headers['x-accel-buffering'], 'no');
  assert.equal(res.headers['x-ditto-backend'], 'sse');
  let text = '';
  res.setEncoding('utf8');
  let sawFirstAlone = false;
  res.on('data', (c: string) => {
    text += c;
    if (!sawFirstAlone && text === 'data: {"n":1}\n\n') {
      sawFirstAlone = true;
      clientGotFirst.open();
    }
  });
  // A buffering relay would deadlock here: the upstream waits for the client to see chunk 1.
  await within(once(res, 'end'), 15_000, 'chunk 1 never reached the client before the upstream finished');
  assert.equal(text, 'data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n');
  assert.ok(sawFirstAlone);
});

test('the openai SDK streams a chat completion end to end', { timeout: 60_000 }, async () => {
  fleet.behave('sse', async (_q, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    for (const part of ['Hel', 'lo', ', ', 'world']) {
      res.write(sseChunk(part));
      await new Promise((resolve) => setImmediate(resolve));
    }
    res.write(sseChunk('', 'stop'));
    res.end('data: [DONE]\n\n');
  });
  const client = new OpenAI({ apiKey: TOKEN, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let text = '';
  let finish: string | null | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(text, 'Hello, world');
  assert.equal(finish, 'stop');
  const seen = fleet.hits('sse').at(-1) as SeenRequest;
  assert.equal((JSON.parse(seen.body.toString()) as { stream: boolean }).stream, true);
});

test('a client disconnect mid-stream aborts the upstream request', { timeout: 60_000 }, async (t) => {
  let upstreamClosedAt = 0;
  fleet.behave('sse', (_q, res) => {
    res.on('close', () => { upstreamClosedAt = performance.now(); });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(sseChunk('first'));
    // ...and never another byte: only the gateway can end this request.
  });
  const s = rawStream('disconnect-1');
  const res = await s.done;
  await within(once(res, 'data'), 10_000, 'first chunk');
  const hits = fleet.hits('sse').length;
  const closedAt = performance.now();
  s.abort();
  await until(() => upstreamClosedAt > 0, 5_000, 'the upstream to see its response closed');
  const ms = upstreamClosedAt - closedAt;
  t.diagnostic(`upstream saw the close ${ms.toFixed(1)} ms after the client disconnected`);
  assert.ok(ms < 1000, `upstream closed after ${ms} ms`);
  assert.equal(fleet.hits('sse').at(-1)?.aborted, true);
  assert.equal(fleet.hits('sse').length, hits, 'no second attempt after a client abort');
  const ev = await eventFor(gw, 'proxy.response', 'disconnect-1');
  assert.equal(ev.payload['outcome'], 'client_aborted');
});

test('an upstream failure at an event boundary ends the stream with an error the SDK throws', { timeout: 60_000 }, async () => {
  const clientGotFirst = gate();
  fleet.behave('sse', async (_q, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(sseChunk('partial answer'));
    await clientGotFirst.wait();
    res.destroy();
  });
  const client = new OpenAI({ apiKey: TOKEN, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }, { headers: { 'x-request-id': 'midfail-1' } });
  const got: string[] = [];
  const consume = async (): Promise<void> => {
    for await (const chunk of stream) {
      got.push(chunk.choices[0]?.delta.content ?? '');
      clientGotFirst.open();
    }
  };
  await within(assert.rejects(consume(), (err: unknown) => {
    assert.ok(err instanceof OpenAI.APIError, `expected an APIError, got ${String(err)}`);
    assert.match(err.message, /upstream stream failed/);
    return true;
  }), 15_000, 'the SDK stream hung after the upstream failed');
  assert.deepEqual(got, ['partial answer']);
  const ev = await eventFor(gw, 'proxy.response', 'midfail-1');
  assert.equal(ev.payload['outcome'], 'upstream_failed_midstream');
});

test('an upstream failure inside an event cuts the client connection (no spliced JSON, no hang)', { timeout: 60_000 }, async () => {
  const clientGotFirst = gate();
  fleet.behave('sse', async (_q, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`${sseChunk('one')}data: {"id":"chatcmpl-s","obj`);
    await clientGotFirst.wait();
    res.destroy();
  });
  const client = new OpenAI({ apiKey: TOKEN, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
  const got: string[] = [];
  const consume = async (): Promise<void> => {
    for await (const chunk of stream) {
      got.push(chunk.choices[0]?.delta.content ?? '');
      clientGotFirst.open();
    }
  };
  await within(assert.rejects(consume()), 15_000, 'the SDK stream hung after the upstream failed');
  assert.deepEqual(got, ['one']);
});

test('write backpressure: a client that stops reading pauses the upstream; memory stays bounded', { timeout: 60_000 }, async (t) => {
  const CHUNK = Buffer.from(`data: ${'x'.repeat(64 * 1024 - 8)}\n\n`);
  const COUNT = 1536; // 96 MiB in total
  const total = CHUNK.length * COUNT;
  const sawBackpressure = gate();
  let written = 0;
  let falseWrites = 0;
  fleet.behave('sse', async (_q, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < COUNT && !res.destroyed; i++) {
      written += CHUNK.length;
      if (!res.write(CHUNK)) {
        falseWrites++;
        sawBackpressure.open();
        await once(res, 'drain');
      }
    }
    res.end();
  });
  const before = process.memoryUsage();
  const s = rawStream('backpressure-1');
  const res = await s.done;
  // Not reading: no 'data' listener, so the client socket stops being drained.
  await within(sawBackpressure.wait(), 20_000, 'upstream write() never returned false');
  // Wait until the upstream makes no progress for 500 ms: every buffer on the way is full.
  let last = -1;
  await until(async () => {
    if (written === last) return true;
    last = written;
    await new Promise((resolve) => setTimeout(resolve, 500));
    return false;
  }, 20_000, 'the upstream to stall');
  const stalledAt = written;
  const grown = process.memoryUsage().arrayBuffers - before.arrayBuffers;
  t.diagnostic(`upstream stalled after ${(stalledAt / 2 ** 20).toFixed(1)} MiB of ${(total / 2 ** 20).toFixed(0)} MiB; arrayBuffers grew ${(grown / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(stalledAt < total / 2, `upstream pushed ${stalledAt} bytes into a client that reads nothing`);
  assert.ok(grown < total / 2, `arrayBuffers grew by ${grown} bytes`);
  // Reading again drains everything, intact.
  let received = 0;
  res.on('data', (c: Buffer) => { received += c.length; });
  await within(once(res, 'end'), 60_000, 'the stream to finish after the client resumed');
  assert.equal(received, total);
  assert.ok(falseWrites >= 1);
});
