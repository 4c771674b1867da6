import type { CliOptions } from '../cli/args.js';
import type { ConfigFile } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { loadPricingFile, PricingError, type PricingTable } from '../pricing/table.js';
import { openStateFile, openStore } from '../store/index.js';
import type { ConfigStore, Store } from '../store/store.js';
import { budgetConfigProblems } from './governance.js';

/** A fatal startup problem: one stderr message, exit 1 (CONTRACT §1.3). */
export class StartupError extends Error {}

/** Resolve `--redis-env` (§1.3): the variable must exist and be non-blank. Mutates `options.redisUrl`. */
export function resolveStoreFlags(options: CliOptions, env: NodeJS.ProcessEnv): void {
  if (options.redisEnv === undefined) return;
  const v = env[options.redisEnv];
  if (v === undefined) throw new StartupError(`missing env var for --redis-env: ${options.redisEnv}`);
  if (v.trim() === '') throw new StartupError(`redis URL is empty: ${options.redisEnv}`);
  options.redisUrl = v.trim();
}

/** `--pricing-litellm` (unreadable or invalid: fatal) and `budget.duration` values (invalid: fatal). */
export function loadGovernanceConfig(options: CliOptions, config: ConfigFile): PricingTable | undefined {
  const problems = budgetConfigProblems(config);
  if (problems.length > 0) throw new StartupError(`invalid config:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  if (options.pricingLitellm === undefined) return undefined;
  try {
    return loadPricingFile(options.pricingLitellm);
  } catch (err) {
    if (err instanceof PricingError) throw new StartupError(err.message);
    throw err;
  }
}

/** The opened stores: the governance store (`--sqlite`/`--redis`) and/or the keys+router store. */
export interface OpenedStores {
  store: Store | undefined;
  configStore: ConfigStore | undefined;
  close(): Promise<void>;
}

/** Open the store the flags name (§1.4); unreachable or unusable is fatal. */
export async function openStores(options: CliOptions): Promise<OpenedStores> {
  let store: Store | undefined;
  let configStore: ConfigStore | undefined;
  try {
    if (options.sqlitePath !== undefined) store = await openStore({ kind: 'sqlite', path: options.sqlitePath });
    else if (options.redisUrl !== undefined) {
      store = await openStore({ kind: 'redis', url: options.redisUrl, options: options.redisPrefix !== undefined ? { prefix: options.redisPrefix } : {} });
    } else if (options.statePath !== undefined) configStore = openStateFile(options.statePath);
  } catch (err) {
    throw new StartupError(`cannot open store: ${(err as Error).message}`);
  }
  configStore ??= store;
  return {
    store,
    configStore,
    close: async () => { await (store ?? configStore)?.close(); },
  };
}

/**
 * §1.4 / §4.15: a store that already holds keys and router replaces the config file's; otherwise the
 * file's are written to it. Returns the config to run with.
 */
export async function applyPersistedConfig(config: ConfigFile, cs: ConfigStore | undefined, logger: Logger): Promise<ConfigFile> {
  if (cs === undefined) return config;
  let persisted;
  try {
    persisted = await cs.loadConfig();
    if (persisted === null) {
      await cs.saveConfig({ virtualKeys: config.virtual_keys, router: config.router });
      logger.info(`store seeded with ${config.virtual_keys.length} virtual key(s) and the router from the config file`);
      return config;
    }
  } catch (err) {
    throw new StartupError(`cannot load keys and router from the store: ${(err as Error).message}`);
  }
  logger.info(`using ${persisted.virtualKeys.length} virtual key(s) and the router persisted in the store (config file keys ignored)`);
  return { ...config, virtual_keys: persisted.virtualKeys, router: persisted.router ?? config.router };
}

/** `--db-doctor`: run the store's checks; the exit code and what to print. */
export async function dbDoctor(store: Store): Promise<{ code: number; out: string }> {
  const r = await store.doctor();
  if (r.problems.length === 0) return { code: 0, out: 'db doctor: schema checks passed\n' };
  return { code: 1, out: `db doctor: ${r.store} store has problems:\n${r.problems.map((p) => `  ${p}`).join('\n')}\n` };
}

/**
 * Startup sweep (§4.8, README "Governance"): release budget reservations older than
 * `--reap-stale-after-secs` (default 3600 s, longer than any request runs), left by a process that died
 * between admission and settlement. Rates are not refunded.
 */
export async function startupSweep(store: Store, options: CliOptions, logger: Logger): Promise<void> {
  const olderThanMs = options.reapStaleAfterSecs * 1000;
  let total = 0;
  for (let i = 0; i < 1000; i++) {
    const r = await store.reap({ olderThanMs, limit: 1000 });
    total += Math.max(r.budget.reaped, r.cost.reaped);
    if (r.budget.scanned < 1000 && r.cost.scanned < 1000) break;
  }
  if (total > 0) logger.info(`startup sweep released ${total} stale reservation(s) older than ${options.reapStaleAfterSecs}s`);
}

/** Audit retention (§4.13): prune about every 30 s; returns a stop function. */
export function startAuditPruning(store: Store, options: CliOptions, logger: Logger): () => void {
  const secs = options.auditRetentionSecs ?? 2592000;
  if (secs === 0) return () => undefined;
  const prune = (): void => {
    store.pruneAudit({ olderThanMs: secs * 1000 }).catch((err: unknown) => logger.warn(`audit pruning failed: ${(err as Error).message}`));
  };
  prune();
  const t = setInterval(prune, 30_000);
  t.unref();
  return () => clearInterval(t);
}
