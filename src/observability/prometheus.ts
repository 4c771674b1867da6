import type * as PromClient from 'prom-client';
import { lazyRequire } from '../util/lazy-require.js';
import type { AttemptRecord, RequestContext } from '../pipeline/context.js';
import type { Backend } from '../upstream/types.js';
import { CounterFamily, HistogramFamily, observe, type HistogramSeries, type Series } from './exposition.js';
import type { Redactor } from './redact.js';

/** prom-client, loaded by the first `ProxyMetrics` (`--prometheus-metrics`): a gateway without metrics never pays its memory. */
const promClient = lazyRequire<typeof PromClient>('prom-client');

/** Series caps per label dimension (`--prometheus-max-*-series`). */
export interface SeriesCaps {
  key: number;
  model: number;
  backend: number;
  path: number;
}

export const OVERFLOW = '__overflow__';
const P = 'ditto_gateway_proxy_';

/**
 * One label dimension (key, model, backend, path): redacts raw values (§4.14: the label name against
 * `redact_key_names`, `redact_regexes` on the value) and folds every distinct value past the cap into
 * `__overflow__`. Raw → label results are memoised, boundedly, so a known value costs one map lookup.
 */
class Dimension {
  readonly #memo = new Map<string, string>();
  readonly #values = new Set<string>();
  constructor(readonly label: string, readonly cap: number, readonly redactor: Redactor) {}

  resolve(raw: string): string {
    const hit = this.#memo.get(raw);
    if (hit !== undefined) return hit;
    const v = this.redactor.labelValue(this.label, raw);
    let out = v;
    if (!this.#values.has(v)) {
      if (this.#values.size < this.cap) this.#values.add(v);
      else out = OVERFLOW;
    }
    if (this.#memo.size < this.cap * 4) this.#memo.set(raw, out);
    return out;
  }
}

/** Known `/v1` endpoints, labelled as themselves (§4.14). */
const KNOWN_PATHS = new Set([
  '/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/moderations', '/v1/images/generations',
  '/v1/images/edits', '/v1/images/variations', '/v1/audio/transcriptions', '/v1/audio/translations', '/v1/audio/speech',
  '/v1/rerank', '/v1/responses', '/v1/responses/compact', '/v1/responses/input_tokens', '/v1/models', '/v1/files',
  '/v1/batches', '/v1/messages', '/v1/messages/count_tokens', '/v1/gateway', '/v1/uploads', '/v1/vector_stores',
]);

/**
 * The `path` label (§4.14): known endpoints as themselves; `/v1/models/*`, `/v1/batches/*`,
 * `/v1/batches/*\/cancel`, `/v1/files/*`, `/v1/files/*\/content`, `/v1/responses/*`; any other `/v1`
 * path `/v1/*`; outside `/v1` the first segment plus `/*`. Ids never become label values.
 */
export function normalizePath(path: string): string {
  if (KNOWN_PATHS.has(path)) return path;
  if (path.startsWith('/v1/')) {
    const parts = path.split('/'); // ['', 'v1', a, b, c?]
    const a = parts[2];
    const n = parts.length;
    if (a === 'models' && n >= 4) return '/v1/models/*';
    if (a === 'batches' && n === 4) return '/v1/batches/*';
    if (a === 'batches' && n === 5 && parts[4] === 'cancel') return '/v1/batches/*/cancel';
    if (a === 'files' && n === 4) return '/v1/files/*';
    if (a === 'files' && n === 5 && parts[4] === 'content') return '/v1/files/*/content';
    if (a === 'responses' && n >= 4) return '/v1/responses/*';
    return '/v1/*';
  }
  const seg = path.split('/')[1] ?? '';
  return seg === '' ? '/' : `/${seg}/*`;
}

/** Statuses the gateway itself answered for a governance reason, by error code. */
const RATE_LIMIT_CODES = new Set(['rate_limited', 'inflight_limit', 'inflight_limit_key', 'inflight_limit_backend']);
const BUDGET_CODES = new Set(['budget_exceeded', 'cost_budget_exceeded']);
const GUARDRAIL_CODES = new Set(['guardrail_rejected']);

/** Per-request series resolved once per distinct label set. */
interface Trio {
  total: Series;
  byKey: CounterFamily;
  byModel: CounterFamily;
  byPath: CounterFamily;
}

/**
 * Every `ditto_gateway_proxy_*` family of CONTRACT §4.14 plus the standard process metrics
 * (prom-client's `collectDefaultMetrics`). Observation happens in the `observe` finalizer
 * ({@link ProxyMetrics.request}) and in the per-attempt hook ({@link ProxyMetrics.attempt}).
 */
export class ProxyMetrics {
  readonly #families: Array<CounterFamily | HistogramFamily> = [];
  readonly #process: PromClient.Registry = new (promClient().Registry)();
  readonly key: Dimension;
  readonly model: Dimension;
  readonly backend: Dimension;
  readonly path: Dimension;
  readonly #pathMemo = new Map<string, string>();

  readonly requests: Trio;
  readonly rateLimited: Trio;
  readonly guardrailBlocked: Trio;
  readonly budgetExceeded: Trio;
  readonly duration: HistogramFamily;
  readonly durationByModel: HistogramFamily;
  readonly backendDuration: HistogramFamily;
  readonly responses: CounterFamily;
  readonly responsesByPathStatus: CounterFamily;
  readonly responsesByBackendStatus: CounterFamily;
  readonly responsesByModelStatus: CounterFamily;
  readonly backendAttempts: CounterFamily;
  readonly backendSuccess: CounterFamily;
  readonly backendFailures: CounterFamily;
  readonly backendInFlight: CounterFamily;
  readonly streamConnections: CounterFamily;
  readonly streamConnectionsByBackend: CounterFamily;
  readonly streamConnectionsByPath: CounterFamily;
  readonly stream: Record<'bytes' | 'completed' | 'errors' | 'aborted', { total: CounterFamily; byBackend: CounterFamily; byPath: CounterFamily }>;
  readonly cacheLookups: CounterFamily;
  readonly cacheLookupsByPath: CounterFamily;
  readonly cacheHits: CounterFamily;
  readonly cacheHitsBySource: CounterFamily;
  readonly cacheHitsByPath: CounterFamily;
  readonly cacheMisses: CounterFamily;
  readonly cacheMissesByPath: CounterFamily;
  readonly cacheStores: CounterFamily;
  readonly cacheStoreErrors: CounterFamily;
  readonly cachePurges: CounterFamily;
  readonly inputTokens: CounterFamily;
  readonly outputTokens: CounterFamily;
  readonly costUsd: CounterFamily;

  constructor(caps: SeriesCaps, redactor: Redactor, readonly backends: ReadonlyMap<string, Backend>) {
    this.key = new Dimension('virtual_key_id', caps.key, redactor);
    this.model = new Dimension('model', caps.model, redactor);
    this.backend = new Dimension('backend', caps.backend, redactor);
    this.path = new Dimension('path', caps.path, redactor);
    const c = (name: string, help: string, labels: string[] = []): CounterFamily => this.#add(new CounterFamily(P + name, help, labels));
    const g = (name: string, help: string, labels: string[] = []): CounterFamily => this.#add(new CounterFamily(P + name, help, labels, 'gauge'));
    const h = (name: string, help: string, labels: string[]): HistogramFamily => this.#add(new HistogramFamily(P + name, help, labels));
    const trio = (base: string, what: string): Trio => ({
      total: c(`${base}_total`, `${what}.`).plain(),
      byKey: c(`${base}_by_key_total`, `${what}, by virtual key id ("public" without a key).`, ['virtual_key_id']),
      byModel: c(`${base}_by_model_total`, `${what}, by requested model (when known).`, ['model']),
      byPath: c(`${base}_by_path_total`, `${what}, by normalised path.`, ['path']),
    });
    this.requests = trio('requests', 'Proxy requests');
    this.rateLimited = trio('rate_limited', 'Requests refused with 429 by a rate or in-flight limit');
    this.guardrailBlocked = trio('guardrail_blocked', 'Requests refused by a guardrail');
    this.budgetExceeded = trio('budget_exceeded', 'Requests refused with 402 by a token or USD budget');
    this.duration = h('request_duration_seconds', 'Time from request arrival to the end of the response (streams included), by path.', ['path']);
    this.durationByModel = h('request_duration_seconds_by_model', 'Time from request arrival to the end of the response, by model.', ['model']);
    this.backendDuration = h('backend_request_duration_seconds', 'Time from sending an upstream attempt to its response headers (or failure), by backend.', ['backend']);
    this.responses = c('responses_total', 'Responses by HTTP status (499: the client left before a status was sent).', ['status']);
    this.responsesByPathStatus = c('responses_by_path_status_total', 'Responses by path and status.', ['path', 'status']);
    this.responsesByBackendStatus = c('responses_by_backend_status_total', 'Relayed responses by backend and status.', ['backend', 'status']);
    this.responsesByModelStatus = c('responses_by_model_status_total', 'Responses by model and status.', ['model', 'status']);
    this.backendAttempts = c('backend_attempts_total', 'Upstream attempts sent, by backend.', ['backend']);
    this.backendSuccess = c('backend_success_total', 'Upstream attempts answered with a status below 500 (and not 429), by backend.', ['backend']);
    this.backendFailures = c('backend_failures_total', 'Upstream attempts that failed: network error, timeout, 5xx or 429, by backend.', ['backend']);
    this.backendInFlight = g('backend_in_flight', 'Upstream attempts (and relays) in flight, by backend.', ['backend']);
    this.streamConnections = g('stream_connections', 'SSE streams being relayed.');
    this.streamConnectionsByBackend = g('stream_connections_by_backend', 'SSE streams being relayed, by backend.', ['backend']);
    this.streamConnectionsByPath = g('stream_connections_by_path', 'SSE streams being relayed, by path.', ['path']);
    const streamTrio = (what: string, help: string) => ({
      total: c(`stream_${what}_total`, `${help}.`),
      byBackend: c(`stream_${what}_by_backend_total`, `${help}, by backend.`, ['backend']),
      byPath: c(`stream_${what}_by_path_total`, `${help}, by path.`, ['path']),
    });
    this.stream = {
      bytes: streamTrio('bytes', 'Bytes relayed to clients in SSE streams'),
      completed: streamTrio('completed', 'SSE streams relayed to their end'),
      errors: streamTrio('errors', 'SSE streams cut short by an upstream failure'),
      aborted: streamTrio('aborted', 'SSE streams the client left before their end'),
    };
    this.cacheLookups = c('cache_lookups_total', 'Proxy cache lookups.');
    this.cacheLookupsByPath = c('cache_lookups_by_path_total', 'Proxy cache lookups, by path.', ['path']);
    this.cacheHits = c('cache_hits_total', 'Proxy cache hits.');
    this.cacheHitsBySource = c('cache_hits_by_source_total', 'Proxy cache hits, by source (memory, redis).', ['source']);
    this.cacheHitsByPath = c('cache_hits_by_path_total', 'Proxy cache hits, by path.', ['path']);
    this.cacheMisses = c('cache_misses_total', 'Proxy cache misses.');
    this.cacheMissesByPath = c('cache_misses_by_path_total', 'Proxy cache misses, by path.', ['path']);
    this.cacheStores = c('cache_stores_total', 'Responses stored in the proxy cache, by target.', ['target']);
    this.cacheStoreErrors = c('cache_store_errors_total', 'Failed proxy cache stores, by target.', ['target']);
    this.cachePurges = c('cache_purges_total', 'Proxy cache purges, by scope.', ['scope']);
    // Settled usage (governance), beyond the §4.14 families: for spend and token dashboards.
    const u = (name: string, help: string): CounterFamily => this.#add(new CounterFamily(`ditto_gateway_usage_${name}`, help, ['virtual_key_id', 'model']));
    this.inputTokens = u('input_tokens_total', 'Input (prompt) tokens of settled requests, by virtual key and model, as the provider reported them.');
    this.outputTokens = u('output_tokens_total', 'Output (completion) tokens of settled requests, by virtual key and model.');
    this.costUsd = u('cost_usd_total', 'Cost in USD of settled requests (with a pricing table), by virtual key and model.');
    promClient().collectDefaultMetrics({ register: this.#process });
  }

  #add<F extends CounterFamily | HistogramFamily>(f: F): F {
    this.#families.push(f);
    return f;
  }

  /** The `path` label of a request path (normalised, capped), memoised per raw path. */
  pathLabel(path: string): string {
    const hit = this.#pathMemo.get(path);
    if (hit !== undefined) return hit;
    const v = this.path.resolve(normalizePath(path));
    if (this.#pathMemo.size < 4096) this.#pathMemo.set(path, v);
    return v;
  }

  /** Per-attempt hook (forward stage): attempts, success/failure and the backend duration histogram. */
  attempt(rec: AttemptRecord): void {
    if (rec.result === 'skipped_inflight') return;
    const b = this.backend.resolve(rec.backend);
    this.backendAttempts.child(b).value++;
    observe(this.backendDuration.child(b), rec.durationMs / 1000);
    if (rec.result === 'aborted') return;
    const status = rec.status ?? 0;
    if (rec.result === 'ok' && status < 500 && status !== 429) this.backendSuccess.child(b).value++;
    else this.backendFailures.child(b).value++;
  }

  /** An SSE relay started (forward stage); {@link request} ends it. */
  streamOpened(ctx: RequestContext, backend: string): void {
    this.streamConnections.plain().value++;
    this.streamConnectionsByBackend.child(this.backend.resolve(backend)).value++;
    this.streamConnectionsByPath.child(this.pathLabel(ctx.path)).value++;
  }

  /** The finalizer's observation of one finished request. */
  request(ctx: RequestContext): void {
    const path = this.pathLabel(ctx.path);
    const key = this.key.resolve(ctx.key?.id ?? 'public');
    const model = ctx.model !== undefined && ctx.model !== '' ? this.model.resolve(ctx.model) : undefined;
    const status = ctx.status > 0 ? statusLabel(ctx.status) : '499';
    countTrio(this.requests, key, model, path);
    const code = ctx.error?.code;
    if (code !== undefined) {
      if (RATE_LIMIT_CODES.has(code)) countTrio(this.rateLimited, key, model, path);
      else if (BUDGET_CODES.has(code)) countTrio(this.budgetExceeded, key, model, path);
      else if (GUARDRAIL_CODES.has(code)) countTrio(this.guardrailBlocked, key, model, path);
    }
    const seconds = ctx.elapsedMs() / 1000;
    observe(this.duration.child(path), seconds);
    this.responses.child(status).value++;
    this.responsesByPathStatus.child2(path, status).value++;
    if (model !== undefined) {
      observe(this.durationByModel.child(model), seconds);
      this.responsesByModelStatus.child2(model, status).value++;
    }
    if (ctx.backend !== undefined) this.responsesByBackendStatus.child2(this.backend.resolve(ctx.backend), status).value++;
    if (ctx.streamed) this.#streamEnded(ctx, path);
    const gov = ctx.gov;
    if (gov?.usage !== undefined) {
      const m = model ?? this.model.resolve('unknown');
      this.inputTokens.child2(key, m).value += gov.usage.input;
      this.outputTokens.child2(key, m).value += gov.usage.output;
      if (gov.costPico !== undefined) this.costUsd.child2(key, m).value += Number(gov.costPico) / 1e12;
    }
  }

  #streamEnded(ctx: RequestContext, path: string): void {
    const backend = this.backend.resolve(ctx.backend ?? 'unknown');
    this.streamConnections.plain().value--;
    this.streamConnectionsByBackend.child(backend).value--;
    this.streamConnectionsByPath.child(path).value--;
    const add = (t: { total: CounterFamily; byBackend: CounterFamily; byPath: CounterFamily }, n: number): void => {
      t.total.plain().value += n;
      t.byBackend.child(backend).value += n;
      t.byPath.child(path).value += n;
    };
    add(this.stream.bytes, ctx.responseBytes);
    if (ctx.outcome === 'upstream_failed_midstream') add(this.stream.errors, 1);
    else if (ctx.outcome === 'client_aborted') add(this.stream.aborted, 1);
    else add(this.stream.completed, 1);
  }

  /** A proxy cache lookup (for the cache stage). */
  cacheLookup(path: string, hit: boolean, source?: string): void {
    const p = this.pathLabel(path);
    this.cacheLookups.plain().value++;
    this.cacheLookupsByPath.child(p).value++;
    if (hit) {
      this.cacheHits.plain().value++;
      this.cacheHitsByPath.child(p).value++;
      if (source !== undefined) this.cacheHitsBySource.child(source).value++;
    } else {
      this.cacheMisses.plain().value++;
      this.cacheMissesByPath.child(p).value++;
    }
  }

  /** A proxy cache store attempt (for the cache finalizer). */
  cacheStore(target: string, ok: boolean): void {
    (ok ? this.cacheStores : this.cacheStoreErrors).child(target).value++;
  }

  /** A proxy cache purge (for the admin API). */
  cachePurge(scope: string): void {
    this.cachePurges.child(scope).value++;
  }

  /** The exposition: every gateway family, then the process metrics. */
  async render(): Promise<string> {
    for (const b of this.backends.values()) this.backendInFlight.child(this.backend.resolve(b.name)).value = 0;
    for (const b of this.backends.values()) this.backendInFlight.child(this.backend.resolve(b.name)).value += b.inFlight;
    const out: string[] = [];
    for (const f of this.#families) f.render(out);
    out.push('');
    return out.join('\n') + (await this.#process.metrics());
  }

  /** Stop the process collectors. */
  close(): void {
    this.#process.clear();
  }
}

/** Status label strings, shared rather than built per request. */
const STATUS_LABELS = new Map<number, string>();
function statusLabel(status: number): string {
  let s = STATUS_LABELS.get(status);
  if (s === undefined) {
    s = String(status);
    STATUS_LABELS.set(status, s);
  }
  return s;
}

function countTrio(t: Trio, key: string, model: string | undefined, path: string): void {
  t.total.value++;
  t.byKey.child(key).value++;
  if (model !== undefined) t.byModel.child(model).value++;
  t.byPath.child(path).value++;
}

export type { HistogramSeries };
