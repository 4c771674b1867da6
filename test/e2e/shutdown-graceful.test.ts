import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { gate, KEY, TOKEN, until } from './routing-support.js';

// Graceful shutdown (CONTRACT §7.4) of the real CLI: on SIGTERM stop accepting, let open streams
// finish for up to --shutdown-grace-secs, cut what is left at the deadline, exit 0.

const BIN = fileURLToPath(new URL('../../../bin/ditto-gateway.js', import.meta.url));

let up: MockUpstream;
let dir: string;
let configPath: string;
/** Each stream request waits on the gate its x-request-id names, then finishes. */
const gates = new Map<string, ReturnType<typeof gate>>();

before(async () => {
  up = await startUpstream();
  up.handle(async (req, res) => {
    const id = String(req.headers['x-request-id']);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"part":1}\n\n');
    const g = gates.get(id);
    if (!g) {
      // Endless: a heartbeat every 100 ms until the gateway goes away.
      const timer = setInterval(() => res.write(': ping\n\n'), 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    await g.wait();
    res.write('data: {"part":2}\n\n');
    res.end('data: [DONE]\n\n');
  });
  dir = mkdtempSync(join(tmpdir(), 'ditto-shutdown-'));
  configPath = join(dir, 'gateway.json');
  writeFileSync(configPath, JSON.stringify({
    backends: [{ name: 'primary', base_url: up.baseUrl }],
    virtual_keys: [KEY],
    router: { default_backends: [{ backend: 'primary' }] },
  }));
});

after(async () => {
  for (const g of gates.values()) g.open();
  await up?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Cli {
  child: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

async function startCli(graceSecs: number): Promise<Cli> {
  const child = spawn(process.execPath, [BIN, configPath, '--listen', '127.0.0.1:0', '--shutdown-grace-secs', String(graceSecs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => { err += c; });
  child.stdout?.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${err}`)), 20_000);
    child.stdout?.on('data', (c: string) => {
      out += c;
      const m = /ditto-gateway listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((e) => reject(new Error(`exited early (${e.code}); stderr: ${err}`)));
  });
  return { child, port, exited, stderr: () => err };
}

/** Open a streamed request and wait for its first event. */
async function openStream(port: number, id: string): Promise<{ res: IncomingMessage; text: () => string; ended: Promise<boolean> }> {
  const body = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  const req = request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: {
    authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': id,
  } });
  req.end(body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  let text = '';
  res.setEncoding('utf8');
  const first = new Promise<void>((resolve) => res.once('data', () => resolve()));
  res.on('data', (c: string) => { text += c; });
  // true = clean end, false = cut off
  const ended = new Promise<boolean>((resolve) => {
    res.once('end', () => resolve(true));
    res.once('aborted', () => resolve(false));
    res.once('error', () => resolve(false));
    req.once('error', () => resolve(false));
  });
  await first;
  return { res, text: () => text, ended };
}

/** Whether a fresh TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function stop(cli: Cli): void {
  if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
}

test('SIGTERM: new connections are refused, the open stream completes, exit 0', { timeout: 60_000 }, async () => {
  const cli = await startCli(20);
  try {
    const g = gate();
    gates.set('drain-1', g);
    const s = await openStream(cli.port, 'drain-1');
    cli.child.kill('SIGTERM');
    await until(() => refused(cli.port), 10_000, 'new connections to be refused');
    assert.equal(cli.child.exitCode, null, 'still running while a stream is open');
    g.open();
    assert.equal(await s.ended, true, 'the stream ended cleanly');
    assert.equal(s.text(), 'data: {"part":1}\n\ndata: {"part":2}\n\ndata: [DONE]\n\n');
    const e = await cli.exited;
    assert.deepEqual(e, { code: 0, signal: null }, cli.stderr());
  } finally {
    stop(cli);
  }
});

test('a stream longer than the grace period is cut at the deadline and the process still exits 0', { timeout: 60_000 }, async () => {
  const cli = await startCli(1);
  try {
    const s = await openStream(cli.port, 'endless-1');
    const t0 = Date.now();
    cli.child.kill('SIGTERM');
    assert.equal(await s.ended, false, 'the endless stream was cut, not ended');
    const cutAfter = Date.now() - t0;
    const e = await cli.exited;
    assert.deepEqual(e, { code: 0, signal: null }, cli.stderr());
    assert.ok(cutAfter >= 900, `cut after ${cutAfter} ms, before the 1 s grace period`);
    assert.ok(s.text().startsWith('data: {"part":1}\n\n: ping\n\n'), 'the stream flowed during the grace period');
    // The gateway aborted its upstream request when it cut the client.
    await until(() => up.requests.some((r) => r.headers['x-request-id'] === 'endless-1' && r.aborted), 5_000, 'upstream abort');
  } finally {
    stop(cli);
  }
});
