import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker, type BreakerPolicy } from '../../src/routing/breaker.js';

const NET = { kind: 'network', message: 'ECONNREFUSED' } as const;
const TIMEOUT = { kind: 'timeout', message: 'UND_ERR_HEADERS_TIMEOUT' } as const;

function breaker(over: Partial<BreakerPolicy> = {}): { cb: CircuitBreaker; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  const policy: BreakerPolicy = {
    threshold: 3, cooldownMs: 30_000, countNetwork: true, countTimeout: true, countServerErrors: true, extraStatusCodes: new Set(), ...over,
  };
  return { cb: new CircuitBreaker(policy, () => clock.t), clock };
}

test('opens at the threshold of consecutive failures and stays open for the cooldown', () => {
  const { cb, clock } = breaker();
  cb.recordFailure('a', NET);
  cb.recordFailure('a', TIMEOUT);
  assert.equal(cb.isOpen('a'), false);
  cb.recordFailure('a', { kind: 'status', status: 502 });
  assert.equal(cb.isOpen('a'), true);
  assert.equal(cb.isOpen('b'), false, 'state is per backend');
  clock.t += 29_999;
  assert.equal(cb.isOpen('a'), true);
  clock.t += 1;
  assert.equal(cb.isOpen('a'), false, 'tried again once the cooldown is over');
});

test('after the cooldown one failure re-opens; a success closes and resets the count', () => {
  const { cb, clock } = breaker({ threshold: 2, cooldownMs: 1000 });
  cb.recordFailure('a', NET);
  cb.recordFailure('a', NET);
  clock.t += 1000;
  assert.equal(cb.isOpen('a'), false);
  cb.recordFailure('a', NET);
  assert.equal(cb.isOpen('a'), true, 're-opened by a single failure');
  assert.equal(cb.snapshot('a').unhealthy_until_epoch_seconds, Math.ceil((clock.t + 1000) / 1000));
  clock.t += 1000;
  cb.recordSuccess('a');
  assert.equal(cb.isOpen('a'), false);
  assert.equal(cb.snapshot('a').consecutive_failures, 0);
  cb.recordFailure('a', NET);
  assert.equal(cb.isOpen('a'), false, 'a fresh run of failures is needed');
  cb.recordFailure('a', NET);
  assert.equal(cb.isOpen('a'), true);
});

test('a success in between breaks the run of consecutive failures', () => {
  const { cb } = breaker({ threshold: 2 });
  cb.recordFailure('a', NET);
  cb.recordSuccess('a');
  cb.recordFailure('a', NET);
  assert.equal(cb.isOpen('a'), false);
});

test('counts(): network, timeout, 5xx by switch, plus extra status codes', () => {
  const all = breaker().cb;
  assert.equal(all.counts(NET), true);
  assert.equal(all.counts(TIMEOUT), true);
  assert.equal(all.counts({ kind: 'status', status: 500 }), true);
  assert.equal(all.counts({ kind: 'status', status: 599 }), true);
  assert.equal(all.counts({ kind: 'status', status: 429 }), false);
  assert.equal(all.counts({ kind: 'status', status: 404 }), false);
  const none = breaker({ countNetwork: false, countTimeout: false, countServerErrors: false, extraStatusCodes: new Set([429, 503]) }).cb;
  assert.equal(none.counts(NET), false);
  assert.equal(none.counts(TIMEOUT), false);
  assert.equal(none.counts({ kind: 'status', status: 500 }), false);
  assert.equal(none.counts({ kind: 'status', status: 503 }), true);
  assert.equal(none.counts({ kind: 'status', status: 429 }), true);
  // Uncounted failures leave no trace.
  none.recordFailure('a', NET);
  none.recordFailure('a', { kind: 'status', status: 500 });
  assert.deepEqual(none.snapshot('a'), { consecutive_failures: 0, unhealthy_until_epoch_seconds: 0 });
});

test('snapshot() and reset() (for /admin/backends)', () => {
  const { cb, clock } = breaker({ threshold: 1, cooldownMs: 5000 });
  assert.deepEqual(cb.snapshot('a'), { consecutive_failures: 0, unhealthy_until_epoch_seconds: 0 });
  cb.recordFailure('a', { kind: 'status', status: 503 });
  assert.deepEqual(cb.snapshot('a'), {
    consecutive_failures: 1,
    unhealthy_until_epoch_seconds: Math.ceil((clock.t + 5000) / 1000),
    last_error: 'status 503',
    last_failure_ts_ms: clock.t,
  });
  cb.reset('a');
  assert.equal(cb.isOpen('a'), false);
  assert.deepEqual(cb.snapshot('a'), { consecutive_failures: 0, unhealthy_until_epoch_seconds: 0 });
});
