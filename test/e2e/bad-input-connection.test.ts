/**
 * Hostile or broken clients at the connection level: oversize headers (431), header injection and
 * request-smuggling attempts (400), a slowloris client (closed while others are served), and
 * clients that vanish mid-body (no crash, no leaked permit, no internal error). After each case
 * `/health` still answers.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, afterEach, before, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { assertHealthy, errorOf, passthroughConfig, raw, sdk, until, VK_TOKEN } from './proxy-kit.js';

let up: MockUpstream;
let gw: TestGateway;
let port: number;

const LIMIT = 1024 * 1024;

before(async () => {
  up = await startUpstream({ streamBody: true });
  up.handle((req, res) => {
    req.resume();
    req.on('end', () => sendJson(res, 200, chatCompletion('ok')));
  });
  gw = await startTestGateway(passthroughConfig(up.baseUrl), { maxBodyBytes: LIMIT });
  port = Number(new URL(gw.url).port);
});

afterEach(async () => {
  await assertHealthy(gw.url);
  assert.deepEqual(internalErrors(), [], 'no internal errors logged');
});

after(async () => {
  await gw?.close();
  await up?.close();
});

function internalErrors(): string[] {
  return gw.events()
    .filter((e) => e.event === 'gateway.error' || e.payload['outcome'] === 'internal_error')
    .map((e) => JSON.stringify(e.payload));
}

/**
 * Send raw bytes (a string is written as latin1, one byte per char) on a new connection; resolve
 * with everything received once the server closes. `halfClose` sends FIN after the bytes, fine for
 * requests the server refuses; a valid request must say `Connection: close` instead (Node's server
 * drops a request whose client half-closes).
 */
function sendRaw(bytes: string | Buffer, halfClose = true): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(got));
    sock.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    if (halfClose) sock.end();
  });
}

function statusLine(response: string): string {
  return response.slice(0, response.indexOf('\r\n'));
}

function bodyOf(response: string): Record<string, unknown> {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
}

test('one huge header: 431 with a JSON body', async () => {
  const r = await raw(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VK_TOKEN}`, 'content-type': 'application/json', 'x-huge': 'h'.repeat(40 * 1024) },
    body: '{"model":"gpt-4o"}',
  });
  assert.equal(r.status, 431);
  assert.equal(errorOf(r).code, 'request_too_large');
  assert.equal(errorOf(r).type, 'invalid_request_error');
});

test('many headers adding up past the limit: 431', async () => {
  const headers: Record<string, string> = { authorization: `Bearer ${VK_TOKEN}` };
  for (let i = 0; i < 64; i++) headers[`x-filler-${i}`] = 'f'.repeat(1024);
  const r = await raw(`${gw.url}/v1/models`, { headers });
  assert.equal(r.status, 431);
  assert.equal(errorOf(r).code, 'request_too_large');
});

test('header injection: bare CR, bare LF, obsolete line folding and control bytes are refused with 400', async () => {
  const before = up.requests.length;
  const body = '{"model":"gpt-4o","messages":[]}';
  const tail = `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${VK_TOKEN}\r\n`;
  for (const evil of [
    'X-Evil: a\rX-Injected: b\r\n',
    'X-Evil: a\nX-Injected: b\r\n',
    'X-Evil: a\r\n X-Injected: b\r\n',
    'X-Evil: a\u0001b\r\n',
    'X-Evil: a\u0000b\r\n',
    'X Evil: a\r\n',
  ]) {
    const res = await sendRaw(head + evil + tail);
    assert.match(statusLine(res), /^HTTP\/1\.1 400 /, JSON.stringify(evil));
    assert.equal((bodyOf(res)['error'] as { type: string }).type, 'invalid_request_error');
  }
  assert.equal(up.requests.length, before, 'nothing reached the upstream');
});

test('request smuggling: conflicting content-length / transfer-encoding is refused with 400', async () => {
  const before = up.requests.length;
  const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${VK_TOKEN}\r\nContent-Type: application/json\r\n`;
  const smuggled = 'GET /v1/models HTTP/1.1\r\nHost: gw\r\n\r\n';
  for (const framing of [
    `Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    `Content-Length: 4\r\nContent-Length: 40\r\n\r\n{}{}${smuggled}`,
    `Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
    `Content-Length: -1\r\n\r\n`,
    `Content-Length: 1e3\r\n\r\n`,
  ]) {
    const res = await sendRaw(head + framing);
    assert.match(statusLine(res), /^HTTP\/1\.1 400 /, JSON.stringify(framing));
    assert.equal(res.split('HTTP/1.1 ').length - 1, 1, 'exactly one response: the smuggled request was not served');
  }
  assert.equal(up.requests.length, before);
});

test('percent-encoded CR/LF in the path stays encoded upstream and injects nothing', async () => {
  const before = up.requests.length;
  const r = await raw(`${gw.url}/v1/files/x%0d%0aX-Injected:%20yes?q=%0d%0aX-Injected2:%20yes`, { headers: { authorization: `Bearer ${VK_TOKEN}` } });
  assert.equal(r.status, 200);
  const seen = up.requests[before]!;
  assert.equal(seen.url, '/v1/files/x%0d%0aX-Injected:%20yes?q=%0d%0aX-Injected2:%20yes');
  assert.equal(seen.headers['x-injected'], undefined);
  assert.equal(seen.headers['x-injected2'], undefined);
});

test('an odd but legal client x-request-id is echoed safely and sent upstream as is', async () => {
  const before = up.requests.length;
  const res = await sendRaw(`GET /v1/files/f HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${VK_TOKEN}\r\nX-Request-Id: caf\u00e9 "q" <x>\r\nConnection: close\r\n\r\n`, false);
  assert.match(statusLine(res), /^HTTP\/1\.1 200 /);
  assert.match(res, /\r\nx-request-id: caf\u00e9 "q" <x>\r\n/i);
  assert.equal(up.requests[before]!.headers['x-request-id'], 'caf\u00e9 "q" <x>');
});

// The header timeout is lowered to 1.5 s for the test. The 20 s test timeout is not a performance
// bound: with Node's default 30 s connection-check interval the socket would stay open ~30 s.
test('slowloris: headers sent a byte at a time past the header timeout get closed; others are served meanwhile', { timeout: 20_000 }, async () => {
  const previous = gw.server.headersTimeout;
  gw.server.headersTimeout = 1500;
  const sock: Socket = connect(port, '127.0.0.1');
  let received = '';
  sock.on('data', (d: Buffer) => { received += d.toString('latin1'); });
  sock.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  const prefix = `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${VK_TOKEN}\r\nX-Slow: `;
  let i = 0;
  const drip = setInterval(() => {
    if (sock.destroyed || !sock.writable) return;
    sock.write(i < prefix.length ? prefix[i]! : 'z');
    i++;
  }, 50);
  try {
    // While the slow client is dripping, the gateway keeps serving everyone else.
    for (let n = 0; n < 3; n++) {
      await assertHealthy(gw.url);
      const r = await sdk(gw.url).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(r.choices[0]?.message.content, 'ok');
    }
    await closed;
  } finally {
    clearInterval(drip);
    sock.destroy();
    gw.server.headersTimeout = previous;
  }
  assert.ok(i > 0);
  assert.match(statusLine(received), /^HTTP\/1\.1 408 /);
  assert.equal((bodyOf(received)['error'] as { message: string }).message, 'request not received in time');
});

test('a client that disconnects mid-body (buffered JSON): no upstream call, permit released, no internal error', async () => {
  const before = up.requests.length;
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  sock.on('error', () => undefined);
  sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${VK_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 500000\r\n\r\n{"model":"gpt-4o","x":"`);
  sock.write('a'.repeat(100_000));
  await until(() => gw.gw.inFlight === 1, 'the request to be admitted');
  sock.destroy();
  await until(() => gw.gw.inFlight === 0, 'the permit to be released');
  await until(() => gw.events().some((e) => e.payload['outcome'] === 'client_aborted' && e.payload['path'] === '/v1/chat/completions'), 'the client_aborted access event');
  assert.equal(up.requests.length, before);
});

test('a client that disconnects mid-upload (streamed multipart): the upstream request is aborted too', async () => {
  const before = up.requests.length;
  let upstreamEnded: ((how: string) => void) | undefined;
  const upstreamOutcome = new Promise<string>((resolve) => { upstreamEnded = resolve; });
  let upstreamBytes = 0;
  up.handle((req) => {
    req.on('data', (c: Buffer) => { upstreamBytes += c.length; });
    req.on('end', () => upstreamEnded?.('complete'));
    req.on('error', () => upstreamEnded?.('aborted'));
    req.on('close', () => { if (!req.complete) upstreamEnded?.('aborted'); });
  });
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  sock.on('error', () => undefined);
  sock.write(`POST /v1/files HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${VK_TOKEN}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${8 * LIMIT}\r\n\r\n`);
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  while (upstreamBytes < LIMIT) {
    sock.write(chunk);
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
  sock.destroy();
  assert.equal(await upstreamOutcome, 'aborted');
  assert.equal(up.requests.length, before + 1);
  await until(() => gw.gw.inFlight === 0, 'the permit to be released');
  up.handle((req, res) => {
    req.resume();
    req.on('end', () => sendJson(res, 200, chatCompletion('ok')));
  });
});
