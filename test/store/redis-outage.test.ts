import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { openRedisStore, type RedisStore } from '../../src/store/redis.js';
import { describeUnlessSkipped, freePort, killHard, rawRedis, redisServerSkipReason, startRedisServer } from './services.js';

// Outages against a redis-server this file starts, kills, freezes and restarts itself.
const skip = await redisServerSkipReason();
const servers = new Set<ChildProcess>();
after(async () => {
  for (const s of servers) await killHard(s);
});

async function server(port: number, extraArgs: readonly string[] = []): Promise<ChildProcess> {
  const s = await startRedisServer(port, extraArgs);
  servers.add(s);
  s.once('exit', () => servers.delete(s));
  return s;
}

/** Time a rejection and check it is a StoreUnavailableError. */
async function unavailableWithin(p: Promise<unknown>, boundMs: number): Promise<void> {
  const t0 = performance.now();
  await assert.rejects(p, StoreUnavailableError);
  const took = performance.now() - t0;
  assert.ok(took < boundMs, `rejected after ${Math.round(took)} ms (bound ${boundMs} ms)`);
}

/** Poll (an event we cannot subscribe to: the server coming back) until `fn` succeeds. */
async function eventually<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const req = (id: string) => ({ requestId: id, owner: 'outage-test', rate: [{ scope: 'k', rpm: 1000 }], budgets: [{ scope: 'k', totalTokens: 1e9 }], tokens: 5 });

describeUnlessSkipped('Redis outages', skip, () => {
  // Bounds are generous for a loaded CI machine; the point is "bounded", the configured timeouts are 1 s.
  test('nothing listening: open fails fast with StoreUnavailableError', async () => {
    const port = await freePort();
    await unavailableWithin(openRedisStore(`redis://127.0.0.1:${port}`, { prefix: 'outage' }), 5_000);
  });

  test('server killed: every call fails fast; server back on the same port: the same store recovers', { timeout: 60_000 }, async () => {
    const port = await freePort();
    let srv = await server(port);
    const store: RedisStore = await openRedisStore(`redis://127.0.0.1:${port}`, { prefix: 'outage' });
    try {
      assert.equal((await store.admit(req('before'))).allowed, true);
      await killHard(srv);
      for (let i = 0; i < 3; i++) {
        await unavailableWithin(store.admit(req(`during-${i}`)), 5_000);
        await unavailableWithin(store.settle('before', { tokens: 1, micros: 0 }), 5_000);
        await unavailableWithin(store.ping(), 5_000);
      }
      srv = await server(port);
      await eventually(() => store.ping(), 20_000);
      const r = await store.admit(req('after'));
      assert.equal(r.allowed, true, 'admissions work again (scripts reloaded after NOSCRIPT)');
      assert.equal((await store.settle('after', { tokens: 5, micros: 0 })).outcome, 'committed');
      assert.deepEqual((await store.listLedgers()).map((l) => [l.scope, l.spentTokens, l.reservedTokens]), [['k', 5, 0]]);
    } finally {
      await store.close();
      await killHard(srv);
    }
  });

  test('a server that lost its script cache (restart, SCRIPT FLUSH) is served through the EVAL fallback', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const srv = await server(port);
    const store = await openRedisStore(`redis://127.0.0.1:${port}`, { prefix: 'flush' });
    const admin = rawRedis(`redis://127.0.0.1:${port}`);
    try {
      await admin.script('FLUSH');
      assert.equal((await store.admit(req('after-flush'))).allowed, true);
      assert.equal((await store.release('after-flush')).outcome, 'released');
    } finally {
      admin.disconnect();
      await store.close();
      await killHard(srv);
    }
  });

  test('a settlement that fails while Redis is down is applied exactly once when it returns', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'ditto-redis-aof-'));
    const persist = ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'];
    let srv = await server(port, persist);
    const store = await openRedisStore(`redis://127.0.0.1:${port}`, { prefix: 'pending' });
    try {
      assert.equal((await store.admit(req('open'))).allowed, true);
      const exited = new Promise((resolve) => srv.once('exit', resolve));
      srv.kill('SIGTERM'); // graceful: the data survives the restart
      await exited;
      await unavailableWithin(store.settle('open', { tokens: 7, micros: 0 }, { audit: { kind: 'proxy', payload: { request_id: 'open' } } }), 5_000);
      srv = await server(port, persist);
      await eventually(async () => assert.deepEqual(await store.listReservations(), []), 20_000);
      const [row] = await store.listLedgers({ scopes: ['k'] });
      assert.deepEqual([row?.spentTokens, row?.reservedTokens], [7, 0]);
      const audit = await store.queryAudit({ limit: 10 });
      assert.deepEqual(audit.map((r) => r.payload.request_id), ['open']);
    } finally {
      await store.close();
      await killHard(srv);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('frozen server: a command times out as StoreUnavailableError; the lost admission is released afterwards', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const srv = await server(port);
    const store = await openRedisStore(`redis://127.0.0.1:${port}`, { prefix: 'frozen', commandTimeoutMs: 500 });
    try {
      srv.kill('SIGSTOP');
      await unavailableWithin(store.admit(req('lost')), 5_000);
      srv.kill('SIGCONT');
      // The script did run once the server woke up; the store released it because its reply was lost.
      await eventually(async () => assert.deepEqual(await store.listReservations(), []), 20_000);
      const [row] = await store.listLedgers({ scopes: ['k'] });
      assert.equal(row?.reservedTokens, 0);
      assert.equal((await store.settle('lost', { tokens: 5, micros: 0 })).outcome, 'not_found');

      // A settlement whose reply is lost ran once; the store's retry finds it closed and logs nothing more.
      assert.equal((await store.admit(req('slow'))).allowed, true);
      srv.kill('SIGSTOP');
      await unavailableWithin(store.settle('slow', { tokens: 9, micros: 0 }, { audit: { kind: 'proxy', payload: { request_id: 'slow' } } }), 5_000);
      srv.kill('SIGCONT');
      await eventually(async () => assert.deepEqual(await store.listReservations(), []), 20_000);
      await store.ping();
      const [after] = await store.listLedgers({ scopes: ['k'] });
      assert.deepEqual([after?.spentTokens, after?.reservedTokens], [9, 0]);
      assert.deepEqual((await store.queryAudit({ limit: 10 })).map((r) => r.payload.request_id), ['slow']);
    } finally {
      srv.kill('SIGCONT');
      await store.close();
      await killHard(srv);
    }
  });
});
