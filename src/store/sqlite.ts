import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import type { RouterConfig, VirtualKeyConfig } from '../config/schema.js';
import { checkAmount, checkId } from './admission.js';
import {
  admitTx, closeTx, ledgerRow, reapTx, reservationInfo, type CloseMode, type GovernanceTx, type LedgerData,
  type ReservationData,
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
import type { WindowDim } from './admission.js';
import { parseWindow, serializeWindow, type WindowData } from './window.js';

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

/** One operation of a group-commit transaction: re-runnable (a replay recomputes `value`), settled at COMMIT. */
interface BatchOp {
  fn: () => unknown;
  value: unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** The operations of one group-commit transaction, settled when it commits or fails. */
interface Batch {
  ops: BatchOp[];
}

/** How one operation went inside the open transaction. */
type Applied = { ok: true; value: unknown } | { ok: false; error: unknown; replay: boolean };

/** Cached rows beyond this many are dropped (the cache only saves work; SQLite has everything). */
const CACHE_MAX = 10_000;

/** The SQLite implementation of {@link Store} (better-sqlite3: synchronous, so each call is also a critical section in-process). */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly #db: BetterSqlite3.Database;
  readonly #clock: () => number;
  #statements: Statements | null = null;
  readonly #tx: GovernanceTx;
  #batch: Batch | null = null;
  /**
   * Rows as this connection last wrote or read them, valid while no other connection has committed
   * (`PRAGMA data_version`, checked at every BEGIN). Windows and ledgers changed in the open batch are
   * written once, just before its COMMIT (`#dirty*`); reservations and audit records are written at once.
   */
  readonly #windows = new Map<string, WindowData>();
  readonly #ledgers = new Map<string, LedgerData>();
  readonly #reservations = new Map<string, ReservationData>();
  readonly #dirtyWindows = new Map<string, { scope: string; dim: WindowDim; w: WindowData }>();
  readonly #dirtyLedgers = new Map<string, LedgerData>();
  #dataVersion = -1;
  /** The running operation wrote or changed cached state (a failure then needs a rollback and a replay). */
  #touched = false;
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
        const k = windowKey(scope, dim);
        const cached = this.#windows.get(k);
        if (cached !== undefined) return cached;
        const row = s().getWindow.get(dim, scope) as { state: string } | undefined;
        if (!row) return undefined;
        const w = parseWindow(row.state);
        if (!w) throw new StoreSchemaError('sqlite', `rate window ${dim}/${scope} does not parse`);
        this.#cache(this.#windows, k, w);
        return w;
      },
      putWindow: (scope, dim, w) => {
        const k = windowKey(scope, dim);
        this.#touched = true;
        this.#cache(this.#windows, k, w);
        this.#dirtyWindows.set(k, { scope, dim, w });
      },
      getLedger: (scope) => {
        const cached = this.#ledgers.get(scope);
        if (cached !== undefined) return cached;
        const row = s().getLedger.get(scope) as Record<string, unknown> | undefined;
        if (!row) return undefined;
        const l = toLedger(row);
        this.#cache(this.#ledgers, scope, l);
        return l;
      },
      putLedger: (scope, l: LedgerData) => {
        this.#touched = true;
        this.#cache(this.#ledgers, scope, l);
        this.#dirtyLedgers.set(scope, l);
      },
      getReservation: (id) => {
        const cached = this.#reservations.get(id);
        if (cached !== undefined) return cached;
        const row = s().getReservation.get(id) as Record<string, unknown> | undefined;
        return row ? parseReservationRow(row) : undefined;
      },
      putReservation: (r) => {
        this.#touched = true;
        s().putReservation.run(r.requestId, r.owner, r.createdMs, JSON.stringify({ budgets: r.budgets, rate: r.rate }));
        this.#cache(this.#reservations, r.requestId, r);
      },
      deleteReservation: (id) => {
        this.#touched = true;
        s().deleteReservation.run(id);
        this.#reservations.delete(id);
      },
      oldReservations: (cutoff, limit) =>
        (s().oldReservations.all(cutoff, limit) as Record<string, unknown>[]).map(parseReservationRow),
    };
  }

  #cache<T>(map: Map<string, T>, k: string, v: T): void {
    if (map.size >= CACHE_MAX && !map.has(k)) this.#flushCache();
    map.set(k, v);
  }

  /** Forget cached rows (after another connection's commit, a rollback, or when the cache is full): write the dirty ones first. */
  #flushCache(): void {
    this.#writeDirty();
    this.#windows.clear();
    this.#ledgers.clear();
    this.#reservations.clear();
  }

  #dropCache(): void {
    this.#dirtyWindows.clear();
    this.#dirtyLedgers.clear();
    this.#windows.clear();
    this.#ledgers.clear();
    this.#reservations.clear();
  }

  /** Write the windows and ledgers the open batch changed (once each, however many operations changed them). */
  #writeDirty(): void {
    const s = this.#s;
    for (const { scope, dim, w } of this.#dirtyWindows.values()) s.putWindow.run(dim, scope, serializeWindow(w));
    for (const [scope, l] of this.#dirtyLedgers) {
      s.putLedger.run(scope, l.spentTokens, l.reservedTokens, l.spentMicros, l.reservedMicros, l.periodMs, l.periodStartMs, l.updatedAtMs);
    }
    this.#dirtyWindows.clear();
    this.#dirtyLedgers.clear();
  }

  /** Prepared lazily, so a store opened with `migrate: false` on an unusable file can still run `doctor()`. */
  get #s(): Statements {
    this.#statements ??= prepareStatements(this.#db);
    return this.#statements;
  }

  admit(req: AdmitRequest): Promise<AdmitResult> {
    const now = this.#clock();
    return this.#write(() => admitTx(this.#tx, req, now));
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
    const now = this.#clock();
    return this.#write(() => reapTx(this.#tx, olderThan, limit, options.dryRun ?? false, now));
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
    const now = this.#clock();
    return this.#write(() => records.map((r) => this.#append(r, now)));
  }

  async queryAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.#read(() => (this.#s.queryAudit.all(
      query.sinceMs ?? Number.MIN_SAFE_INTEGER, query.beforeMs ?? Number.MAX_SAFE_INTEGER, checkAmount('limit', query.limit),
    ) as { id: number; ts_ms: number; kind: string; payload: string }[])
      .map((r) => auditRecord('sqlite', r.id, r.ts_ms, r.kind, r.payload)));
  }

  async pruneAudit(options: { olderThanMs: number }): Promise<number> {
    const olderThan = checkAmount('olderThanMs', options.olderThanMs);
    const cutoff = this.#clock() - olderThan;
    return this.#writeRaw(() => this.#s.pruneAudit.run(cutoff).changes);
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
    return this.#writeRaw(() => {
      this.#s.deleteAllKeys.run();
      for (const k of keys) this.#s.putKey.run(k.id, JSON.stringify(k));
      this.#putRouter(config.router);
    });
  }

  async upsertKey(key: VirtualKeyConfig): Promise<void> {
    const k = toPersistedKey(key);
    return this.#writeRaw(() => {
      this.#s.putKey.run(k.id, JSON.stringify(k));
      this.#s.putMeta.run('config_seeded', '1');
    });
  }

  async deleteKey(id: string): Promise<boolean> {
    return this.#writeRaw(() => this.#s.deleteKey.run(id).changes > 0);
  }

  async saveRouter(router: RouterConfig | null): Promise<void> {
    return this.#writeRaw(() => this.#putRouter(router));
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
    const now = this.#clock();
    return this.#write(() => {
      const outcome = closeTx(this.#tx, requestId, mode, now) ? done : 'not_found';
      return audit ? { outcome, audit: this.#append(audit, now) } : { outcome };
    });
  }

  #append(input: AuditInput, now: number): AuditRecord {
    const tsMs = input.tsMs ?? now;
    const payload = JSON.stringify(input.payload);
    this.#touched = true;
    const id = Number(this.#s.appendAudit.run(tsMs, input.kind, payload).lastInsertRowid);
    // The payload as stored (a JSON round trip of an object checked by checkAuditInput): no schema check needed.
    return { id, tsMs, kind: input.kind, payload: JSON.parse(payload) as Record<string, unknown> };
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
   * Group commit: the mutating operations of one event-loop turn are queued and, at the end of the turn
   * (`setImmediate`), run in order inside ONE `BEGIN IMMEDIATE` transaction (the write lock is taken first, so
   * check-then-write cannot race another process, and it is held only while the batch runs), then committed
   * once. Each operation is exact: it sees every operation before it, in this
   * process and others. Its promise settles only after the COMMIT, so no caller acts on (or answers a client
   * about) a write that is not yet durable. Clock readings are taken when the operation is called. An
   * operation that throws is rolled back alone; a failed BEGIN or COMMIT rejects every operation of the batch,
   * none of which was applied.
   */
  #write<T>(fn: () => T): Promise<T> {
    let batch = this.#batch;
    if (batch === null) {
      const b: Batch = { ops: [] };
      this.#batch = batch = b;
      setImmediate(() => { if (this.#batch === b) this.#commit(); });
    }
    const ops = batch.ops;
    return new Promise<T>((resolve, reject) => {
      ops.push({ fn, value: undefined, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** A write outside the governance engine: any failure part-way rolls the batch back and replays the rest. */
  #writeRaw<T>(fn: () => T): Promise<T> {
    return this.#write(() => {
      this.#touched = true;
      return fn();
    });
  }

  /**
   * Run one operation inside the open transaction. Every write marks `#touched` first (the engine's
   * put/delete, audit appends, `#writeRaw`), so a failure that did not touch anything wrote nothing and fails
   * alone; one that did (or that made SQLite abandon the transaction) needs a replay. No savepoints needed.
   */
  #apply(fn: () => unknown): Applied {
    this.#touched = false;
    try {
      return { ok: true, value: fn() };
    } catch (err) {
      return { ok: false, error: err, replay: this.#touched || !this.#db.inTransaction };
    }
  }

  /**
   * Run the batch's operations in a fresh transaction. An operation that fails is rejected and dropped; if it
   * failed half-way (it had changed cached state, or SQLite abandoned the transaction) everything is rolled
   * back and the remaining operations run again from the start (their promises are not settled yet, so their
   * results may still change). Rare: corrupt rows, I/O errors. False if the transaction could not be begun.
   */
  #run(batch: Batch): boolean {
    for (;;) {
      try {
        this.#s.begin.run();
        this.#checkDataVersion();
      } catch (err) {
        this.#fail(batch, err);
        return false;
      }
      let clean = true;
      for (const op of [...batch.ops]) {
        const r = this.#apply(op.fn);
        if (r.ok) {
          op.value = r.value;
          continue;
        }
        batch.ops.splice(batch.ops.indexOf(op), 1);
        op.reject(mapSqliteError(r.error));
        if (r.replay) {
          clean = false;
          break;
        }
      }
      if (clean) return true;
      this.#rollback();
    }
  }

  /** Inside a fresh transaction: drop the cache if another connection committed since this one last looked. */
  #checkDataVersion(): void {
    const v = this.#s.dataVersion.get() as number;
    if (v !== this.#dataVersion) {
      this.#dropCache();
      this.#dataVersion = v;
    }
  }

  /** Run and commit the queued batch (if any), then settle its operations' promises. */
  #commit(): void {
    const batch = this.#batch;
    if (batch === null) return;
    this.#batch = null;
    if (!this.#db.open) {
      this.#fail(batch, new StoreUnavailableError('sqlite', 'the store is closed'));
      return;
    }
    if (!this.#run(batch)) return;
    try {
      this.#writeDirty();
      this.#s.commit.run();
    } catch (err) {
      this.#fail(batch, err);
      return;
    }
    this.commits++;
    for (const op of batch.ops) op.resolve(op.value);
  }

  /** Roll back the batch and reject every operation in it (none of them was applied). */
  #fail(batch: Batch, err: unknown): void {
    this.#rollback();
    const mapped = mapSqliteError(err);
    for (const op of batch.ops) op.reject(mapped);
    batch.ops.length = 0;
  }

  /** Roll the open transaction back (if SQLite has not already) and forget what the cache learnt in it. */
  #rollback(): void {
    this.#dropCache();
    if (this.#db.inTransaction) {
      try {
        this.#s.rollback.run();
      } catch {
        // the connection rolls back on its own when it cannot
      }
    }
  }

  /** A read: WAL readers see the last committed state and never block writers. */
  #read<T>(fn: () => T): Promise<T> {
    try {
      this.#commit(); // a read comes after this process's queued writes, and sees them committed
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(mapSqliteError(err));
    }
  }
}

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|PROTOCOL|NOLFS|AUTH)/;
const CORRUPT = /^SQLITE_(CORRUPT|NOTADB)/;

function windowKey(scope: string, dim: WindowDim): string {
  return `${dim}\u0000${scope}`;
}

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
