import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import type { RouterConfig, VirtualKeyConfig } from '../config/schema.js';
import { checkAmount, checkId } from './admission.js';
import {
  admitTx, closeTx, ledgerRow, reapTx, reservationInfo, type CloseMode, type GovernanceTx, type LedgerData,
} from './engine.js';
import { StoreError, StoreSchemaError, StoreUnavailableError } from './errors.js';
import {
  auditRecord, checkAuditInput, checkUniqueIds, parsePersistedKey, parsePersistedRouter, sortKeys, toPersistedKey,
} from './records.js';
import { checkSchema, migrate } from './sqlite-schema.js';
import { prepareStatements, type Statements, parseReservationRow, toLedger } from './sqlite-statements.js';
import type {
  AdmitRequest, AdmitResult, AuditInput, AuditQuery, AuditRecord, DoctorReport, LedgerQuery, LedgerRow,
  PersistedConfig, ReapOptions, ReapReport, ReleaseOptions, ReservationInfo, SettleOptions, SettleResult, SettleUsage,
  Store,
} from './store.js';
import { parseWindow, serializeWindow } from './window.js';

/** Options for {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Clock in epoch ms (tests inject a fake one). */
  clock?: () => number;
  /** How long a transaction waits for another process's write lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /** Apply pending migrations at open (default true). `--db-doctor` may pass false to only inspect. */
  migrate?: boolean;
}

/**
 * Open (creating if needed) a SQLite store: WAL journal, `synchronous=NORMAL` (a committed transaction
 * survives a process crash; power loss may lose the last few but never corrupts), versioned migrations.
 * Every mutating operation is one `BEGIN IMMEDIATE` transaction, so several processes may share the file.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  try {
    return Promise.resolve(new SqliteStore(path, options));
  } catch (err) {
    return Promise.reject(mapSqliteError(err));
  }
}

/** The operations of one group-commit transaction, settled when it commits or fails. */
interface Batch {
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

/** SQLite stores of this process with an open group-commit transaction. */
const openBatches = new Set<SqliteStore>();

/** The SQLite implementation of {@link Store} (better-sqlite3: synchronous, so each call is also a critical section in-process). */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly #db: BetterSqlite3.Database;
  readonly #clock: () => number;
  #statements: Statements | null = null;
  readonly #tx: GovernanceTx;
  #batch: Batch | null = null;
  /** Group commits so far (each one transaction holding every write of one event-loop turn); for tests and diagnosis. */
  commits = 0;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = path;
    this.#clock = options.clock ?? Date.now;
    const db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      if (options.migrate ?? true) migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    this.#db = db;
    const s = (): Statements => this.#s;
    this.#tx = {
      getWindow: (scope, dim) => {
        const row = s().getWindow.get(dim, scope) as { state: string } | undefined;
        if (!row) return undefined;
        const w = parseWindow(row.state);
        if (!w) throw new StoreSchemaError('sqlite', `rate window ${dim}/${scope} does not parse`);
        return w;
      },
      putWindow: (scope, dim, w) => { s().putWindow.run(dim, scope, serializeWindow(w)); },
      getLedger: (scope) => {
        const row = s().getLedger.get(scope) as Record<string, unknown> | undefined;
        return row ? toLedger(row) : undefined;
      },
      putLedger: (scope, l: LedgerData) => {
        s().putLedger.run(scope, l.spentTokens, l.reservedTokens, l.spentMicros, l.reservedMicros, l.periodMs,
          l.periodStartMs, l.updatedAtMs);
      },
      getReservation: (id) => {
        const row = s().getReservation.get(id) as Record<string, unknown> | undefined;
        return row ? parseReservationRow(row) : undefined;
      },
      putReservation: (r) => {
        s().putReservation.run(r.requestId, r.owner, r.createdMs, JSON.stringify({ budgets: r.budgets, rate: r.rate }));
      },
      deleteReservation: (id) => { s().deleteReservation.run(id); },
      oldReservations: (cutoff, limit) =>
        (s().oldReservations.all(cutoff, limit) as Record<string, unknown>[]).map(parseReservationRow),
    };
  }

  /** Prepared lazily, so a store opened with `migrate: false` on an unusable file can still run `doctor()`. */
  get #s(): Statements {
    this.#statements ??= prepareStatements(this.#db);
    return this.#statements;
  }

  admit(req: AdmitRequest): Promise<AdmitResult> {
    return this.#write(() => admitTx(this.#tx, req, this.#clock()));
  }

  async settle(requestId: string, usage: SettleUsage, options: SettleOptions = {}): Promise<SettleResult> {
    checkAmount('tokens', usage.tokens);
    checkAmount('micros', usage.micros);
    if (usage.rateTokens !== undefined) checkAmount('rateTokens', usage.rateTokens);
    return this.#close(requestId, { kind: 'commit', usage }, 'committed', options.audit);
  }

  release(requestId: string, options: ReleaseOptions = {}): Promise<SettleResult> {
    return this.#close(requestId, { kind: 'release', refundRate: options.refundRate ?? true }, 'released', options.audit);
  }

  async reap(options: ReapOptions): Promise<ReapReport> {
    const olderThan = checkAmount('olderThanMs', options.olderThanMs);
    const limit = checkAmount('limit', options.limit ?? 1000);
    return this.#write(() => reapTx(this.#tx, olderThan, limit, options.dryRun ?? false, this.#clock()));
  }

  listReservations(options: { limit?: number } = {}): Promise<ReservationInfo[]> {
    return this.#read(() => (this.#s.listReservations.all(options.limit ?? -1) as Record<string, unknown>[])
      .map((row) => reservationInfo(parseReservationRow(row))));
  }

  listLedgers(query: LedgerQuery = {}): Promise<LedgerRow[]> {
    return this.#read(() => {
      if (query.scopes !== undefined) return this.#ledgersByScope(query);
      const now = this.#clock();
      const rows = this.#s.listLedgers.all({ prefix: query.prefix ?? '', limit: query.limit ?? -1, offset: query.offset ?? 0 }) as Record<string, unknown>[];
      return rows.map((r) => ledgerRow(String(r.scope), toLedger(r), now));
    });
  }

  async appendAudit(records: readonly AuditInput[]): Promise<AuditRecord[]> {
    records.forEach(checkAuditInput);
    return this.#write(() => {
      const now = this.#clock();
      return records.map((r) => this.#append(r, now));
    });
  }

  async queryAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.#read(() => (this.#s.queryAudit.all(
      query.sinceMs ?? Number.MIN_SAFE_INTEGER, query.beforeMs ?? Number.MAX_SAFE_INTEGER, checkAmount('limit', query.limit),
    ) as { id: number; ts_ms: number; kind: string; payload: string }[])
      .map((r) => auditRecord('sqlite', r.id, r.ts_ms, r.kind, r.payload)));
  }

  async pruneAudit(options: { olderThanMs: number }): Promise<number> {
    const olderThan = checkAmount('olderThanMs', options.olderThanMs);
    return this.#write(() => this.#s.pruneAudit.run(this.#clock() - olderThan).changes);
  }

  loadConfig(): Promise<PersistedConfig | null> {
    return this.#read(() => {
      if (!this.#s.getMeta.get('config_seeded')) return null;
      const keys = (this.#s.listKeys.all() as { body: string }[]).map((r) => parsePersistedKey('sqlite', r.body));
      const router = this.#s.getRouter.get() as { body: string } | undefined;
      return { virtualKeys: sortKeys(keys), router: router ? parsePersistedRouter('sqlite', router.body) : null };
    });
  }

  async saveConfig(config: PersistedConfig): Promise<void> {
    checkUniqueIds(config.virtualKeys);
    const keys = config.virtualKeys.map(toPersistedKey);
    return this.#write(() => {
      this.#s.deleteAllKeys.run();
      for (const k of keys) this.#s.putKey.run(k.id, JSON.stringify(k));
      this.#putRouter(config.router);
    });
  }

  async upsertKey(key: VirtualKeyConfig): Promise<void> {
    const k = toPersistedKey(key);
    return this.#write(() => {
      this.#s.putKey.run(k.id, JSON.stringify(k));
      this.#s.putMeta.run('config_seeded', '1');
    });
  }

  async deleteKey(id: string): Promise<boolean> {
    return this.#write(() => this.#s.deleteKey.run(id).changes > 0);
  }

  async saveRouter(router: RouterConfig | null): Promise<void> {
    return this.#write(() => this.#putRouter(router));
  }

  ping(): Promise<void> {
    return this.#read(() => { this.#s.ping.get(); });
  }

  doctor(): Promise<DoctorReport> {
    return this.#read(() => {
      const { version, problems } = checkSchema(this.#db);
      if (problems.length === 0) {
        try {
          for (const r of this.#s.listKeys.all() as { body: string }[]) parsePersistedKey('sqlite', r.body);
          const router = this.#s.getRouter.get() as { body: string } | undefined;
          if (router) parsePersistedRouter('sqlite', router.body);
        } catch (err) {
          problems.push(err instanceof Error ? err.message : String(err));
        }
      }
      return { store: 'sqlite', schemaVersion: version, problems };
    });
  }

  close(): Promise<void> {
    if (this.#db.open) {
      this.#commit();
      this.#db.close();
    }
    return Promise.resolve();
  }

  async #close(requestId: string, mode: CloseMode, done: 'committed' | 'released', audit: AuditInput | undefined): Promise<SettleResult> {
    checkId('requestId', requestId);
    if (audit) checkAuditInput(audit);
    return this.#write(() => {
      const now = this.#clock();
      const outcome = closeTx(this.#tx, requestId, mode, now) ? done : 'not_found';
      return audit ? { outcome, audit: this.#append(audit, now) } : { outcome };
    });
  }

  #append(input: AuditInput, now: number): AuditRecord {
    const tsMs = input.tsMs ?? now;
    const payload = JSON.stringify(input.payload);
    const id = Number(this.#s.appendAudit.run(tsMs, input.kind, payload).lastInsertRowid);
    return auditRecord('sqlite', id, tsMs, input.kind, payload);
  }

  #putRouter(router: RouterConfig | null): void {
    if (router === null) this.#s.deleteRouter.run();
    else this.#s.putRouter.run(JSON.stringify(router));
    this.#s.putMeta.run('config_seeded', '1');
  }

  #ledgersByScope(query: LedgerQuery): LedgerRow[] {
    const now = this.#clock();
    const out: LedgerRow[] = [];
    for (const scope of [...new Set(query.scopes)].sort()) {
      if (!scope.startsWith(query.prefix ?? '')) continue;
      const row = this.#s.getLedger.get(scope) as Record<string, unknown> | undefined;
      if (row) out.push(ledgerRow(scope, toLedger(row), now));
    }
    const offset = query.offset ?? 0;
    return out.slice(offset, offset + (query.limit ?? Infinity));
  }

  /**
   * Group commit: every mutating operation of one event-loop turn runs inside ONE `BEGIN IMMEDIATE`
   * transaction (the write lock is taken first, so check-then-write cannot race another process), each in
   * its own savepoint, and the transaction commits once, at the end of the turn (`setImmediate`). The
   * operation's result is computed at once, inside the locked transaction, so admission stays exact; its
   * promise settles only after the COMMIT, so no caller acts on (or answers a client about) a write that is
   * not yet durable. An operation that throws is rolled back to its savepoint and rejects alone; a failed
   * BEGIN rejects the operation that needed it; a failed COMMIT (or an error that made SQLite abandon the
   * transaction) rolls back and rejects every operation of the batch, none of which was applied.
   */
  #write<T>(fn: () => T): Promise<T> {
    let batch: Batch;
    try {
      batch = this.#begin();
    } catch (err) {
      return Promise.reject(mapSqliteError(err));
    }
    const s = this.#s;
    let value: T | undefined;
    let error: unknown;
    let failed = false;
    try {
      s.savepoint.run();
      try {
        value = fn();
      } catch (err) {
        failed = true;
        error = err;
        if (this.#db.inTransaction) s.rollbackSavepoint.run();
      }
      if (this.#db.inTransaction) s.releaseSavepoint.run();
    } catch (err) {
      // The savepoint itself failed: the transaction's state is unknown, give the whole batch up.
      this.#fail(batch, err);
      return Promise.reject(mapSqliteError(failed ? error : err));
    }
    if (failed) {
      // SQLite abandons the whole transaction on some errors (I/O, full disk): then the batch is lost too.
      if (!this.#db.inTransaction) this.#fail(batch, error);
      return Promise.reject(mapSqliteError(error));
    }
    return new Promise<T>((resolve, reject) => { batch.waiters.push({ resolve: () => resolve(value as T), reject }); });
  }

  /** The open batch, or a new one: `BEGIN IMMEDIATE` now, `COMMIT` at the end of this event-loop turn. */
  #begin(): Batch {
    if (this.#batch !== null) return this.#batch;
    // Another connection of this process holding the write lock would make BEGIN wait on a commit that can
    // only run once this (synchronous) wait is over: commit those first.
    for (const other of openBatches) if (other !== this) other.#commit();
    this.#s.begin.run();
    const batch: Batch = { waiters: [] };
    this.#batch = batch;
    openBatches.add(this);
    setImmediate(() => { if (this.#batch === batch) this.#commit(); });
    return batch;
  }

  /** Commit the open batch (if any) and settle its operations' promises. */
  #commit(): void {
    const batch = this.#batch;
    if (batch === null) return;
    try {
      this.#s.commit.run();
    } catch (err) {
      this.#fail(batch, err);
      return;
    }
    this.#batch = null;
    openBatches.delete(this);
    this.commits++;
    for (const w of batch.waiters) w.resolve();
  }

  /** Roll back the batch and reject every operation in it (none of them was applied). */
  #fail(batch: Batch, err: unknown): void {
    this.#batch = null;
    openBatches.delete(this);
    if (this.#db.inTransaction) {
      try {
        this.#s.rollback.run();
      } catch {
        // the connection rolls back on its own when it cannot
      }
    }
    const mapped = mapSqliteError(err);
    for (const w of batch.waiters) w.reject(mapped);
  }

  /** A read: WAL readers see the last committed state and never block writers. */
  #read<T>(fn: () => T): Promise<T> {
    try {
      this.#commit(); // a read sees this process's writes only once they are committed
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(mapSqliteError(err));
    }
  }
}

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|PROTOCOL|NOLFS|AUTH)/;
const CORRUPT = /^SQLITE_(CORRUPT|NOTADB)/;

/** Typed errors: lock/IO/disk problems are `StoreUnavailableError`, corruption is `StoreSchemaError`. */
export function mapSqliteError(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TypeError && /not open/.test(message)) return new StoreUnavailableError('sqlite', message, { cause: err });
  if (err instanceof StoreError || err instanceof TypeError || err instanceof RangeError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE.test(code)) return new StoreUnavailableError('sqlite', `${code}: ${message}`, { cause: err });
  if (typeof code === 'string' && CORRUPT.test(code)) return new StoreSchemaError('sqlite', `${code}: ${message}`, { cause: err });
  return new StoreError('sqlite', typeof code === 'string' ? code : 'STORE_ERROR', `sqlite store error: ${message}`, { cause: err });
}
