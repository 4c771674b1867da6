import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LOGGER = fileURLToPath(new URL('../../src/observability/logger.js', import.meta.url));

/** Run a snippet that has `createLogger` in scope in a child process; resolve with its stderr. */
function runChild(body: string): Promise<{ code: number | null; stderr: string }> {
  const script = `import { createLogger } from ${JSON.stringify(LOGGER)};\n${body}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

test('stderr logger: lines of one turn and of later turns all arrive, in order', async () => {
  const r = await runChild(`
    const log = createLogger({ json: false });
    log.info('first');
    log.event('proxy.response', { method: 'POST', path: '/v1/chat/completions', status: 200, latency_ms: 1.5, virtual_key_id: 'k1', model: 'm', backend: 'b', request_id: 'r1' });
    setTimeout(() => { log.warn('later'); }, 10);
  `);
  assert.equal(r.code, 0);
  const lines = r.stderr.trimEnd().split('\n').map((l) => l.replace(/^\S+ /, ''));
  assert.deepEqual(lines, [
    'first',
    'POST /v1/chat/completions 200 1.5ms key=k1 model=m backend=b request_id=r1',
    'warning: later',
  ]);
});

test('stderr logger: lines logged just before process.exit are not lost', async () => {
  const r = await runChild(`
    const log = createLogger({ json: true });
    for (let i = 0; i < 3; i++) log.event('proxy.response', { n: i });
    process.exit(3);
  `);
  assert.equal(r.code, 3);
  const events = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { event: string; payload: { n: number }; ts_ms: number });
  assert.deepEqual(events.map((e) => e.payload.n), [0, 1, 2]);
  for (const e of events) {
    assert.equal(e.event, 'proxy.response');
    assert.equal(typeof e.ts_ms, 'number');
  }
});

test('stderr logger: a burst larger than the batch limit is written whole', async () => {
  const r = await runChild(`
    const log = createLogger({ json: false });
    for (let i = 0; i < 2000; i++) log.info('line ' + i + ' ' + 'x'.repeat(60));
  `);
  assert.equal(r.code, 0);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 2000);
  lines.forEach((l, i) => assert.ok(l.includes(` line ${i} `), `line ${i} out of order: ${l.slice(0, 60)}`));
});
