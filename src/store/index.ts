import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { MemoryStore } from './memory.js';
import type { RedisStoreOptions } from './redis.js';
import type { SqliteStoreOptions } from './sqlite.js';
import { StateFileStore } from './state-file.js';
import type { ConfigStore, Store } from './store.js';

export * from './store.js';
export { MemoryStore } from './memory.js';
export { StateFileStore } from './state-file.js';
export { persistedToken } from './records.js';

/** Which store to open (CONTRACT §1.2 / §4.15: at most one persistence target). */
export type StoreSpec =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string; options?: SqliteStoreOptions }
  | { kind: 'redis'; url: string; options?: RedisStoreOptions };

/**
 * Open the governance store. The SQLite and Redis implementations (and better-sqlite3 / ioredis with
 * them) are imported only when chosen: ioredis alone is ~20 MiB of resident memory a memory-store or
 * SQLite gateway would carry for nothing. Rejects with `StoreUnavailableError` (unreachable, unopenable) or
 * `StoreSchemaError` (unusable schema): both fatal at startup (§1.3).
 */
export async function openStore(spec: StoreSpec): Promise<Store> {
  switch (spec.kind) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      return await (await import('./sqlite.js')).openSqliteStore(spec.path, spec.options);
    case 'redis':
      return await (await import('./redis.js')).openRedisStore(spec.url, spec.options);
  }
}

/** The `--state PATH` keys+router store. */
export function openStateFile(path: string): ConfigStore {
  return new StateFileStore(path);
}

/** A reservation owner id for this process: `host:pid:random`, unique across restarts. */
export function processOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
