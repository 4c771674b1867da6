import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BUCKET_MS, WINDOW_BUCKETS, addToWindow, advanceWindow, bucketOf, emptyWindow, parseWindow, removeFromWindow,
  resetAfterMs, retryAfterMs, serializeWindow,
} from '../../src/store/window.js';

test('window: 121 buckets of 500 ms are counted; a bucket leaves exactly 60.5 s after it starts', () => {
  assert.equal(WINDOW_BUCKETS * BUCKET_MS, 60_000);
  const t0 = 1_000_000_000;
  const w = emptyWindow(bucketOf(t0));
  addToWindow(w, advanceWindow(w, bucketOf(t0)), 3);
  advanceWindow(w, bucketOf(t0 + 60_499));
  assert.equal(w.total, 3);
  assert.equal(resetAfterMs(w, t0), 60_500);
  advanceWindow(w, bucketOf(t0 + 60_500));
  assert.equal(w.total, 0);
  assert.equal(w.buckets.size, 0);
});

test('window: retry-after walks buckets oldest first; unsatisfiable asks return null', () => {
  const t0 = 2_000_000_000;
  const w = emptyWindow(bucketOf(t0));
  addToWindow(w, bucketOf(t0), 2);
  addToWindow(w, bucketOf(t0 + 10_000), 3);
  assert.equal(retryAfterMs(w, t0 + 20_000, 5, 1), 60_500 - 20_000);
  assert.equal(retryAfterMs(w, t0 + 20_000, 5, 3), 70_500 - 20_000);
  assert.equal(retryAfterMs(w, t0 + 20_000, 10, 5), 0);
  assert.equal(retryAfterMs(w, t0, 5, 6), null);
  assert.equal(retryAfterMs(w, t0, 0, 0), null);
});

test('window: a clock stepping back counts as standing still; refunds never go negative or touch expired buckets', () => {
  const w = emptyWindow(1000);
  addToWindow(w, advanceWindow(w, 1000), 4);
  assert.equal(advanceWindow(w, 900), 1000);
  removeFromWindow(w, 1000, 10);
  assert.equal(w.total, 0);
  addToWindow(w, 1000, 2);
  advanceWindow(w, 1000 + WINDOW_BUCKETS + 1);
  removeFromWindow(w, 1000, 2);
  assert.equal(w.total, 0);
});

test('window: serialised form round-trips; malformed rows are rejected', () => {
  const w = emptyWindow(50);
  addToWindow(w, 50, 7);
  addToWindow(w, 49, 1);
  const back = parseWindow(serializeWindow(w));
  assert.deepEqual(back, w);
  for (const bad of ['', '[]', '{"o":1,"n":2}', '{"o":1,"n":2,"b":[[1,-1]]}', '{"o":1.5,"n":2,"b":[]}', '{"o":1,"n":2,"b":[[1]]}']) {
    assert.equal(parseWindow(bad), null, bad);
  }
});

test('resetAfterMs (fast path via the newest bucket) equals a scan of every bucket, over random histories and round trips', () => {
  const reference = (w: { buckets: Map<number, number> }, now: number): number => {
    const keys = [...w.buckets.keys()];
    if (keys.length === 0) return 0;
    return Math.max(0, (Math.max(...keys) + WINDOW_BUCKETS + 1) * BUCKET_MS - now);
  };
  let seed = 42;
  const rnd = (n: number): number => { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  let checked = 0;
  for (let run = 0; run < 300; run++) {
    let now = 1_700_000_000_000 + rnd(1_000_000);
    let w = emptyWindow(bucketOf(now));
    const added: number[] = [];
    for (let step = 0; step < 60; step++) {
      now += rnd(4) === 0 ? rnd(70_000) : rnd(900);
      const cur = advanceWindow(w, bucketOf(now));
      const op = rnd(5);
      if (op <= 2) {
        addToWindow(w, cur, rnd(3)); // 0 adds nothing: the newest bucket may stay empty
        added.push(cur);
      } else if (op === 3 && added.length > 0) {
        removeFromWindow(w, added[rnd(added.length)] as number, rnd(4));
      } else if (op === 4) {
        w = parseWindow(serializeWindow(w)) ?? assert.fail('round trip');
      }
      assert.equal(resetAfterMs(w, now), reference(w, now));
      checked++;
    }
  }
  assert.equal(checked, 300 * 60);
  // Stored data whose newest marker lags its buckets still answers by the real newest bucket.
  const odd = parseWindow(JSON.stringify({ o: 0, n: 10, b: [[5, 1], [40, 2]] }));
  assert.ok(odd);
  assert.equal(resetAfterMs(odd, 0), reference(odd, 0));
});
