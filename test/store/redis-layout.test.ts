import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { StoreSchemaError } from '../../src/store/errors.js';
import { openRedisStore } from '../../src/store/redis.js';
import { REDIS_URL, deletePrefix, describeUnlessSkipped, rawRedis, redisSkipReason, testPrefix } from './services.js';

// Redis-specific guarantees the shared suite cannot see: key layout, server clock, persisted bytes.
const skip = await redisSkipReason();
const prefixes: string[] = [];
after(async () => {
  if (skip === undefined) for (const p of prefixes) await deletePrefix(p);
});
function prefix(): string {
  const p = testPrefix();
  prefixes.push(p);
  return p;
}

describeUnlessSkipped('Redis store layout', skip, () => {
  test('every key carries the {prefix} hash tag, so one script touches one cluster slot', async () => {
    const p = prefix();
    const store = await openRedisStore(REDIS_URL, { prefix: p });
    const raw = rawRedis();
    try {
      await store.admit({
        requestId: 'r1', owner: 'o', tokens: 3, micros: 9,
        rate: [{ scope: 'k', rpm: 5, tpm: 50 }, { scope: 'tenant:t', rpm: 9 }],
        budgets: [{ scope: 'k', totalTokens: 100, totalMicros: 100 }, { scope: 'tenant:t', totalTokens: 100 }],
      });
      await store.appendAudit([{ kind: 'proxy', payload: {} }]);
      await store.saveConfig({ virtualKeys: [{ id: 'k', token: 't', enabled: true }], router: null });
      const keys = await raw.keys(`{${p}}:*`);
      assert.ok(keys.length >= 10, keys.join(', '));
      // Redis Cluster hashes only the part between the first '{' and the next '}' (when non-empty).
      const hashedPart = (k: string) => {
        const s = k.indexOf('{');
        const e = s < 0 ? -1 : k.indexOf('}', s + 1);
        return e > s + 1 ? k.slice(s + 1, e) : k;
      };
      for (const k of keys) assert.equal(hashedPart(k), p, k);
      // Windows expire by themselves once idle; reservations never do (reaped explicitly, §4.8).
      assert.ok(await raw.pttl(`{${p}}:rl:r:k`) > 60_000);
      assert.equal(await raw.pttl(`{${p}}:res:r1`), -1);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  test('without a test clock the server TIME drives windows, reservations and audit', async () => {
    const store = await openRedisStore(REDIS_URL, { prefix: prefix() });
    const raw = rawRedis();
    try {
      const [s, us] = await raw.time();
      const serverNow = Number(s) * 1000 + Math.floor(Number(us) / 1000);
      const rule = { scope: 'k', rpm: 2 };
      for (const id of ['a', 'b']) assert.equal((await store.admit({ requestId: id, owner: 'o', rate: [rule] })).allowed, true);
      const d = await store.admit({ requestId: 'c', owner: 'o', rate: [rule] });
      assert.ok(!d.allowed && d.reason === 'rate_limited' && d.rate.retryAfterMs > 50_000 && d.rate.retryAfterMs <= 60_500);
      const [res] = await store.listReservations();
      assert.ok(res && Math.abs(res.createdMs - serverNow) < 30_000, `created ${res?.createdMs} vs server ${serverNow}`);
      const [rec] = await store.appendAudit([{ kind: 'proxy', payload: {} }]);
      assert.ok(rec && Math.abs(rec.tsMs - serverNow) < 30_000);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  test('plaintext tokens never reach Redis', async () => {
    const p = prefix();
    const store = await openRedisStore(REDIS_URL, { prefix: p });
    const raw = rawRedis();
    try {
      await store.saveConfig({ virtualKeys: [{ id: 'k', token: 'sk-plaintext-needle', enabled: true }], router: null });
      await store.upsertKey({ id: 'k2', token: 'sk-other-needle', enabled: true });
      const stored = Object.values(await raw.hgetall(`{${p}}:cfg:keys`)).join('\n');
      assert.ok(!stored.includes('needle'));
      assert.equal((stored.match(/sha256:[0-9a-f]{64}/g) ?? []).length, 2);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  test('a prefix holding another layout version is refused; bad prefixes are rejected', async () => {
    const p = prefix();
    const raw = rawRedis();
    try {
      await raw.set(`{${p}}:schema`, '999');
      await assert.rejects(openRedisStore(REDIS_URL, { prefix: p }), StoreSchemaError);
    } finally {
      raw.disconnect();
    }
    await assert.rejects(openRedisStore(REDIS_URL, { prefix: 'a{b}' }), TypeError);
    await assert.rejects(openRedisStore(REDIS_URL, { prefix: '' }), TypeError);
  });
});
