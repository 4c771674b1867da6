import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { atEventBoundary, relayBody, type RelayEnd } from '../../src/upstream/relay.js';

// relayBody against a real HTTP response: chunk by chunk, SSE error event only at an event
// boundary, client close destroys the upstream body, write backpressure pauses it.

interface Case {
  body: PassThrough;
  sse: boolean;
  result: Promise<{ end: RelayEnd; bytes: number }>;
  res: ServerResponse;
  chunks: Buffer[];
}

let server: Server;
let url: string;
let next: ((res: ServerResponse) => void) | undefined;

before(async () => {
  server = createServer((_req, res) => next?.(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Start a relay of a fresh PassThrough body into a real response; returns both ends. */
async function relayCase(sse: boolean): Promise<{ c: Case; client: IncomingMessage; req: ReturnType<typeof request> }> {
  const body = new PassThrough();
  const chunks: Buffer[] = [];
  const served = new Promise<Case>((resolve) => {
    next = (res) => {
      res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/octet-stream' });
      res.flushHeaders();
      const result = relayBody(res, body, sse, { onChunk: (chunk) => { chunks.push(chunk); return undefined; } });
      resolve({ body, sse, result, res, chunks });
    };
  });
  const req = request(url);
  req.on('error', () => undefined);
  req.end();
  const [client] = (await once(req, 'response')) as [IncomingMessage];
  return { c: await served, client, req };
}

/** Everything the client receives, and whether it ended cleanly. */
function collect(client: IncomingMessage): Promise<{ text: string; clean: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    client.setEncoding('utf8');
    client.on('data', (s: string) => { text += s; });
    client.once('end', () => resolve({ text, clean: true }));
    client.once('aborted', () => resolve({ text, clean: false }));
    client.once('error', () => resolve({ text, clean: false }));
  });
}

test('relays every chunk as it arrives and counts bytes; tap sees each chunk', async () => {
  const { c, client } = await relayCase(true);
  const got = collect(client);
  c.body.write('data: 1\n\n');
  const [first] = (await once(client, 'data')) as [Buffer];
  assert.equal(first.toString(), 'data: 1\n\n', 'the first chunk arrives before the body ends');
  c.body.end('data: 2\n\n');
  const r = await c.result;
  assert.deepEqual(r, { end: 'complete', bytes: 18 });
  assert.equal((await got).clean, true);
  assert.deepEqual(c.chunks.map(String), ['data: 1\n\n', 'data: 2\n\n']);
});

test('SSE upstream failure at an event boundary: an error event, then a clean end', async () => {
  for (const boundary of ['\n\n', '\r\n\r\n', '\r\r']) {
    const { c, client } = await relayCase(true);
    const got = collect(client);
    c.body.write(`data: {"x":1}${boundary}`);
    await once(client, 'readable');
    c.body.destroy(new Error('upstream reset'));
    assert.equal((await c.result).end, 'upstream_error');
    const { text, clean } = await got;
    assert.equal(clean, true, JSON.stringify(boundary));
    assert.ok(text.startsWith(`data: {"x":1}${boundary}data: {"error":`), text);
    const event = JSON.parse(text.slice(`data: {"x":1}${boundary}data: `.length).trim()) as { error: { code: string; type: string } };
    assert.equal(event.error.code, 'upstream_failure');
    assert.equal(event.error.type, 'api_error');
  }
});

test('SSE upstream failure inside an event, or any non-SSE failure: the client connection is cut', async () => {
  for (const [sse, partial] of [[true, 'data: {"x":'], [true, 'data: 1\n'], [false, '{"partial":']] as const) {
    const { c, client } = await relayCase(sse);
    const got = collect(client);
    c.body.write(partial);
    await once(client, 'readable');
    c.body.destroy(new Error('upstream reset'));
    assert.equal((await c.result).end, 'upstream_error');
    const { text, clean } = await got;
    assert.equal(clean, false, `${sse} ${partial}`);
    assert.ok(!text.includes('error'), 'no error body spliced into the stream');
  }
});

test('a client that goes away destroys the upstream body', async () => {
  const { c, client, req } = await relayCase(true);
  c.body.write('data: 1\n\n');
  await once(client, 'data');
  req.destroy();
  assert.equal((await c.result).end, 'client_aborted');
  assert.equal(c.body.destroyed, true);
});

test('a response already closed before the relay starts resolves at once (no hang)', async () => {
  const body = new PassThrough();
  const done = new Promise<{ end: RelayEnd; bytes: number }>((resolve) => {
    next = (res) => {
      res.once('close', () => resolve(relayBody(res, body, true)));
      res.socket?.destroy();
    };
  });
  const req = request(url);
  req.on('error', () => undefined);
  req.end();
  assert.deepEqual(await done, { end: 'client_aborted', bytes: 0 });
  assert.equal(body.destroyed, true);
});

test('backpressure: the body is paused while the client does not read, resumed on drain', async () => {
  const { c, client } = await relayCase(false);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  // Feed until the relay pauses the body: the client is not reading, so socket buffers fill up.
  let fed = 0;
  while (!c.body.isPaused()) {
    c.body.write(chunk);
    fed += chunk.length;
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(fed < 256 * 2 ** 20, 'the relay never paused the body');
  }
  assert.equal(c.res.writableNeedDrain, true);
  // Once the client reads, the relay resumes and everything arrives.
  let received = 0;
  client.on('data', (b: Buffer) => { received += b.length; });
  c.body.end();
  await once(client, 'end');
  assert.equal(received, fed);
  assert.deepEqual(await c.result, { end: 'complete', bytes: fed });
});

test('atEventBoundary', () => {
  const tail = (s: string): number => Buffer.from(s.padStart(4, 'x')).readUInt32BE(0);
  for (const s of ['\n\n', 'a\n\n', '\r\n\r\n', '\r\r', '\n\r\n', '\r\n\n', '\r\r\n', '\n\r']) {
    assert.equal(atEventBoundary(tail(s)), true, JSON.stringify(s));
  }
  for (const s of ['\n', 'a\r\n', 'data', '\r\n', 'a\n', 'a\r', 'x\n\na']) assert.equal(atEventBoundary(tail(s)), false, JSON.stringify(s));
});
