import { readFileSync } from 'node:fs';
import { AdminTokenError, resolveAdminTokens } from './admin/tokens.js';
import { FlagError, parseArgs, usage, UsageError, type CliOptions } from './cli/args.js';
import { auditVerifyMain } from './cli/audit-verify.js';
import { makeEnvLookup, parseDotenv } from './config/env.js';
import { ConfigError, loadConfigFile } from './config/load.js';
import type { ConfigFile } from './config/schema.js';
import { createLogger } from './observability/logger.js';
import { startGateway } from './server.js';
import {
  applyPersistedConfig, dbDoctor, loadGovernanceConfig, openStores, resolveStoreFlags, startAuditPruning, startupSweep, StartupError,
} from './usage/startup.js';
import type { PricingTable } from './pricing/table.js';

/** Tokens with this prefix are demo keys: printed at startup with a ready-to-paste curl line. */
export const DEMO_TOKEN_PREFIX = 'sk-ditto-demo-';

/** The package version, from package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The CLI (CONTRACT §1): the only reader of argv and process.env. Resolves with the exit code once
 * the gateway has stopped (or at once for --help, --version, --check and errors).
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv[0] === 'audit-verify') return auditVerifyMain(argv.slice(1));
  let options: CliOptions;
  try {
    options = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${usage()}\n`);
      return 2;
    }
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\n(see ditto-gateway --help)\n`);
      return 1;
    }
    throw err;
  }
  if (options.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (options.version) {
    process.stdout.write(`ditto-gateway ${version()}\n`);
    return 0;
  }
  if (options.dbDoctor) return runDbDoctor(options, env);
  if (options.configPath === undefined) {
    process.stderr.write(`missing config path\n\n${usage()}\n`);
    return 2;
  }
  let dotenv = new Map<string, string>();
  if (options.dotenv !== undefined) {
    try {
      dotenv = parseDotenv(readFileSync(options.dotenv, 'utf8'));
    } catch (err) {
      process.stderr.write(`cannot read --dotenv ${options.dotenv}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
      return 1;
    }
  }
  try {
    Object.assign(options, resolveAdminTokens(options, makeEnvLookup(env, dotenv), env), {
      adminTokenEnv: undefined, adminReadTokenEnv: undefined, adminTenantTokenEnvs: [], adminTenantReadTokenEnvs: [],
    });
  } catch (err) {
    if (err instanceof AdminTokenError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  let config: ConfigFile;
  try {
    config = loadConfigFile(options.configPath, makeEnvLookup(env, dotenv), { upstreams: options.upstreams }).config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`invalid config ${options.configPath}:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
      return 1;
    }
    throw err;
  }
  let pricing: PricingTable | undefined;
  try {
    resolveStoreFlags(options, env);
    pricing = loadGovernanceConfig(options, config);
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  if (options.otel && options.otelEndpoint === undefined) {
    // The standard OpenTelemetry variables: a full traces URL, or a base URL to which /v1/traces is added.
    const traces = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim();
    const base = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
    if (traces) options.otelEndpoint = traces;
    else if (base) options.otelEndpoint = `${base.replace(/\/+$/, '')}/v1/traces`;
  }
  if (options.check) {
    process.stdout.write('config ok\n');
    return 0;
  }
  const logger = createLogger({ json: options.jsonLogs });
  // §1.4: open the store; one holding keys/router replaces the file's, else it is seeded from the file.
  let stores;
  try {
    stores = await openStores(options);
    config = await applyPersistedConfig(config, stores.configStore, logger);
    if (stores.store !== undefined) await startupSweep(stores.store, options, logger);
  } catch (err) {
    await stores?.close().catch(() => undefined);
    process.stderr.write(`${err instanceof StartupError ? err.message : `cannot start the store: ${(err as Error).message}`}\n`);
    return 1;
  }
  const opened = stores;
  const stopPruning = opened.store !== undefined ? startAuditPruning(opened.store, options, logger) : () => undefined;
  let running;
  try {
    running = await startGateway(config, options, logger, { store: opened.store, pricing });
  } catch (err) {
    stopPruning();
    await opened.close().catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`cannot listen on ${options.listen.host}:${options.listen.port}: ${e.code ?? e.message}\n`);
    return 1;
  }
  process.stdout.write(`ditto-gateway listening on ${running.address}\n`);
  printDemoHint(config, running.url);
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (++signals > 1) {
        process.stderr.write(`second ${sig}: exiting now\n`);
        process.exit(1);
      }
      logger.info(`${sig} received: draining for up to ${options.shutdownGraceSecs}s`);
      // The store closes after in-flight requests have settled (gw.close waits for their settlements).
      void running.shutdown().then(async () => {
        stopPruning();
        await opened.close().catch((err: unknown) => logger.warn(`store close failed: ${(err as Error).message}`));
        logger.info('shutdown complete');
        logger.flush();
        resolve(0);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** `--db-doctor` (§1.2): check the store's schema, print the verdict, exit 0 or 1. */
async function runDbDoctor(options: CliOptions, env: NodeJS.ProcessEnv): Promise<number> {
  try {
    resolveStoreFlags(options, env);
    const stores = await openStores(options);
    try {
      if (stores.store === undefined) throw new StartupError('--db-doctor requires --sqlite or --redis');
      const r = await dbDoctor(stores.store);
      (r.code === 0 ? process.stdout : process.stderr).write(r.out);
      return r.code;
    } finally {
      await stores.close().catch(() => undefined);
    }
  } catch (err) {
    process.stderr.write(`db doctor: ${(err as Error).message}\n`);
    return 1;
  }
}

function printDemoHint(config: ConfigFile, url: string): void {
  const demo = config.virtual_keys.find((k) => k.enabled && k.token.startsWith(DEMO_TOKEN_PREFIX));
  if (!demo) return;
  process.stdout.write(
    `demo virtual key: ${demo.token}\ntry:\n  curl -s ${url}/v1/chat/completions -H 'authorization: Bearer ${demo.token}' ` +
      `-H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello, gateway"}]}'\n`,
  );
}
