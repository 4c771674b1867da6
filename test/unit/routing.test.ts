import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fnv1a64Big, fnv1a64Unit } from '../../src/routing/fnv.js';
import { orderCandidates, Router } from '../../src/routing/router.js';

test('fnv1a64Unit matches the BigInt reference on many inputs', () => {
  const inputs = ['', 'a', 'ditto-1700000000000-1', 'ünïcödé ✓', 'x'.repeat(300)];
  for (let i = 0; i < 500; i++) inputs.push(`req-${i}-${(i * 7919) % 1000}`);
  for (const s of inputs) {
    const h = fnv1a64Big(s);
    const expected = Number(h >> 11n) / 2 ** 53;
    assert.equal(fnv1a64Unit(s), expected, `input ${JSON.stringify(s)}`);
  }
  // Known FNV-1a 64 vector: "a" → 0xaf63dc4c8601ec8c
  assert.equal(fnv1a64Big('a'), 0xaf63dc4c8601ec8cn);
});

test('orderCandidates: weighted primary, rest in config order, deterministic per seed', () => {
  const cands = [{ backend: 'a', weight: 9 }, { backend: 'b', weight: 1 }];
  const counts = { a: 0, b: 0 };
  for (let i = 0; i < 2000; i++) {
    const order = orderCandidates(cands, `seed-${i}`);
    assert.equal(order.length, 2);
    counts[order[0] as 'a' | 'b']++;
    assert.deepEqual(orderCandidates(cands, `seed-${i}`), order);
  }
  assert.ok(counts.a > 1650 && counts.a < 1950, `a picked ${counts.a}/2000`);
  assert.deepEqual(orderCandidates([{ backend: 'x', weight: 0 }, { backend: '', weight: 1 }, { backend: 'y', weight: 1 }], 's'), ['y']);
});

test('Router precedence: exact rule, then first prefix rule, then defaults', () => {
  const r = new Router({
    default_backends: [{ backend: 'd', weight: 1 }],
    rules: [
      { model_prefix: 'gpt-4', exact: false, backend: 'p1', backends: null, guardrails: null },
      { model_prefix: 'gpt-4o', exact: true, backend: 'e', backends: null, guardrails: null },
      { model_prefix: 'claude*', exact: false, backend: '', backends: [{ backend: 'c1', weight: 1 }, { backend: 'c2', weight: 1 }], guardrails: null },
    ],
  });
  assert.deepEqual(r.match('gpt-4o').candidates.map((c) => c.backend), ['e']);
  assert.deepEqual(r.match('gpt-4o-mini').candidates.map((c) => c.backend), ['p1']);
  assert.deepEqual(r.match('claude-3').candidates.map((c) => c.backend), ['c1', 'c2']);
  assert.deepEqual(r.match('llama').candidates.map((c) => c.backend), ['d']);
  assert.deepEqual(r.match(undefined).candidates.map((c) => c.backend), ['d']);
});
