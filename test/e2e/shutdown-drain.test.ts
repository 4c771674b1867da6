import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { startTestGateway } from '../helpers/gateway.js';
import { startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { gate, KEY, TOKEN } from './routing-support.js';

// Drain details of graceful shutdown (CONTRACT §7.4) on an in-process gateway: idle keep-alive
// connections close at once, a connection whose response ends during the drain closes too (it takes
// no new request), the others finish, then shutdown resolves.

let up: MockUpstream;
const gates = new Map<string, ReturnType<typeof gate>>();

before(async () => {
  up = await startUpstream();
  up.handle(async (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: 1\n\n');
    await gates.get(String(req.headers['x-request-id']))?.wait();
    res.end('data: [DONE]\n\n');
  });
});

after(async () => {
  for (const g of gates.values()) g.open();
  await up?.close();
});

/** A streamed request on `agent`; resolves once the first chunk arrived, with the whole text to come. */
function send(url: string, agent: Agent, id: string): Promise<{ res: IncomingMessage; socket: Socket; text: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/chat/completions`, {
      agent, method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-request-id': id },
    }, (res) => {
      let text = '';
      const done = new Promise<string>((resolveText, rejectText) => {
        res.once('end', () => resolveText(text));
        res.once('aborted', () => rejectText(new Error(`${id} was cut off`)));
      });
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (text === '') resolve({ res, socket: req.socket as Socket, text: done });
        text += c;
      });
    });
    req.once('error', reject);
    req.end(JSON.stringify({ model: 'm', stream: true, messages: [] }));
  });
}

test('draining: idle and finished keep-alive connections close, open streams finish, then shutdown resolves', { timeout: 60_000 }, async () => {
  const gw = await startTestGateway({ backends: [{ name: 'p', base_url: up.baseUrl }], virtual_keys: [KEY], router: { default_backends: [{ backend: 'p' }] } });
  const agent = new Agent({ keepAlive: true, maxSockets: 10 });
  const idleAgent = new Agent({ keepAlive: true });
  try {
    // An idle keep-alive connection from an earlier request.
    gates.set('idle', gate());
    (gates.get('idle') as ReturnType<typeof gate>).open();
    const idle = await send(gw.url, idleAgent, 'idle');
    assert.equal(await idle.text, 'data: 1\n\ndata: [DONE]\n\n');
    assert.equal(idle.socket.destroyed, false, 'kept alive before shutdown');

    gates.set('a', gate());
    gates.set('b', gate());
    const a = await send(gw.url, agent, 'a');
    const b = await send(gw.url, agent, 'b');
    assert.notEqual(a.socket, b.socket);
    let resolved = false;
    const stopping = gw.shutdown(30_000).then(() => { resolved = true; });
    if (!idle.socket.destroyed) await once(idle.socket, 'close');

    await assert.rejects(fetch(`${gw.url}/health`), 'new connections are refused');

    (gates.get('a') as ReturnType<typeof gate>).open();
    assert.equal(await a.text, 'data: 1\n\ndata: [DONE]\n\n');
    if (!a.socket.destroyed) await once(a.socket, 'close');
    assert.equal(resolved, false, 'still draining while b streams');
    assert.equal(b.socket.destroyed, false);

    (gates.get('b') as ReturnType<typeof gate>).open();
    assert.equal(await b.text, 'data: 1\n\ndata: [DONE]\n\n');
    await stopping;
    assert.equal(resolved, true);
  } finally {
    for (const g of gates.values()) g.open();
    agent.destroy();
    idleAgent.destroy();
    await gw.close();
  }
});
