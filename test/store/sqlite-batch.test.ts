import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreSchemaError, StoreUnavailableError } from '../../src/store/errors.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { AdmitRequest } from '../../src/store/store.js';

// Group commit (sqlite.ts): the writes of one event-loop turn share one transaction, committed at the end
// of the turn, and no promise settles before that commit.

const dir = mkdtempSync(join(tmpdir(), 'ditto-sqlite-batch-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const dbPath = (): string => join(dir, `db-${++n}.sqlite`);

const budgets = [{ scope: 'k', totalTokens: 1_000, totalMicros: 1_000_000 }];
const rate = [{ scope: 'k', rpm: 1_000, tpm: 100_000 }];
const req = (requestId: string): AdmitRequest => ({ requestId, owner: 'test', rate, budgets, tokens: 10, micros: 100 });

test('one turn of writes is one transaction; each promise settles only once its write is visible to another connection', async () => {
  const path = dbPath();
  const store = await openSqliteStore(path);
  const reader = new Database(path, { readonly: true });
  try {
    const count = reader.prepare('SELECT count(*) AS n FROM reservation');
    const before = store.commits;
    // 150 admissions issued in one turn against a budget that fits 100: exactly 100, in one commit.
    const results = await Promise.all(Array.from({ length: 150 }, (_, i) => store.admit(req(`a${i}`)).then((r) => {
      // Resolved only after COMMIT: another connection already sees every reservation of the batch.
      assert.equal((count.get() as { n: number }).n, 100);
      return r;
    })));
    assert.equal(results.filter((r) => r.allowed).length, 100);
    assert.equal(store.commits - before, 1);
    const won = results.flatMap((r, i) => (r.allowed ? [`a${i}`] : []));
    const audit = reader.prepare('SELECT count(*) AS n FROM audit');
    const settled = await Promise.all(won.map((id) => store.settle(id, { tokens: 4, micros: 40 }, { audit: { kind: 'proxy', payload: { request_id: id } } })
      .then((s) => {
        assert.equal((audit.get() as { n: number }).n, 100, 'the audit records are durable when settle resolves');
        return s;
      })));
    assert.ok(settled.every((s) => s.outcome === 'committed' && s.audit !== undefined));
    assert.equal(store.commits - before, 2);
    const [row] = await store.listLedgers({ scopes: ['k'] });
    assert.deepEqual([row?.spentTokens, row?.reservedTokens, row?.spentMicros, row?.reservedMicros], [400, 0, 4_000, 0]);
  } finally {
    reader.close();
    await store.close();
  }
});

test('an operation that fails inside a batch rolls back alone; the others of its turn commit', async () => {
  const path = dbPath();
  await (await openSqliteStore(path)).close();
  const raw = new Database(path);
  raw.prepare('INSERT INTO reservation (request_id, owner, created_at_ms, body) VALUES (?, ?, ?, ?)').run('broken', 'x', 1, 'not json');
  raw.close();
  const store = await openSqliteStore(path);
  try {
    const before = store.commits;
    const [a, broken, b, bad] = await Promise.allSettled([
      store.admit(req('a')),
      store.settle('broken', { tokens: 1, micros: 1 }, { audit: { kind: 'proxy', payload: { request_id: 'broken' } } }),
      store.admit(req('b')),
      store.admit({ ...req('c'), tokens: -1 }),
    ]);
    assert.equal(store.commits - before, 1);
    assert.deepEqual([a.status, b.status], ['fulfilled', 'fulfilled']);
    assert.ok(broken.status === 'rejected' && broken.reason instanceof StoreSchemaError);
    assert.ok(bad.status === 'rejected' && bad.reason instanceof RangeError);
    const check = new Database(path, { readonly: true });
    const ids = (check.prepare('SELECT request_id FROM reservation ORDER BY request_id').all() as { request_id: string }[]).map((r) => r.request_id);
    check.close();
    assert.deepEqual(ids, ['a', 'b', 'broken']);
    assert.deepEqual(await store.queryAudit({ limit: 10 }), [], 'the failed settlement wrote no audit record');
    const [row] = await store.listLedgers({ scopes: ['k'] });
    assert.equal(row?.reservedTokens, 20);
  } finally {
    await store.close();
  }
});

test('a batch that cannot take the write lock rejects with StoreUnavailableError and applies nothing', async () => {
  const path = dbPath();
  const store = await openSqliteStore(path, { busyTimeoutMs: 50 });
  const other = new Database(path);
  try {
    assert.equal((await store.admit(req('held'))).allowed, true);
    other.prepare('BEGIN IMMEDIATE').run(); // another writer holds the lock past the busy timeout
    const results = await Promise.allSettled([
      store.settle('held', { tokens: 5, micros: 5 }, { audit: { kind: 'proxy', payload: {} } }),
      store.admit(req('next')),
    ]);
    for (const r of results) assert.ok(r.status === 'rejected' && r.reason instanceof StoreUnavailableError);
    other.prepare('ROLLBACK').run();
    assert.deepEqual((await store.listReservations()).map((r) => r.requestId), ['held']);
    assert.deepEqual(await store.queryAudit({ limit: 10 }), []);
    // The failed settlement applied nothing, so it can simply be made again.
    assert.equal((await store.settle('held', { tokens: 5, micros: 5 })).outcome, 'committed');
    const [row] = await store.listLedgers({ scopes: ['k'] });
    assert.deepEqual([row?.spentTokens, row?.reservedTokens], [5, 0]);
  } finally {
    other.close();
    await store.close();
  }
});

test('two stores of one process on one file interleave writes in one turn without waiting on each other', { timeout: 10_000 }, async () => {
  const path = dbPath();
  const a = await openSqliteStore(path, { busyTimeoutMs: 2_000 });
  const b = await openSqliteStore(path, { busyTimeoutMs: 2_000 });
  try {
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 === 0 ? a : b).admit(req(`x${i}`))));
    assert.ok(Date.now() - t0 < 1_500, 'no busy wait on the other connection');
    assert.equal(results.filter((r) => r.allowed).length, 100);
    const [row] = await b.listLedgers({ scopes: ['k'] });
    assert.equal(row?.reservedTokens, 1_000);
  } finally {
    await a.close();
    await b.close();
  }
});

test('cached rows are dropped when another connection commits: two stores never overshoot a shared budget', async () => {
  const path = dbPath();
  const a = await openSqliteStore(path);
  const b = await openSqliteStore(path);
  try {
    const admitN = async (s: typeof a, prefix: string, count: number): Promise<number> =>
      (await Promise.all(Array.from({ length: count }, (_, i) => s.admit({ ...req(`${prefix}${i}`), tokens: 100 })))).filter((r) => r.allowed).length;
    // Budget 1000 tokens, 100 per request. A caches the ledger at 500 reserved; B then takes 400 more.
    assert.equal(await admitN(a, 'a', 5), 5);
    assert.equal(await admitN(b, 'b', 4), 4);
    // A must see B's reservations: exactly one more fits.
    assert.equal(await admitN(a, 'c', 3), 1);
    // And B sees A's settlement freeing budget (A charged 0 of its 100-token reservations).
    await Promise.all(['a0', 'a1'].map((id) => a.settle(id, { tokens: 0, micros: 0 })));
    assert.equal(await admitN(b, 'd', 3), 2);
    const [row] = await a.listLedgers({ scopes: ['k'] });
    assert.deepEqual([row?.reservedTokens, row?.spentTokens], [1_000, 0]);
  } finally {
    await a.close();
    await b.close();
  }
});

test('an operation that fails after changing cached state is rolled back by replaying the rest of its batch', async () => {
  const store = await openSqliteStore(dbPath());
  try {
    assert.equal((await store.admit(req('x'))).allowed, true);
    const [a, x, b] = await Promise.allSettled([
      store.admit(req('a')),
      // Closing x works, then its audit payload cannot be serialised: x must be left exactly as it was.
      store.settle('x', { tokens: 7, micros: 70 }, { audit: { kind: 'proxy', payload: { n: 1n } } }),
      store.admit(req('b')),
    ]);
    assert.deepEqual([a.status, b.status], ['fulfilled', 'fulfilled']);
    assert.ok(x.status === 'rejected' && x.reason instanceof TypeError);
    assert.deepEqual((await store.listReservations()).map((r) => r.requestId).sort(), ['a', 'b', 'x']);
    const [row] = await store.listLedgers({ scopes: ['k'] });
    assert.deepEqual([row?.reservedTokens, row?.spentTokens, row?.reservedMicros, row?.spentMicros], [30, 0, 300, 0]);
    assert.deepEqual(await store.queryAudit({ limit: 10 }), []);
    // x is intact: settling it now charges it once.
    assert.equal((await store.settle('x', { tokens: 7, micros: 70 })).outcome, 'committed');
    const [after] = await store.listLedgers({ scopes: ['k'] });
    assert.deepEqual([after?.reservedTokens, after?.spentTokens], [20, 7]);
  } finally {
    await store.close();
  }
});

test('the write lock is held only while a batch runs, not while its turn goes on: other processes are not starved', async () => {
  const path = dbPath();
  const store = await openSqliteStore(path);
  const other = new Database(path, { timeout: 0 }); // no busy wait: a held lock fails at once
  try {
    const pending = store.admit(req('a'));
    // Same turn, the admission queued: another writer gets the lock immediately.
    other.prepare('BEGIN IMMEDIATE').run();
    other.prepare('COMMIT').run();
    assert.equal((await pending).allowed, true);
    other.prepare('BEGIN IMMEDIATE').run();
    other.prepare('COMMIT').run();
  } finally {
    other.close();
    await store.close();
  }
});
