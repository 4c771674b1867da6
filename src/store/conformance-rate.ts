import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CaseContext } from './conformance.js';
import type { AdmitRequest, AdmitResult, RateDenial, RateState, Store } from './store.js';

/** Rate-limit cases of the conformance suite (§4.7, §7.5). */

let seq = 0;
/** A unique request id per admission. */
export function rid(tag = 'r'): string {
  return `${tag}-${++seq}`;
}

/** Admit with a fresh request id. */
export function admit(store: Store, req: Omit<AdmitRequest, 'requestId' | 'owner'> & { requestId?: string }): Promise<AdmitResult> {
  return store.admit({ requestId: req.requestId ?? rid(), owner: 'conformance', ...req });
}

/** Assert an admission was allowed and return its rate states. */
export function allowed(r: AdmitResult): RateState[] {
  assert.equal(r.allowed, true, `expected allowed, got ${JSON.stringify(r)}`);
  return r.allowed ? r.rate : [];
}

/** Assert a rate denial and return it. */
export function rateDenied(r: AdmitResult): RateDenial {
  assert.ok(!r.allowed && r.reason === 'rate_limited', `expected rate_limited, got ${JSON.stringify(r)}`);
  return r.rate;
}

function state(states: RateState[], scope: string, dimension: 'requests' | 'tokens'): RateState {
  const s = states.find((x) => x.scope === scope && x.dimension === dimension);
  assert.ok(s, `no ${dimension} state for ${scope}`);
  return s;
}

/** Deterministic PRNG (mulberry32) for the randomized window property. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function rateCases(ctx: CaseContext): void {
  test('rpm admits exactly N, then denies with limit, remaining, reset and retry-after', () => ctx.withStore(async ({ store }) => {
    for (let i = 1; i <= 5; i++) {
      const s = state(allowed(await admit(store, { rate: [{ scope: 'k1', rpm: 5 }] })), 'k1', 'requests');
      assert.equal(s.limit, 5);
      assert.equal(s.remaining, 5 - i);
      assert.ok(s.resetMs > 60_000 - 1 && s.resetMs <= 60_500, `resetMs ${s.resetMs}`);
    }
    const d = rateDenied(await admit(store, { rate: [{ scope: 'k1', rpm: 5 }] }));
    assert.deepEqual({ scope: d.scope, dimension: d.dimension, limit: d.limit, remaining: d.remaining, requested: d.requested, satisfiable: d.satisfiable },
      { scope: 'k1', dimension: 'requests', limit: 5, remaining: 0, requested: 1, satisfiable: true });
    assert.ok(d.retryAfterMs > 59_000 && d.retryAfterMs <= 60_500, `retryAfterMs ${d.retryAfterMs}`);
  }));

  test('no boundary burst: N at the end of a minute block the next minute until they age out', () => ctx.withStore(async ({ store }, clock) => {
    const rule = { rate: [{ scope: 'k', rpm: 10 }] };
    clock.advance(59_000);
    for (let i = 0; i < 10; i++) allowed(await admit(store, rule));
    clock.advance(2_000); // a new fixed minute would reset here
    const d = rateDenied(await admit(store, rule));
    assert.equal(d.retryAfterMs, 58_500);
    clock.advance(d.retryAfterMs - 1);
    rateDenied(await admit(store, rule));
    clock.advance(1);
    allowed(await admit(store, rule));
  }));

  test('at most N in any rolling 60 s, and a denial only when the last 60.5 s are full (randomized)', () => ctx.withStore(async ({ store }, clock) => {
    const limit = 12;
    const rand = prng(42);
    const admitted: number[] = [];
    const denied: number[] = [];
    for (let i = 0; i < 600; i++) {
      clock.advance(Math.floor(rand() * 4_000));
      const r = await admit(store, { rate: [{ scope: 'p', rpm: limit }] });
      (r.allowed ? admitted : denied).push(clock.t);
    }
    const inSpan = (t: number, span: number) => admitted.filter((a) => a > t - span && a <= t).length;
    for (const t of admitted) assert.ok(inSpan(t, 60_000) <= limit, `more than ${limit} in the minute ending ${t}`);
    for (const t of denied) assert.ok(inSpan(t, 60_501) >= limit, `denied at ${t} with room in the last 60.5 s`);
    assert.ok(admitted.length > 100 && denied.length > 50, 'the run exercised both outcomes');
  }));

  test('tpm charges the token estimate; an ask above the limit is unsatisfiable; rpm 0 and tpm 0 reject all', () => ctx.withStore(async ({ store }) => {
    const rule = { scope: 'k', tpm: 100 };
    let s = state(allowed(await admit(store, { rate: [rule], tokens: 60 })), 'k', 'tokens');
    assert.equal(s.remaining, 40);
    s = state(allowed(await admit(store, { rate: [rule], tokens: 40 })), 'k', 'tokens');
    assert.equal(s.remaining, 0);
    let d = rateDenied(await admit(store, { rate: [rule], tokens: 1 }));
    assert.equal(d.dimension, 'tokens');
    assert.equal(d.satisfiable, true);
    d = rateDenied(await admit(store, { rate: [{ scope: 'other', tpm: 100 }], tokens: 101 }));
    assert.deepEqual([d.satisfiable, d.retryAfterMs], [false, 60_000]);
    d = rateDenied(await admit(store, { rate: [{ scope: 'z1', rpm: 0 }] }));
    assert.deepEqual([d.limit, d.satisfiable], [0, false]);
    rateDenied(await admit(store, { rate: [{ scope: 'z2', tpm: 0 }], tokens: 0 }));
    allowed(await admit(store, { rate: [{ scope: 'z3', tpm: 5 }], tokens: 0 }));
  }));

  test('release refunds rpm and tpm; settle does not; refundRate:false keeps them', () => ctx.withStore(async ({ store }) => {
    const rule = { rate: [{ scope: 'k', rpm: 3, tpm: 100 }], tokens: 30 };
    const a = rid();
    allowed(await admit(store, { ...rule, requestId: a }));
    assert.equal((await store.release(a)).outcome, 'released');
    let states = allowed(await admit(store, { ...rule, requestId: rid() }));
    assert.equal(state(states, 'k', 'requests').remaining, 2, 'the released request no longer counts');
    assert.equal(state(states, 'k', 'tokens').remaining, 70);
    const b = rid();
    allowed(await admit(store, { ...rule, requestId: b }));
    await store.release(b, { refundRate: false });
    const c = rid();
    states = allowed(await admit(store, { ...rule, requestId: c }));
    assert.equal(state(states, 'k', 'requests').remaining, 0);
    await store.settle(c, { tokens: 5, micros: 0 });
    rateDenied(await admit(store, rule));
  }));

  test('settle with rateTokens corrects the tpm charge to actual usage', () => ctx.withStore(async ({ store }) => {
    const a = rid();
    allowed(await admit(store, { requestId: a, rate: [{ scope: 'k', tpm: 100 }], tokens: 80 }));
    await store.settle(a, { tokens: 10, micros: 0, rateTokens: 10 });
    let s = state(allowed(await admit(store, { rate: [{ scope: 'k', tpm: 100 }], tokens: 0 })), 'k', 'tokens');
    assert.equal(s.remaining, 90);
    const b = rid();
    allowed(await admit(store, { requestId: b, rate: [{ scope: 'k', tpm: 100 }], tokens: 10 }));
    await store.settle(b, { tokens: 50, micros: 0, rateTokens: 50 });
    s = state(allowed(await admit(store, { rate: [{ scope: 'k', tpm: 100 }], tokens: 0 })), 'k', 'tokens');
    assert.equal(s.remaining, 40);
  }));

  test('several scopes are all-or-nothing: a denial by one consumes none', () => ctx.withStore(async ({ store }) => {
    const rule = { rate: [{ scope: 'key-a', rpm: 100, tpm: 10_000 }, { scope: 'tenant:t', rpm: 3 }], tokens: 10 };
    for (let i = 0; i < 3; i++) allowed(await admit(store, rule));
    const d = rateDenied(await admit(store, rule));
    assert.equal(d.scope, 'tenant:t');
    rateDenied(await admit(store, rule));
    const states = allowed(await admit(store, { rate: [{ scope: 'key-a', rpm: 100, tpm: 10_000 }], tokens: 10 }));
    assert.equal(state(states, 'key-a', 'requests').remaining, 96, 'denied requests did not count on the key');
    assert.equal(state(states, 'key-a', 'tokens').remaining, 10_000 - 40);
  }));

  test('a budget denial consumes no rate', () => ctx.withStore(async ({ store }) => {
    const denied = await admit(store, {
      rate: [{ scope: 'k', rpm: 2 }], budgets: [{ scope: 'k', totalTokens: 5 }], tokens: 10,
    });
    assert.ok(!denied.allowed && denied.reason === 'budget_exceeded');
    const s = state(allowed(await admit(store, { rate: [{ scope: 'k', rpm: 2 }] })), 'k', 'requests');
    assert.equal(s.remaining, 1);
  }));

  test('exact under concurrency: 200 simultaneous requests, two clients, rpm 50 → exactly 50', () => ctx.withStore(async (h) => {
    const other = await h.replica();
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      admit(i % 2 === 0 ? h.store : other, { rate: [{ scope: 'shared', rpm: 50 }, { scope: `key-${i % 4}`, rpm: 1000 }] })));
    assert.equal(results.filter((r) => r.allowed).length, 50);
    for (const r of results) if (!r.allowed) assert.equal(rateDenied(r).scope, 'shared');
  }));
}
