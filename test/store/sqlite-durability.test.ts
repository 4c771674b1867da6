import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { StoreSchemaError, StoreUnavailableError } from '../../src/store/errors.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import type { AdmitRequest } from '../../src/store/store.js';

const WORKER = fileURLToPath(new URL('./fixtures/sqlite-worker.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ditto-sqlite-dur-'));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const dbPath = () => join(dir, `db-${++n}.sqlite`);

/** Start a worker process; `lines` yields its stdout lines. */
function startWorker(args: string[]): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return { child, lines: rl[Symbol.asyncIterator]() };
}

async function nextLine(lines: AsyncIterator<string>): Promise<string> {
  const r = await lines.next();
  if (r.done) throw new Error('worker ended early');
  return r.value;
}

test('kill -9 mid-way through many reserve/commit transactions leaves consistent ledgers and audit', { timeout: 120_000 }, async () => {
  const path = dbPath();
  await (await openSqliteStore(path)).close();
  const workers = ['a', 'b'].map((w) => ({ w, last: -1, ...startWorker(['churn', path, w]) }));
  for (const x of workers) assert.equal(await nextLine(x.lines), 'ready');
  // Let both run until each has finished 300 cycles, then kill them wherever they are.
  await Promise.all(workers.map(async (x) => {
    while (x.last < 300) x.last = Number(await nextLine(x.lines));
  }));
  await Promise.all(workers.map(async (x) => {
    const exited = new Promise((resolve) => x.child.once('exit', resolve));
    x.child.kill('SIGKILL');
    await exited;
    for (;;) { // lines already written before the kill still count as finished
      const r = await x.lines.next();
      if (r.done) break;
      x.last = Number(r.value);
    }
  }));

  const store = await openSqliteStore(path);
  try {
    assert.deepEqual((await store.doctor()).problems, []);
    const audit = await store.queryAudit({ limit: 1_000_000 });
    const ids = new Set(audit.map((r) => String(r.payload.request_id)));
    for (const x of workers) {
      for (let i = 0; i <= x.last; i++) assert.ok(ids.has(`${x.w}-${i}`), `finished request ${x.w}-${i} has its audit record`);
    }
    const committed = audit.filter((r) => r.payload.outcome === 'committed').length;
    const open = await store.listReservations();
    assert.ok(open.length <= 2, 'at most one open reservation per killed worker');
    const [key, tenant] = await store.listLedgers({ scopes: ['key', 'tenant:t'] });
    // Settlement and its audit record commit together, so the ledger matches the audit exactly.
    assert.equal(key?.spentTokens, 3 * committed);
    assert.equal(tenant?.spentMicros, 30 * committed);
    assert.equal(key?.reservedTokens, 10 * open.length);
    assert.equal(tenant?.reservedMicros, 100 * open.length);
    for (const r of open) assert.match(r.owner, /^worker-[ab]$/);

    const reaped = await store.reap({ olderThanMs: 0 });
    assert.deepEqual([reaped.budget.reaped, reaped.budget.released], [open.length, 20 * open.length]);
    const after = await store.listLedgers({ scopes: ['key', 'tenant:t'] });
    assert.deepEqual(after.map((r) => [r.reservedTokens, r.reservedMicros]), [[0, 0], [0, 0]]);
    assert.deepEqual(await store.listReservations(), []);
  } finally {
    await store.close();
  }
});

let burstRun = 0;
async function burst(path: string, workers: number, count: number, req: Omit<AdmitRequest, 'requestId' | 'owner'>): Promise<number> {
  const run = ++burstRun;
  const ws = Array.from({ length: workers }, (_, i) => startWorker(['burst', path, `b${run}w${i}`, JSON.stringify({ count, req })]));
  for (const w of ws) assert.equal(await nextLine(w.lines), 'ready');
  for (const w of ws) w.child.stdin?.write('go\n');
  const counts = await Promise.all(ws.map(async (w) => Number((await nextLine(w.lines)).replace('allowed ', ''))));
  return counts.reduce((a, b) => a + b, 0);
}

test('four processes sharing one file: budget and rpm admit exactly what fits', { timeout: 120_000 }, async () => {
  const path = dbPath();
  await (await openSqliteStore(path)).close();
  const allowedBudget = await burst(path, 4, 60, { budgets: [{ scope: 'shared', totalTokens: 1_500 }], tokens: 10 });
  assert.equal(allowedBudget, 150);
  const allowedRpm = await burst(path, 4, 60, { rate: [{ scope: 'shared', rpm: 97 }] });
  assert.equal(allowedRpm, 97);
  const store = await openSqliteStore(path);
  try {
    const [row] = await store.listLedgers({ scopes: ['shared'] });
    assert.equal(row?.reservedTokens, 1_500);
    assert.equal((await store.listReservations()).length, 150 + 97);
  } finally {
    await store.close();
  }
});

test('migrations are versioned: applied once, and a newer database is refused', async () => {
  const path = dbPath();
  await (await openSqliteStore(path)).close();
  await (await openSqliteStore(path)).close();
  const db = new Database(path);
  try {
    const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
    assert.deepEqual(rows.map((r) => r.version), Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'future', 0);
  } finally {
    db.close();
  }
  await assert.rejects(openSqliteStore(path), (err: unknown) => err instanceof StoreSchemaError && /newer than this build/.test(err.message));
});

test('doctor reports an unusable schema', async () => {
  const empty = await openSqliteStore(dbPath(), { migrate: false });
  try {
    const report = await empty.doctor();
    assert.ok(report.problems.some((p) => p.includes('schema version is 0')), report.problems.join('; '));
    assert.ok(report.problems.some((p) => p.includes('missing table ledger')));
  } finally {
    await empty.close();
  }
  const path = dbPath();
  await (await openSqliteStore(path)).close();
  const db = new Database(path);
  db.exec('ALTER TABLE ledger DROP COLUMN period_ms');
  db.close();
  const broken = await openSqliteStore(path);
  try {
    assert.deepEqual((await broken.doctor()).problems, ['table ledger lacks columns: period_ms']);
  } finally {
    await broken.close();
  }
});

test('plaintext tokens never reach the database file', async () => {
  const path = dbPath();
  const store = await openSqliteStore(path);
  await store.saveConfig({ virtualKeys: [{ id: 'k', token: 'sk-plaintext-needle-123', enabled: true }], router: null });
  await store.upsertKey({ id: 'k2', token: 'sk-another-needle-456', enabled: true });
  await store.close(); // checkpoints the WAL into the main file
  const bytes = readFileSync(path).toString('latin1');
  assert.ok(!bytes.includes('needle'));
  assert.ok(bytes.includes('sha256:'));
});

test('a locked database or an unopenable path is StoreUnavailableError, not a hang', async () => {
  await assert.rejects(openSqliteStore(join(dir, 'no-such-dir', 'x.sqlite')), StoreUnavailableError);
  const path = dbPath();
  const store = await openSqliteStore(path, { busyTimeoutMs: 200 });
  const other = new Database(path);
  try {
    other.exec('BEGIN IMMEDIATE');
    await assert.rejects(store.admit({ requestId: 'x', owner: 'o', rate: [{ scope: 'k', rpm: 1 }] }), StoreUnavailableError);
    other.exec('ROLLBACK');
    const r = await store.admit({ requestId: 'x', owner: 'o', rate: [{ scope: 'k', rpm: 1 }] });
    assert.equal(r.allowed, true);
  } finally {
    other.close();
    await store.close();
  }
});
