import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { chat, eventFor, gate, KEY, TOKEN } from './routing-support.js';

// Global in-flight permits (CONTRACT §4.6): held from body read to response end, streams included;
// exhausted → 429 inflight_limit; released on completion and on client abort alike.

let up: MockUpstream;
let gw: TestGateway;
const gates = new Map<string, ReturnType<typeof gate>>();

before(async () => {
  up = await startUpstream();
  up.handle(async (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: 1\n\n');
    await gates.get(String(req.headers['x-request-id']))?.wait();
    res.end('data: [DONE]\n\n');
  });
  gw = await startTestGateway({ backends: [{ name: 'p', base_url: up.baseUrl }], virtual_keys: [KEY], router: { default_backends: [{ backend: 'p' }] } }, { maxInFlight: 2 });
});

after(async () => {
  for (const g of gates.values()) g.open();
  await gw?.close();
  await up?.close();
});

/** Open a stream held by its own gate; resolves after the first chunk. */
async function held(id: string): Promise<{ res: IncomingMessage; release: () => void; abort: () => void }> {
  const g = gate();
  gates.set(id, g);
  const req = request(`${gw.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-request-id': id },
  });
  req.on('error', () => undefined);
  req.end(JSON.stringify({ model: 'm', stream: true, messages: [] }));
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  await once(res, 'data');
  return { res, release: g.open, abort: () => req.destroy() };
}

test('open streams hold their permits; the next request gets 429 inflight_limit until one ends', { timeout: 60_000 }, async () => {
  const a = await held('if-a');
  const b = await held('if-b');
  const before = up.requests.length;
  const r = await chat(gw, 'm');
  assert.equal(r.status, 429);
  assert.equal(r.json().error?.code, 'inflight_limit');
  assert.equal(r.json().error?.type, 'rate_limit_error');
  assert.equal(r.json().error?.message, 'too many in-flight proxy requests');
  assert.equal(up.requests.length, before, 'rejected before any upstream call');
  // Health endpoints take no permit.
  assert.equal((await fetch(`${gw.url}/health`)).status, 200);

  const ended = once(a.res.resume(), 'end');
  a.release();
  await ended;
  await eventFor(gw, 'proxy.response', 'if-a');
  const ok = await chat(gw, 'm', { 'x-request-id': 'if-c' });
  assert.equal(ok.status, 200);

  // A client that walks away releases its permit too.
  b.abort();
  await eventFor(gw, 'proxy.response', 'if-b');
  const c = await held('if-d');
  const d = await held('if-e');
  const full = await chat(gw, 'm');
  assert.equal(full.status, 429);
  c.release();
  d.release();
  await Promise.all([once(c.res.resume(), 'end'), once(d.res.resume(), 'end')]);
});
