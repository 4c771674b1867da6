import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/index.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { startCli, type RunningCli } from '../cli/run.js';
import { startTestGateway } from '../helpers/gateway.js';
import { sendJson, startUpstream } from '../helpers/upstream.js';
import {
  deletePrefix, describeUnlessSkipped, freePort, killHard, rawRedis, REDIS_URL, redisServerSkipReason, redisSkipReason, startRedisServer, testPrefix,
} from '../store/services.js';
import { chatBody, govConfig, post, until } from './governance-kit.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ditto-gov-stores-'));
  dirs.push(d);
  return d;
}
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function writeConfig(dir: string, config: Record<string, unknown>): string {
  const p = join(dir, 'gateway.json');
  writeFileSync(p, JSON.stringify(config));
  return p;
}

async function stop(cli: RunningCli): Promise<void> {
  if (cli.child.exitCode !== null || cli.child.signalCode !== null) return;
  cli.child.kill('SIGTERM');
  await cli.exited;
}

describe('governance on SQLite: kill -9 under load, then restart', { timeout: 180_000 }, () => {
  test('ledgers match the audit log, every completed request is audited, stale reservations are reaped at startup', async () => {
    const dir = tempDir();
    const db = join(dir, 'gov.db');
    const USAGE = 7;
    const ANSWER = 60;
    const up = await startUpstream();
    let answered = 0;
    const heldRes: ServerResponse[] = [];
    up.handle((_req, res) => {
      if (answered >= ANSWER) {
        heldRes.push(res); // never answered: these requests are in flight when the gateway dies
        return;
      }
      answered++;
      setTimeout(() => sendJson(res, 200, { choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: USAGE } }), answered % 5);
    });
    const cfg = writeConfig(dir, govConfig(up.baseUrl, { limits: { rpm: 100000 }, budget: { total_tokens: 1_000_000_000 } }));
    const gw = await startCli([cfg, '--listen', '127.0.0.1:0', '--sqlite', db]);
    const url = `http://${gw.address}`;
    const completed: string[] = [];
    const { body } = chatBody();
    const worker = async (): Promise<void> => {
      for (;;) {
        let r: Response;
        try {
          r = await post(url, body);
        } catch {
          return; // the gateway died under us
        }
        if (r.status === 200) completed.push(r.headers.get('x-ditto-request-id') ?? '');
        await r.arrayBuffer().catch(() => undefined);
      }
    };
    const workers = Array.from({ length: 12 }, () => worker());
    try {
      await until(() => heldRes.length >= 8, 60_000);
      gw.child.kill('SIGKILL');
      await gw.exited;
      await Promise.all(workers);
    } finally {
      for (const r of heldRes) r.destroy();
    }
    assert.ok(completed.length > 0);
    {
      const s = await openStore({ kind: 'sqlite', path: db });
      const open = await s.listReservations();
      await s.close();
      assert.ok(open.length >= 8, `open reservations left by the crash: ${open.length}`);
    }
    // Restart: the startup sweep (bound 0 s here) releases what the dead process held.
    const again = await startCli([cfg, '--listen', '127.0.0.1:0', '--sqlite', db, '--reap-stale-after-secs', '0']);
    await stop(again);
    await up.close();
    const s = await openStore({ kind: 'sqlite', path: db });
    try {
      assert.deepEqual(await s.listReservations(), []);
      const [led] = await s.listLedgers({ scopes: ['k1'] });
      const audit = await s.queryAudit({ limit: 100_000 });
      const settled = audit.filter((a) => a.kind === 'proxy' && a.payload['status'] === 200);
      assert.equal(led?.reservedTokens, 0);
      assert.equal(led?.spentTokens, settled.length * USAGE, 'ledger = sum of audited settlements');
      const ids = new Set(settled.map((a) => a.payload['request_id']));
      for (const id of completed) assert.ok(ids.has(id), `completed request ${id} is audited`);
      assert.ok(settled.length <= ANSWER);
    } finally {
      await s.close();
    }
  });
});

describe('governance on SQLite: the settlement write fails after the upstream answered', () => {
  test('500 storage_error (fail closed): nothing charged, no audit record claims success, the reservation is reaped later', { timeout: 60_000 }, async () => {
    const db = join(tempDir(), 'gov.db');
    const store = await openSqliteStore(db, { busyTimeoutMs: 100 });
    const other = new Database(db);
    const up = await startUpstream();
    // While the upstream answers, another writer takes the database's write lock and keeps it past the
    // busy timeout: the admission went through, the group commit holding the settlement and its audit cannot.
    up.handle((_req, res) => {
      other.prepare('BEGIN IMMEDIATE').run();
      sendJson(res, 200, { choices: [], usage: { total_tokens: 3 } });
    });
    const gw = await startTestGateway(govConfig(up.baseUrl, { budget: { total_tokens: 1_000_000 } }), {}, process.env, { store });
    const { body, charge } = chatBody();
    try {
      const r = await post(gw.url, body);
      assert.equal(r.status, 500);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'storage_error');
      other.prepare('ROLLBACK').run();
      await gw.close();
      const [led] = await store.listLedgers({ scopes: ['k1'] });
      assert.equal(led?.spentTokens, 0, 'the failed settlement charged nothing');
      // The settle finalizer then releases the reservation (recording the 500), or, if the lock was still
      // held, leaves it to the reaper.
      assert.ok(led?.reservedTokens === 0 || led?.reservedTokens === charge, `reserved ${led?.reservedTokens}`);
      const audit = await store.queryAudit({ limit: 10 });
      assert.ok(audit.every((a) => a.payload['status'] === 500), 'no audit record of a success the client never saw');
      assert.equal(audit.length, led?.reservedTokens === 0 ? 1 : 0);
      await store.reap({ olderThanMs: 0 });
      const [after] = await store.listLedgers({ scopes: ['k1'] });
      assert.deepEqual([after?.spentTokens, after?.reservedTokens], [0, 0]);
    } finally {
      if (other.inTransaction) other.prepare('ROLLBACK').run();
      other.close();
      await store.close();
      await up.close();
    }
  });
});

const redisSkip = await redisSkipReason();
describeUnlessSkipped('governance on Redis: two gateway processes share one rpm', redisSkip, () => {
  test('rpm N admits exactly N across both processes', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const prefix = testPrefix();
    const N = 20;
    const up = await startUpstream();
    up.handle((_req, res) => sendJson(res, 200, { choices: [], usage: { total_tokens: 3 } }));
    const cfg = writeConfig(dir, govConfig(up.baseUrl, { limits: { rpm: N } }));
    const args = [cfg, '--listen', '127.0.0.1:0', '--redis', REDIS_URL, '--redis-prefix', prefix];
    let a: RunningCli | undefined;
    let b: RunningCli | undefined;
    try {
      a = await startCli(args);
      b = await startCli(args);
      const urls = [`http://${a.address}`, `http://${b.address}`];
      const { body } = chatBody();
      const statuses = await Promise.all(Array.from({ length: 3 * N }, async (_, i) => {
        const r = await post(urls[i % 2] as string, body);
        await r.arrayBuffer();
        return r.status;
      }));
      const histogram = JSON.stringify(statuses.reduce<Record<number, number>>((h, s) => ({ ...h, [s]: (h[s] ?? 0) + 1 }), {}));
      assert.equal(statuses.filter((s) => s === 200).length, N, `statuses: ${histogram}`);
      assert.equal(statuses.filter((s) => s === 429).length, 2 * N, `statuses: ${histogram}`);
      assert.equal(up.requests.length, N);
    } finally {
      if (a) await stop(a);
      if (b) await stop(b);
      await up.close();
      await deletePrefix(prefix);
    }
  });
});

const serverSkip = await redisServerSkipReason();
describeUnlessSkipped('governance on Redis: outage and recovery without restart', serverSkip, () => {
  test('Redis down: fast 503 naming the store and /ready not ready; back: requests pass again', { timeout: 120_000 }, async () => {
    const port = await freePort();
    let redis = await startRedisServer(port);
    const store = await openStore({ kind: 'redis', url: `redis://127.0.0.1:${port}`, options: { prefix: testPrefix() } });
    const up = await startUpstream();
    up.handle((_req, res) => sendJson(res, 200, { choices: [], usage: { total_tokens: 3 } }));
    const gw = await startTestGateway(govConfig(up.baseUrl, { limits: { rpm: 1000 }, budget: { total_tokens: 1_000_000 } }), {}, process.env, { store });
    const { body } = chatBody();
    try {
      assert.equal((await post(gw.url, body)).status, 200);
      assert.equal((await fetch(`${gw.url}/ready`)).status, 200);
      await killHard(redis);
      const before = up.requests.length;
      for (let i = 0; i < 5; i++) {
        const r = await post(gw.url, body);
        assert.equal(r.status, 503);
        const e = ((await r.json()) as { error: { message: string; code: string; type: string } }).error;
        assert.equal(e.code, 'store_unavailable');
        assert.equal(e.type, 'api_error');
        assert.match(e.message, /redis/);
      }
      assert.equal(up.requests.length, before, 'nothing forwarded while the store is down');
      const ready = await fetch(`${gw.url}/ready`);
      assert.equal(ready.status, 503);
      const rb = (await ready.json()) as { status: string; checks: Array<{ name: string; status: string }> };
      assert.equal(rb.status, 'not_ready');
      assert.ok(rb.checks.some((c) => c.name === 'store.redis' && c.status === 'error'));
      redis = await startRedisServer(port);
      await until(async () => {
        const r = await post(gw.url, body);
        await r.arrayBuffer();
        return r.status === 200;
      }, 30_000);
      assert.equal((await fetch(`${gw.url}/ready`)).status, 200);
    } finally {
      await gw.close();
      await store.close();
      await up.close();
      await killHard(redis);
    }
  });

  test('the settlement and audit write fails after the upstream answered: 500 storage_error (fail closed), settled once Redis recovers', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const redis = await startRedisServer(port);
    const url = `redis://127.0.0.1:${port}`;
    const store = await openStore({ kind: 'redis', url, options: { prefix: testPrefix() } });
    const admin = rawRedis(url);
    const up = await startUpstream();
    // While the upstream answers, Redis stops accepting writes (maxmemory reached): the admission went
    // through, the settlement with its audit record cannot.
    up.handle(async (_req, res) => {
      await admin.config('SET', 'maxmemory', '1');
      sendJson(res, 200, { choices: [], usage: { total_tokens: 3 } });
    });
    const gw = await startTestGateway(govConfig(up.baseUrl, { budget: { total_tokens: 1_000_000 } }), {}, process.env, { store });
    try {
      const r = await post(gw.url, chatBody().body);
      assert.equal(r.status, 500);
      const e = ((await r.json()) as { error: { code: string } }).error;
      assert.equal(e.code, 'storage_error');
      await admin.config('SET', 'maxmemory', '0');
      up.handle((_req, res) => sendJson(res, 200, { choices: [], usage: { total_tokens: 3 } }));
      assert.equal((await post(gw.url, chatBody().body)).status, 200);
      // The store re-applies the failed settlement itself (once) when Redis accepts writes again.
      await until(async () => (await store.listReservations()).length === 0, 30_000);
      const audit = await store.queryAudit({ limit: 10 });
      assert.equal(audit.length, 2);
      // The deferred settlement is the one that was attempted: the upstream's 200, charged (the provider
      // did the work), although the client was told 500.
      assert.deepEqual(audit.map((a) => a.payload['status']), [200, 200]);
      const [led] = await store.listLedgers({ scopes: ['k1'] });
      assert.equal(led?.spentTokens, 6);
      assert.equal(led?.reservedTokens, 0);
    } finally {
      await gw.close();
      await store.close();
      admin.disconnect();
      await up.close();
      await killHard(redis);
    }
  });
});
