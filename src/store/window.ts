/**
 * Sliding-window rate counters (CONTRACT §7.5), shared by the memory and SQLite stores; the Redis
 * Lua scripts implement the same arithmetic (`redis-lua.ts`).
 *
 * The minute is split into 500 ms buckets. A check at time `now` (bucket `cur`) counts every bucket
 * from `cur - 120` to `cur`: that span covers the whole rolling minute `(now - 60 s, now]` plus at most
 * 500 ms before it. Consequences, both tested:
 *  - never over-admits: the count is ≥ the true count of any rolling 60 s window ending now, so at most
 *    N requests are admitted in any rolling 60 s (no boundary burst);
 *  - bounded under-admission: the effective window is at most 60.5 s long, so a client pacing at the
 *    limit loses at most 0.5 / 60.5 < 0.83 % of its throughput, and a denial's `retryAfterMs` is never
 *    more than 500 ms later than an exact sliding log would say.
 * Memory per (scope, dimension) is at most 121 counters, whatever the rate.
 */

export const WINDOW_MS = 60_000;
export const BUCKET_MS = 500;
/** Buckets before the current one that still count; with the current one, 121 are counted. */
export const WINDOW_BUCKETS = WINDOW_MS / BUCKET_MS;

/** One (scope, dimension) window: counters by bucket index. `oldest` is the eviction frontier. */
export interface WindowData {
  oldest: number;
  newest: number;
  total: number;
  buckets: Map<number, number>;
}

/** The bucket index of a timestamp. */
export function bucketOf(nowMs: number): number {
  return Math.floor(nowMs / BUCKET_MS);
}

/** An empty window positioned at `cur`. */
export function emptyWindow(cur: number): WindowData {
  return { oldest: cur - WINDOW_BUCKETS, newest: cur, total: 0, buckets: new Map() };
}

/**
 * Evict buckets that left the window and return the bucket to count at. A clock that steps backwards
 * is treated as standing still (the newest bucket seen wins), so counters are never stranded.
 */
export function advanceWindow(w: WindowData, cur: number): number {
  const c = Math.max(cur, w.newest);
  w.newest = c;
  const lo = c - WINDOW_BUCKETS;
  if (w.oldest < lo) {
    for (const [b, n] of w.buckets) {
      if (b < lo) {
        w.total -= n;
        w.buckets.delete(b);
      }
    }
    w.oldest = lo;
  }
  return c;
}

/** Add `amount` at bucket `b` (no-op for 0). */
export function addToWindow(w: WindowData, b: number, amount: number): void {
  if (amount <= 0) return;
  w.buckets.set(b, (w.buckets.get(b) ?? 0) + amount);
  w.total += amount;
  if (b > w.newest) w.newest = b;
}

/** Take up to `amount` back from bucket `b` (refund or correction); a bucket that already expired is left alone. */
export function removeFromWindow(w: WindowData, b: number, amount: number): void {
  if (amount <= 0 || b < w.oldest) return;
  const have = w.buckets.get(b);
  if (have === undefined) return;
  const take = Math.min(have, amount);
  w.total -= take;
  if (have - take === 0) w.buckets.delete(b);
  else w.buckets.set(b, have - take);
}

/** When bucket `b` stops being counted. */
function expiryOf(b: number): number {
  return (b + WINDOW_BUCKETS + 1) * BUCKET_MS;
}

/** Time from `nowMs` until everything in the window has expired. */
export function resetAfterMs(w: WindowData, nowMs: number): number {
  // No bucket is ever newer than `w.newest` (addToWindow and advanceWindow keep it so), so when that bucket
  // holds a count it is the newest one; otherwise look.
  let newest = w.buckets.has(w.newest) ? w.newest : -Infinity;
  if (newest === -Infinity) for (const b of w.buckets.keys()) if (b > newest) newest = b;
  return newest === -Infinity ? 0 : Math.max(0, expiryOf(newest) - nowMs);
}

/**
 * Time from `nowMs` until `cost` more fits under `limit`, walking buckets oldest first. Returns null
 * when it can never fit (`cost > limit`, or a limit of 0).
 */
export function retryAfterMs(w: WindowData, nowMs: number, limit: number, cost: number): number | null {
  if (limit === 0 || cost > limit) return null;
  let used = w.total;
  if (used + cost <= limit) return 0;
  const order = [...w.buckets.keys()].sort((a, b) => a - b);
  for (const b of order) {
    used -= w.buckets.get(b) ?? 0;
    if (used + cost <= limit) return Math.max(0, expiryOf(b) - nowMs);
  }
  return WINDOW_MS;
}

/** Compact serialised form `{o,n,b:[[bucket,count],…]}` (SQLite rows). */
export function serializeWindow(w: WindowData): string {
  return JSON.stringify({ o: w.oldest, n: w.newest, b: [...w.buckets] });
}

/** Inverse of {@link serializeWindow}; null if the text is not a window. */
export function parseWindow(text: string): WindowData | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const { o, n, b } = v as { o?: unknown; n?: unknown; b?: unknown };
  if (!Number.isSafeInteger(o) || !Number.isSafeInteger(n) || !Array.isArray(b)) return null;
  const buckets = new Map<number, number>();
  let total = 0;
  let newest = n as number;
  for (const pair of b as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) return null;
    const [k, c] = pair as unknown[];
    if (!Number.isSafeInteger(k) || !Number.isSafeInteger(c) || (c as number) < 0) return null;
    buckets.set(k as number, c as number);
    total += c as number;
    if ((k as number) > newest) newest = k as number; // keep "no bucket newer than newest" even for odd stored data
  }
  return { oldest: o as number, newest, total, buckets };
}
