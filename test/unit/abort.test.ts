import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestAbort } from '../../src/pipeline/abort.js';

// The per-request cancellation (src/pipeline/abort.ts): undici's EventEmitter signal shape plus a
// standard AbortSignal made on demand. The e2e client-abort tests prove it reaches the upstream.

test('RequestAbort: listeners run once, in order, and a removed listener never runs', () => {
  const a = new RequestAbort();
  const calls: string[] = [];
  const first = (): void => { calls.push('first'); };
  const removed = (): void => { calls.push('removed'); };
  a.once('abort', first);
  a.on('abort', removed);
  a.on('abort', () => calls.push('third'));
  a.removeListener('abort', removed);
  assert.equal(a.listenerCount, 2);
  assert.equal(a.aborted, false);
  a.abort();
  a.abort();
  assert.deepEqual(calls, ['first', 'third']);
  assert.equal(a.aborted, true);
  assert.ok(a.reason instanceof DOMException && a.reason.name === 'AbortError');
  assert.equal(a.listenerCount, 0);
  a.on('abort', () => calls.push('late'));
  assert.equal(a.listenerCount, 0, 'a listener added after the abort is not kept (it would never run)');
});

test('RequestAbort: the standard signal follows, whether made before or after the abort', () => {
  const before = new RequestAbort();
  const s = before.signal;
  assert.equal(before.signal, s, 'one signal per request');
  let fired = 0;
  s.addEventListener('abort', () => fired++);
  const reason = new Error('gone');
  before.abort(reason);
  assert.equal(s.aborted, true);
  assert.equal(s.reason, reason);
  assert.equal(fired, 1);

  const after = new RequestAbort();
  after.abort();
  assert.equal(after.signal.aborted, true);
  assert.equal(after.signal.reason, after.reason);
  assert.equal(AbortSignal.any([after.signal]).aborted, true);
});
