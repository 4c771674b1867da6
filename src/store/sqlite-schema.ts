import type BetterSqlite3 from 'better-sqlite3';
import { StoreSchemaError } from './errors.js';

type Db = BetterSqlite3.Database;

/**
 * Versioned SQLite migrations. Each runs once, in order, inside its own `BEGIN IMMEDIATE` transaction
 * together with its `schema_migrations` row, so a crash leaves either the old or the new version.
 * Never edit a released migration: append a new one.
 */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'governance: rate windows, ledgers, reservations, audit, keys, router',
    sql: `
      CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE rate_window (
        dim TEXT NOT NULL, scope TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (dim, scope)
      ) WITHOUT ROWID;
      CREATE TABLE ledger (
        scope TEXT PRIMARY KEY,
        spent_tokens INTEGER NOT NULL, reserved_tokens INTEGER NOT NULL,
        spent_micros INTEGER NOT NULL, reserved_micros INTEGER NOT NULL,
        period_ms INTEGER, period_start_ms INTEGER, updated_at_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE reservation (
        request_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created_at_ms INTEGER NOT NULL, body TEXT NOT NULL
      );
      CREATE INDEX reservation_created ON reservation (created_at_ms);
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL
      );
      CREATE INDEX audit_ts ON audit (ts_ms, id);
      CREATE TABLE virtual_key (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE router (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
    `,
  },
];

/** The schema version this build writes and expects. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Columns each table must have (doctor). */
const EXPECTED: Record<string, readonly string[]> = {
  meta: ['k', 'v'],
  rate_window: ['dim', 'scope', 'state'],
  ledger: [
    'scope', 'spent_tokens', 'reserved_tokens', 'spent_micros', 'reserved_micros', 'period_ms', 'period_start_ms',
    'updated_at_ms',
  ],
  reservation: ['request_id', 'owner', 'created_at_ms', 'body'],
  audit: ['id', 'ts_ms', 'kind', 'payload'],
  virtual_key: ['id', 'body'],
  router: ['id', 'body'],
};

function currentVersion(db: Db): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/** Apply pending migrations; refuse a database written by a newer build. */
export function migrate(db: Db): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)');
  for (;;) {
    const applied = db.transaction(() => {
      const v = currentVersion(db);
      if (v > SCHEMA_VERSION) {
        throw new StoreSchemaError('sqlite', `database schema version ${v} is newer than this build's ${SCHEMA_VERSION}`);
      }
      const next = MIGRATIONS[v];
      if (!next) return false;
      db.exec(next.sql);
      record.run(next.version, next.name, Date.now());
      return true;
    }).immediate();
    if (!applied) return SCHEMA_VERSION;
  }
}

/** Schema problems of an open database (empty = usable). */
export function checkSchema(db: Db): { version: number; problems: string[] } {
  const problems: string[] = [];
  const hasMigrations = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  const version = hasMigrations ? currentVersion(db) : 0;
  if (version !== SCHEMA_VERSION) problems.push(`schema version is ${version}, expected ${SCHEMA_VERSION}`);
  for (const [table, columns] of Object.entries(EXPECTED)) {
    const have = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
    if (have.size === 0) {
      problems.push(`missing table ${table}`);
      continue;
    }
    const missing = columns.filter((c) => !have.has(c));
    if (missing.length > 0) problems.push(`table ${table} lacks columns: ${missing.join(', ')}`);
  }
  const quick = db.pragma('quick_check', { simple: true });
  if (quick !== 'ok') problems.push(`quick_check: ${String(quick)}`);
  const mode = db.pragma('journal_mode', { simple: true });
  if (mode !== 'wal') problems.push(`journal_mode is ${String(mode)}, expected wal`);
  return { version, problems };
}
