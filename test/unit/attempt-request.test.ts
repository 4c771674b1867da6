import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RequestAbort } from '../../src/pipeline/abort.js';
import { AttemptRequest } from '../../src/upstream/types.js';

const TYPES = fileURLToPath(new URL('../../src/upstream/types.js', import.meta.url));
const ABORT = fileURLToPath(new URL('../../src/pipeline/abort.js', import.meta.url));

test('an attempt request builds its standard AbortSignal only when read, and it follows the request abort', () => {
  const abort = new RequestAbort();
  const req = new AttemptRequest('POST', '/v1/chat/completions', '', {}, Buffer.from('{}'), {}, 'r1', abort, undefined);
  assert.equal(Object.getOwnPropertyDescriptor(req, 'signal'), undefined, 'signal is a prototype getter, not an own property');
  assert.equal(req.abort, abort);
  const signal = req.signal;
  assert.equal(signal.aborted, false);
  abort.abort();
  assert.equal(signal.aborted, true);
  assert.equal(req.signal, signal, 'the same signal every time');
});

// Why a class (src/upstream/types.ts): an object literal with a getter made every finished request survive
// scavenges and get promoted (~5 KB per request in the gateway). The child process builds 2,000 "requests"
// (each with ~200 young objects reachable from its abort's closure), drops them, runs three minor GCs and
// measures how much old space grew: with the attempt class the requests die young; the object-literal form it
// replaced is measured too, to show that the method sees the retention (so this test fails on a return to it).
test('finished attempt requests die in the young generation (the object-literal getter kept them until a full GC)', () => {
  const script = `
    import v8 from 'node:v8';
    const { AttemptRequest } = await import(${JSON.stringify(TYPES)});
    const { RequestAbort } = await import(${JSON.stringify(ABORT)});
    const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
    function run(kind) {
      gc();
      const before = old();
      let sink = 0;
      for (let i = 0; i < 2000; i++) {
        const ctx = { payload: Array.from({ length: 200 }, (_, k) => ({ k })), abort: new RequestAbort() };
        const req = kind === 'literal'
          ? { method: 'POST', requestId: 'r' + i, abort: ctx.abort, get signal() { return ctx.abort.signal; } }
          : new AttemptRequest('POST', '/v1/x', '', {}, undefined, undefined, 'r' + i, ctx.abort, undefined);
        sink += req.requestId.length;
      }
      gc({ type: 'minor' }); gc({ type: 'minor' }); gc({ type: 'minor' });
      return Math.round((old() - before) / 1024);
    }
    const kind = process.argv[1];
    console.log(JSON.stringify(Math.max(run(kind), run(kind))));
  `;
  // One process per form: V8's allocation-site feedback from one form must not shape the other's allocations.
  const measure = (kind: string): number => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script, kind], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim()) as number;
  };
  const kib = { literal: measure('literal'), attempt: measure('attempt') };
  // 2,000 requests × ~200 objects ≈ 6+ MiB when retained.
  assert.ok(kib.literal > 1024, `the measurement sees retention: the object-literal form promoted ${kib.literal} KiB`);
  assert.ok(kib.attempt < 512, `attempt requests were promoted: ${kib.attempt} KiB of old space after three minor GCs`);
});
