/**
 * Command-line parsing (CONTRACT §1). A flag table drives parsing, validation and `--help`, so
 * a flag cannot exist without its help line. Messages are the contract's: `unknown arg: <arg>`,
 * `missing value for <flag>`, `invalid <flag>`.
 */

type Kind = 'bool' | 'string' | 'uint' | 'secs' | 'codes' | 'action' | 'listen' | 'pair' | 'tenant';

interface FlagSpec {
  names: readonly string[];
  kind: Kind;
  /** Shown in --help after the flag name. */
  arg?: string;
  help: string;
  repeatable?: boolean;
  /** Flags this one implies (e.g. sub-flags imply the feature flag). */
  implies?: string;
  /** For numbers: the smallest value accepted; below it is fatal. */
  min?: number;
  /** For numbers: smaller values are raised to this (the contract's "floor 1"). */
  floor?: number;
  group: string;
}

/** The flag table. Order is the order of `--help`. */
export const FLAGS: readonly FlagSpec[] = [
  { names: ['--listen', '--addr'], kind: 'listen', arg: 'HOST:PORT', help: 'Address to bind (default 127.0.0.1:8080; port 0 picks a free port)', group: 'Server' },
  { names: ['--dotenv'], kind: 'string', arg: 'PATH', help: 'Read env vars for ${VAR} placeholders from a dotenv file first', group: 'Server' },
  { names: ['--json-logs'], kind: 'bool', help: 'Write JSON log lines {"ts_ms","event","payload"} to stderr', group: 'Server' },
  { names: ['--shutdown-grace-secs'], kind: 'secs', arg: 'S', help: 'On SIGTERM/SIGINT, let in-flight requests finish for up to S seconds (default 30)', min: 0, group: 'Server' },
  { names: ['--check'], kind: 'bool', help: 'Validate the config and flags, print "config ok" or every error, and exit', group: 'Server' },
  { names: ['--proxy-max-in-flight'], kind: 'uint', arg: 'N', help: 'Global concurrent proxy requests (default 256)', min: 1, group: 'Proxy' },
  { names: ['--proxy-max-body-bytes'], kind: 'uint', arg: 'N', help: 'Largest /v1/* request body (default 67108864); larger gets 413', min: 1, group: 'Proxy' },
  { names: ['--upstream'], kind: 'pair', arg: 'NAME=BASE_URL', help: 'Add or replace a header-less passthrough backend (repeatable)', repeatable: true, group: 'Proxy' },
  { names: ['--proxy-retry'], kind: 'bool', help: 'Move to the next backend on retryable statuses', group: 'Routing' },
  { names: ['--proxy-retry-status-codes'], kind: 'codes', arg: 'CODES', help: 'Statuses that retry (default 429,500,502,503,504); implies --proxy-retry', implies: '--proxy-retry', group: 'Routing' },
  { names: ['--proxy-retry-max-attempts'], kind: 'uint', arg: 'N', help: 'Most backends tried per request (default: all candidates); implies --proxy-retry', implies: '--proxy-retry', min: 0, group: 'Routing' },
  { names: ['--proxy-fallback-status-codes'], kind: 'codes', arg: 'CODES', help: 'Statuses that move to the next backend even without --proxy-retry', group: 'Routing' },
  { names: ['--proxy-network-error-action'], kind: 'action', arg: 'none|fallback|retry', help: 'On connect/reset errors (default fallback)', group: 'Routing' },
  { names: ['--proxy-timeout-error-action'], kind: 'action', arg: 'none|fallback|retry', help: 'On upstream timeouts (default fallback)', group: 'Routing' },
  { names: ['--proxy-circuit-breaker'], kind: 'bool', help: 'Skip backends after consecutive failures, for a cooldown', group: 'Routing' },
  { names: ['--proxy-cb-failure-threshold'], kind: 'uint', arg: 'N', help: 'Consecutive failures that open the breaker (default 3)', implies: '--proxy-circuit-breaker', min: 0, floor: 1, group: 'Routing' },
  { names: ['--proxy-cb-cooldown-secs'], kind: 'secs', arg: 'S', help: 'How long an open breaker skips the backend (default 30)', implies: '--proxy-circuit-breaker', min: 0, group: 'Routing' },
  { names: ['--proxy-cb-failure-status-codes'], kind: 'codes', arg: 'CODES', help: 'Extra statuses counted as failures', implies: '--proxy-circuit-breaker', group: 'Routing' },
  { names: ['--proxy-cb-no-network-errors'], kind: 'bool', help: 'Do not count network errors', implies: '--proxy-circuit-breaker', group: 'Routing' },
  { names: ['--proxy-cb-no-timeout-errors'], kind: 'bool', help: 'Do not count timeouts', implies: '--proxy-circuit-breaker', group: 'Routing' },
  { names: ['--proxy-cb-no-server-errors'], kind: 'bool', help: 'Do not count 5xx responses', implies: '--proxy-circuit-breaker', group: 'Routing' },
  { names: ['--proxy-health-checks'], kind: 'bool', help: 'Probe passthrough backends in the background; skip unhealthy ones', group: 'Routing' },
  { names: ['--proxy-health-check-path'], kind: 'string', arg: 'P', help: 'Probe path (default /v1/models)', implies: '--proxy-health-checks', group: 'Routing' },
  { names: ['--proxy-health-check-interval-secs'], kind: 'secs', arg: 'S', help: 'Probe interval (default 10, floor 1)', implies: '--proxy-health-checks', min: 0, floor: 1, group: 'Routing' },
  { names: ['--proxy-health-check-timeout-secs'], kind: 'secs', arg: 'S', help: 'Probe timeout (default 2, floor 1)', implies: '--proxy-health-checks', min: 0, floor: 1, group: 'Routing' },
  { names: ['--state'], kind: 'string', arg: 'PATH', help: 'Persist virtual keys and router in a JSON file (no ledgers, no audit)', group: 'Governance' },
  { names: ['--sqlite'], kind: 'string', arg: 'PATH', help: 'SQLite store: keys, router, rate limits, budgets, audit (one host)', group: 'Governance' },
  { names: ['--redis'], kind: 'string', arg: 'URL', help: 'Redis store shared by replicas: keys, router, rate limits, budgets, audit', group: 'Governance' },
  { names: ['--redis-env'], kind: 'string', arg: 'ENV', help: 'Read the Redis URL from env var ENV', group: 'Governance' },
  { names: ['--redis-prefix'], kind: 'string', arg: 'P', help: 'Redis key prefix (default ditto); needs --redis or --redis-env', group: 'Governance' },
  { names: ['--audit-retention-secs'], kind: 'secs', arg: 'S', help: 'Prune audit records older than S seconds (default 2592000; 0 = keep forever)', min: 0, group: 'Governance' },
  { names: ['--reap-stale-after-secs'], kind: 'secs', arg: 'S', help: 'Startup sweep: release budget reservations older than S seconds (default 3600)', min: 0, group: 'Governance' },
  { names: ['--db-doctor'], kind: 'bool', help: 'Check the --sqlite/--redis store schema, print "db doctor: schema checks passed", exit', group: 'Governance' },
  { names: ['--pricing-litellm'], kind: 'string', arg: 'PATH', help: 'LiteLLM model_prices_and_context_window.json for USD budgets and costs', group: 'Governance' },
  { names: ['--proxy-usage-max-body-bytes'], kind: 'uint', arg: 'N', help: 'Largest non-SSE response buffered to read usage (default 1048576; 0 = never)', min: 0, group: 'Governance' },
  { names: ['--admin-token'], kind: 'string', arg: 'T', help: 'Global admin token (read and write); mounts /admin/*; may be secret://…', group: 'Admin' },
  { names: ['--admin-token-env'], kind: 'string', arg: 'ENV', help: 'Read the global admin token from env var ENV', group: 'Admin' },
  { names: ['--admin-read-token'], kind: 'string', arg: 'T', help: 'Global read-only admin token; may be secret://…', group: 'Admin' },
  { names: ['--admin-read-token-env'], kind: 'string', arg: 'ENV', help: 'Read the global read-only admin token from env var ENV', group: 'Admin' },
  { names: ['--admin-tenant-token'], kind: 'tenant', arg: 'TENANT=T', help: 'Admin token limited to one tenant (repeatable)', repeatable: true, group: 'Admin' },
  { names: ['--admin-tenant-token-env'], kind: 'tenant', arg: 'TENANT=ENV', help: 'Tenant admin token from env var ENV (repeatable)', repeatable: true, group: 'Admin' },
  { names: ['--admin-tenant-read-token'], kind: 'tenant', arg: 'TENANT=T', help: 'Read-only admin token limited to one tenant (repeatable)', repeatable: true, group: 'Admin' },
  { names: ['--admin-tenant-read-token-env'], kind: 'tenant', arg: 'TENANT=ENV', help: 'Tenant read-only admin token from env var ENV (repeatable)', repeatable: true, group: 'Admin' },
  { names: ['--prometheus-metrics'], kind: 'bool', help: 'Serve Prometheus metrics on GET /metrics/prometheus', group: 'Observability' },
  { names: ['--prometheus-max-key-series'], kind: 'uint', arg: 'N', help: 'Most virtual_key_id label values (default 1024); more fold into __overflow__', implies: '--prometheus-metrics', min: 1, group: 'Observability' },
  { names: ['--prometheus-max-model-series'], kind: 'uint', arg: 'N', help: 'Most model label values (default 1024)', implies: '--prometheus-metrics', min: 1, group: 'Observability' },
  { names: ['--prometheus-max-backend-series'], kind: 'uint', arg: 'N', help: 'Most backend label values (default 128)', implies: '--prometheus-metrics', min: 1, group: 'Observability' },
  { names: ['--prometheus-max-path-series'], kind: 'uint', arg: 'N', help: 'Most path label values (default 128)', implies: '--prometheus-metrics', min: 1, group: 'Observability' },
  { names: ['--otel'], kind: 'bool', help: 'Record OpenTelemetry traces; export OTLP/HTTP JSON (default http://127.0.0.1:4318/v1/traces)', group: 'Observability' },
  { names: ['--otel-endpoint'], kind: 'string', arg: 'URL', help: 'OTLP/HTTP traces endpoint; implies --otel', implies: '--otel', group: 'Observability' },
  { names: ['--otel-json'], kind: 'bool', help: 'Write spans as JSON lines to stderr instead of exporting; implies --otel', implies: '--otel', group: 'Observability' },
  { names: ['--devtools'], kind: 'string', arg: 'PATH', help: 'Append redacted, sampled request/response JSON lines to PATH', group: 'Observability' },
  { names: ['--help', '-h'], kind: 'bool', help: 'Print this help and exit', group: 'Other' },
  { names: ['--version', '-V'], kind: 'bool', help: 'Print the version and exit', group: 'Other' },
];

export type ErrorAction = 'none' | 'fallback' | 'retry';

/** Parsed command line with defaults applied. */
export interface CliOptions {
  configPath: string | undefined;
  listen: { host: string; port: number };
  dotenv: string | undefined;
  jsonLogs: boolean;
  shutdownGraceSecs: number;
  check: boolean;
  maxInFlight: number;
  maxBodyBytes: number;
  upstreams: Array<{ name: string; url: string }>;
  retry: boolean;
  retryStatusCodes: number[];
  retryMaxAttempts: number;
  fallbackStatusCodes: number[];
  networkErrorAction: ErrorAction;
  timeoutErrorAction: ErrorAction;
  circuitBreaker: boolean;
  cbFailureThreshold: number;
  cbCooldownSecs: number;
  cbFailureStatusCodes: number[];
  cbNetworkErrors: boolean;
  cbTimeoutErrors: boolean;
  cbServerErrors: boolean;
  healthChecks: boolean;
  healthCheckPath: string;
  healthCheckIntervalSecs: number;
  healthCheckTimeoutSecs: number;
  /** Stores (CONTRACT §1.2, §4.15): at most one of state / sqlite / redis (redisEnv is resolved by main.ts). */
  statePath: string | undefined;
  sqlitePath: string | undefined;
  redisUrl: string | undefined;
  redisEnv: string | undefined;
  redisPrefix: string | undefined;
  /** Undefined = the default (2592000 s with a store); 0 = keep forever. */
  auditRetentionSecs: number | undefined;
  reapStaleAfterSecs: number;
  dbDoctor: boolean;
  pricingLitellm: string | undefined;
  usageMaxBodyBytes: number;
  /** Admin tokens as given (CONTRACT §1.2); main.ts resolves `*-env` and `secret://` into the plain fields. */
  adminToken: string | undefined;
  adminTokenEnv: string | undefined;
  adminReadToken: string | undefined;
  adminReadTokenEnv: string | undefined;
  adminTenantTokens: Array<{ tenant: string; token: string }>;
  adminTenantTokenEnvs: Array<{ tenant: string; env: string }>;
  adminTenantReadTokens: Array<{ tenant: string; token: string }>;
  adminTenantReadTokenEnvs: Array<{ tenant: string; env: string }>;
  prometheusMetrics: boolean;
  prometheusMaxKeySeries: number;
  prometheusMaxModelSeries: number;
  prometheusMaxBackendSeries: number;
  prometheusMaxPathSeries: number;
  otel: boolean;
  /** `--otel-endpoint`; main.ts fills it from `OTEL_EXPORTER_OTLP_ENDPOINT` when unset. */
  otelEndpoint: string | undefined;
  otelJson: boolean;
  devtools: string | undefined;
  help: boolean;
  version: boolean;
}

/** A usage error (unknown flag, missing value): print the message and the usage on stderr, exit 2. */
export class UsageError extends Error {}

/**
 * A flag whose value is unusable (`invalid --listen`, `--proxy-max-in-flight must be > 0`): a fatal
 * startup error (CONTRACT §1.1), one stderr message naming the flag, exit 1.
 */
export class FlagError extends Error {}

/** Defaults for every option (CONTRACT §1.2). */
export function defaultOptions(): CliOptions {
  return {
    configPath: undefined,
    listen: { host: '127.0.0.1', port: 8080 },
    dotenv: undefined,
    jsonLogs: false,
    shutdownGraceSecs: 30,
    check: false,
    maxInFlight: 256,
    maxBodyBytes: 67108864,
    upstreams: [],
    retry: false,
    retryStatusCodes: [429, 500, 502, 503, 504],
    retryMaxAttempts: 0,
    fallbackStatusCodes: [],
    networkErrorAction: 'fallback',
    timeoutErrorAction: 'fallback',
    circuitBreaker: false,
    cbFailureThreshold: 3,
    cbCooldownSecs: 30,
    cbFailureStatusCodes: [],
    cbNetworkErrors: true,
    cbTimeoutErrors: true,
    cbServerErrors: true,
    healthChecks: false,
    healthCheckPath: '/v1/models',
    healthCheckIntervalSecs: 10,
    healthCheckTimeoutSecs: 2,
    statePath: undefined,
    sqlitePath: undefined,
    redisUrl: undefined,
    redisEnv: undefined,
    redisPrefix: undefined,
    auditRetentionSecs: undefined,
    reapStaleAfterSecs: 3600,
    dbDoctor: false,
    pricingLitellm: undefined,
    usageMaxBodyBytes: 1048576,
    adminToken: undefined,
    adminTokenEnv: undefined,
    adminReadToken: undefined,
    adminReadTokenEnv: undefined,
    adminTenantTokens: [],
    adminTenantTokenEnvs: [],
    adminTenantReadTokens: [],
    adminTenantReadTokenEnvs: [],
    prometheusMetrics: false,
    prometheusMaxKeySeries: 1024,
    prometheusMaxModelSeries: 1024,
    prometheusMaxBackendSeries: 128,
    prometheusMaxPathSeries: 128,
    otel: false,
    otelEndpoint: undefined,
    otelJson: false,
    devtools: undefined,
    help: false,
    version: false,
  };
}

const byName = new Map<string, FlagSpec>();
for (const f of FLAGS) for (const n of f.names) byName.set(n, f);

/** Parse `--listen` values: `HOST:PORT`, `[v6]:PORT` or `:PORT`. */
export function parseListen(v: string): { host: string; port: number } | undefined {
  let host: string;
  let portStr: string;
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0 || v[end + 1] !== ':') return undefined;
    host = v.slice(1, end);
    portStr = v.slice(end + 2);
  } else {
    const c = v.lastIndexOf(':');
    if (c < 0) return undefined;
    host = v.slice(0, c) || '0.0.0.0';
    portStr = v.slice(c + 1);
  }
  if (!/^\d{1,5}$/.test(portStr)) return undefined;
  const port = Number(portStr);
  if (port > 65535 || host === '') return undefined;
  return { host, port };
}

/**
 * Parse a CODES list: comma separated, trimmed, de-duplicated, sorted. Empty items (a trailing comma)
 * are skipped; no codes at all, a non-integer or a number outside 100-599 is invalid.
 */
export function parseCodes(v: string): number[] | undefined {
  const parts = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0 || parts.some((p) => !/^\d{3}$/.test(p))) return undefined;
  const codes = [...new Set(parts.map(Number))].sort((a, b) => a - b);
  return codes.every((c) => c >= 100 && c <= 599) ? codes : undefined;
}

/** Parse argv (without node and script). Throws {@link UsageError} or {@link FlagError}. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const o = defaultOptions();
  if (argv.some((a) => a === '--help' || a === '-h')) return { ...o, help: true };
  if (argv.some((a) => a === '--version' || a === '-V')) return { ...o, version: true };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-') || arg === '-') {
      if (o.configPath !== undefined) throw new UsageError(`unexpected extra argument: ${arg}`);
      o.configPath = arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown arg: ${arg}`);
    const canonical = spec.names[0] as string;
    if (seen.has(canonical) && !spec.repeatable) throw new UsageError(`${canonical} given more than once`);
    seen.add(canonical);
    let value: string | undefined;
    if (spec.kind === 'bool') {
      if (eq > 0 && name !== arg) throw new UsageError(`${name} takes no value`);
    } else if (eq > 0 && name !== arg) {
      value = arg.slice(eq + 1);
    } else {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`missing value for ${name}`);
    }
    apply(o, canonical, spec, name, value);
    if (spec.implies) apply(o, spec.implies, byName.get(spec.implies) as FlagSpec, spec.implies, undefined);
  }
  checkStoreFlags(o, seen);
  checkAdminFlags(o, seen);
  return o;
}

/** §1.3: a token flag and its `-env` twin exclude each other; a tenant appears once per token family. */
function checkAdminFlags(o: CliOptions, seen: ReadonlySet<string>): void {
  for (const [a, b] of [['--admin-token', '--admin-token-env'], ['--admin-read-token', '--admin-read-token-env']] as const) {
    if (seen.has(a) && seen.has(b)) throw new FlagError(`${a} cannot be combined with ${b}`);
  }
  const families = [
    ['--admin-tenant-token', [...o.adminTenantTokens, ...o.adminTenantTokenEnvs]],
    ['--admin-tenant-read-token', [...o.adminTenantReadTokens, ...o.adminTenantReadTokenEnvs]],
  ] as const;
  for (const [flag, specs] of families) {
    const tenants = new Set<string>();
    for (const { tenant } of specs) {
      if (tenants.has(tenant)) throw new FlagError(`duplicate tenant for ${flag}: ${tenant}`);
      tenants.add(tenant);
    }
  }
}

/** Split a `TENANT=VALUE` spec (`<flag> must be TENANT_ID=TOKEN`); both sides trimmed and non-empty. */
function tenantSpec(name: string, v: string): { tenant: string; value: string } {
  const eq = v.indexOf('=');
  const tenant = eq > 0 ? v.slice(0, eq).trim() : '';
  const value = eq > 0 ? v.slice(eq + 1).trim() : '';
  if (tenant === '' || value === '') throw new FlagError(`${name} must be TENANT_ID=TOKEN`);
  return { tenant, value };
}

function num(spec: FlagSpec, name: string, value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value.trim())) throw new FlagError(`invalid ${name}: ${JSON.stringify(value)} is not a number`);
  const n = Number(value);
  if (spec.kind === 'uint' && !Number.isInteger(n)) throw new FlagError(`invalid ${name}: must be a whole number`);
  if (!Number.isFinite(n)) throw new FlagError(`invalid ${name}`);
  if (spec.min !== undefined && n < spec.min) {
    throw new FlagError(spec.min === 1 && n === 0 ? `${name} must be > 0` : `invalid ${name}: must be >= ${spec.min}`);
  }
  return spec.floor !== undefined && n < spec.floor ? spec.floor : n;
}

function apply(o: CliOptions, canonical: string, spec: FlagSpec, name: string, value: string | undefined): void {
  const v = value ?? '';
  switch (canonical) {
    case '--listen': {
      const l = parseListen(v);
      if (!l) throw new FlagError(`invalid ${name}: expected HOST:PORT, got ${JSON.stringify(v)}`);
      o.listen = l;
      return;
    }
    case '--dotenv': o.dotenv = v; return;
    case '--json-logs': o.jsonLogs = true; return;
    case '--shutdown-grace-secs': o.shutdownGraceSecs = num(spec, name, v); return;
    case '--check': o.check = true; return;
    case '--proxy-max-in-flight': o.maxInFlight = num(spec, name, v); return;
    case '--proxy-max-body-bytes': o.maxBodyBytes = num(spec, name, v); return;
    case '--upstream': {
      const eq = v.indexOf('=');
      const n = eq > 0 ? v.slice(0, eq).trim() : '';
      const url = eq > 0 ? v.slice(eq + 1).trim() : '';
      if (n === '' || url === '') throw new FlagError(`--upstream must be NAME=BASE_URL, got ${JSON.stringify(v)}`);
      try {
        const u = new URL(url);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      } catch {
        throw new FlagError(`invalid --upstream: ${JSON.stringify(url)} is not an http(s) URL`);
      }
      o.upstreams.push({ name: n, url });
      return;
    }
    case '--proxy-retry': o.retry = true; return;
    case '--proxy-retry-status-codes': o.retryStatusCodes = codes(name, v); return;
    case '--proxy-retry-max-attempts': o.retryMaxAttempts = num(spec, name, v); return;
    case '--proxy-fallback-status-codes': o.fallbackStatusCodes = codes(name, v); return;
    case '--proxy-network-error-action': o.networkErrorAction = action(name, v); return;
    case '--proxy-timeout-error-action': o.timeoutErrorAction = action(name, v); return;
    case '--proxy-circuit-breaker': o.circuitBreaker = true; return;
    case '--proxy-cb-failure-threshold': o.cbFailureThreshold = num(spec, name, v); return;
    case '--proxy-cb-cooldown-secs': o.cbCooldownSecs = num(spec, name, v); return;
    case '--proxy-cb-failure-status-codes': o.cbFailureStatusCodes = codes(name, v); return;
    case '--proxy-cb-no-network-errors': o.cbNetworkErrors = false; return;
    case '--proxy-cb-no-timeout-errors': o.cbTimeoutErrors = false; return;
    case '--proxy-cb-no-server-errors': o.cbServerErrors = false; return;
    case '--proxy-health-checks': o.healthChecks = true; return;
    case '--proxy-health-check-path':
      if (v.trim() === '') throw new FlagError('--proxy-health-check-path cannot be empty');
      o.healthCheckPath = v.startsWith('/') ? v : `/${v}`;
      return;
    case '--proxy-health-check-interval-secs': o.healthCheckIntervalSecs = num(spec, name, v); return;
    case '--proxy-health-check-timeout-secs': o.healthCheckTimeoutSecs = num(spec, name, v); return;
    case '--prometheus-metrics': o.prometheusMetrics = true; return;
    case '--prometheus-max-key-series': o.prometheusMaxKeySeries = num(spec, name, v); return;
    case '--prometheus-max-model-series': o.prometheusMaxModelSeries = num(spec, name, v); return;
    case '--prometheus-max-backend-series': o.prometheusMaxBackendSeries = num(spec, name, v); return;
    case '--prometheus-max-path-series': o.prometheusMaxPathSeries = num(spec, name, v); return;
    case '--otel': o.otel = true; return;
    case '--otel-endpoint':
      try {
        const u = new URL(v);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      } catch {
        throw new FlagError(`invalid --otel-endpoint: ${JSON.stringify(v)} is not an http(s) URL`);
      }
      o.otelEndpoint = v;
      return;
    case '--otel-json': o.otelJson = true; return;
    case '--devtools':
      if (v.trim() === '') throw new FlagError('--devtools cannot be empty');
      o.devtools = v;
      return;
    case '--state': o.statePath = nonEmpty(name, v); return;
    case '--sqlite': o.sqlitePath = nonEmpty(name, v); return;
    case '--redis': o.redisUrl = nonEmpty(name, v); return;
    case '--redis-env': o.redisEnv = nonEmpty(name, v); return;
    case '--redis-prefix': o.redisPrefix = nonEmpty(name, v); return;
    case '--audit-retention-secs': o.auditRetentionSecs = num(spec, name, v); return;
    case '--reap-stale-after-secs': o.reapStaleAfterSecs = num(spec, name, v); return;
    case '--db-doctor': o.dbDoctor = true; return;
    case '--pricing-litellm': o.pricingLitellm = nonEmpty(name, v); return;
    case '--proxy-usage-max-body-bytes': o.usageMaxBodyBytes = num(spec, name, v); return;
    case '--admin-token': o.adminToken = v; return;
    case '--admin-token-env': o.adminTokenEnv = v.trim(); return;
    case '--admin-read-token': o.adminReadToken = v; return;
    case '--admin-read-token-env': o.adminReadTokenEnv = v.trim(); return;
    case '--admin-tenant-token': { const t = tenantSpec(name, v); o.adminTenantTokens.push({ tenant: t.tenant, token: t.value }); return; }
    case '--admin-tenant-token-env': { const t = tenantSpec(name, v); o.adminTenantTokenEnvs.push({ tenant: t.tenant, env: t.value }); return; }
    case '--admin-tenant-read-token': { const t = tenantSpec(name, v); o.adminTenantReadTokens.push({ tenant: t.tenant, token: t.value }); return; }
    case '--admin-tenant-read-token-env': { const t = tenantSpec(name, v); o.adminTenantReadTokenEnvs.push({ tenant: t.tenant, env: t.value }); return; }
    default: throw new UsageError(`unknown arg: ${name}`);
  }
}

function nonEmpty(name: string, v: string): string {
  const t = v.trim();
  if (t === '') throw new FlagError(`${name} cannot be empty`);
  return t;
}

/** §1.3 store exclusions: `--redis`/`--redis-env`, one persistence target, `--redis-prefix` needs Redis, `--db-doctor` needs a store. */
function checkStoreFlags(o: CliOptions, seen: ReadonlySet<string>): void {
  if (seen.has('--redis') && seen.has('--redis-env')) throw new FlagError('--redis cannot be combined with --redis-env');
  const targets = ['--state', '--sqlite', '--redis', '--redis-env'].filter((f) => seen.has(f)).length;
  if (targets > 1) throw new FlagError('choose exactly one of --state, --sqlite, --pg/--postgres, --mysql, or --redis');
  if (seen.has('--redis-prefix') && !seen.has('--redis') && !seen.has('--redis-env')) {
    throw new FlagError('--redis-prefix requires --redis or --redis-env');
  }
  if (o.dbDoctor && o.sqlitePath === undefined && o.redisUrl === undefined && o.redisEnv === undefined) {
    throw new FlagError('--db-doctor requires --sqlite or --redis (or --redis-env)');
  }
}

function codes(name: string, v: string): number[] {
  const c = parseCodes(v);
  if (!c) throw new FlagError(`invalid ${name}: expected a comma list of HTTP status codes, got ${JSON.stringify(v)}`);
  return c;
}

function action(name: string, v: string): ErrorAction {
  if (v === 'none' || v === 'fallback' || v === 'retry') return v;
  throw new FlagError(`invalid ${name}: expected none, fallback or retry, got ${JSON.stringify(v)}`);
}

/** The `--help` text, generated from {@link FLAGS}. */
export function usage(): string {
  const lines = [
    'Usage: ditto-gateway <config.(json|yaml|yml)> [flags...]',
    '       ditto-gateway --help | --version',
    '       ditto-gateway audit-verify FILE   (check an exported audit chain, JSONL or CSV)',
    '',
    'An OpenAI-compatible LLM gateway: virtual keys, routing with fallbacks, streaming.',
    'The config may be a ditto gateway.json/.yaml or a LiteLLM proxy_config.yaml.',
    'Flags take their value as the next argument or as --flag=value.',
  ];
  let group = '';
  for (const f of FLAGS) {
    if (f.group !== group) {
      group = f.group;
      lines.push('', `${group}:`);
    }
    const left = `  ${f.names.join(', ')}${f.arg ? ` ${f.arg}` : ''}`;
    lines.push(left.length >= 40 ? `${left}\n${' '.repeat(40)}${f.help}` : `${left.padEnd(40)}${f.help}`);
  }
  lines.push('', 'Docs: README.md (quickstart, config reference, errors).');
  return lines.join('\n');
}
