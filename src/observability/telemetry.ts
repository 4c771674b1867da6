import type { CliOptions } from '../cli/args.js';
import type { ObservabilityConfig } from '../config/observability.js';
import type { AttemptRecord, RequestContext } from '../pipeline/context.js';
import type { Backend } from '../upstream/types.js';
import { Devtools } from './devtools.js';
import type { Logger } from './logger.js';
import { ProxyMetrics } from './prometheus.js';
import type { Redactor } from './redact.js';
import {
  BatchSpanProcessor, formatTraceparent, JsonLinesExporter, newTrace, OtlpHttpExporter, randomHex,
  type AttrValue, type SpanExporter, type TraceState,
} from './tracing.js';

/** Default OTLP/HTTP traces endpoint (`--otel` without `--otel-endpoint`). */
export const DEFAULT_OTEL_ENDPOINT = 'http://127.0.0.1:4318/v1/traces';

/** Where `--otel-json` lines go (stderr; tests pass their own). */
export interface TelemetryDeps {
  spanOut?: { write(s: string): unknown };
  serviceVersion?: string;
}

/**
 * The gateway's observation points, built once from the config and flags: Prometheus metrics
 * (`--prometheus-metrics`), tracing (`--otel*`) and devtools capture (`--devtools`). The pipeline
 * calls it in three places only: per upstream attempt ({@link attemptHeaders}, {@link attempt}),
 * when an SSE relay starts ({@link streamOpened}) and in the `observe` finalizer ({@link finish}).
 * Every part that is off costs one branch.
 */
export class Telemetry {
  readonly redactor: Redactor;
  readonly metrics: ProxyMetrics | undefined;
  readonly spans: BatchSpanProcessor | undefined;
  readonly devtools: Devtools | undefined;
  readonly #hosts = new Map<string, string | undefined>();

  constructor(config: ObservabilityConfig, redactor: Redactor, options: CliOptions, backends: ReadonlyMap<string, Backend>, logger: Logger, deps: TelemetryDeps = {}) {
    this.redactor = redactor;
    this.metrics = options.prometheusMetrics
      ? new ProxyMetrics({
          key: options.prometheusMaxKeySeries,
          model: options.prometheusMaxModelSeries,
          backend: options.prometheusMaxBackendSeries,
          path: options.prometheusMaxPathSeries,
        }, this.redactor, backends)
      : undefined;
    if (options.otel) {
      const version = deps.serviceVersion ?? '0.0.0';
      const inner: SpanExporter = options.otelJson
        ? new JsonLinesExporter(deps.spanOut ?? process.stderr)
        : new OtlpHttpExporter(options.otelEndpoint ?? DEFAULT_OTEL_ENDPOINT, version);
      this.spans = new BatchSpanProcessor(inner, (m) => logger.warn(m));
    }
    if (options.devtools !== undefined) {
      this.devtools = new Devtools(options.devtools, this.redactor, config.sampling.devtools_rate, (m) => logger.warn(m));
    }
    for (const b of backends.values()) {
      const base = (b as { baseUrl?: unknown }).baseUrl;
      let host: string | undefined;
      if (typeof base === 'string') {
        try {
          host = new URL(base).hostname;
        } catch {
          host = undefined;
        }
      }
      this.#hosts.set(b.name, host);
    }
  }

  /** True when traces are recorded. */
  get tracing(): boolean {
    return this.spans !== undefined;
  }

  /**
   * The headers of one upstream attempt: with tracing on, `traceparent` is this attempt's client span
   * (replacing whatever the client sent); otherwise `base` itself.
   */
  attemptHeaders(ctx: RequestContext, base: Record<string, string | string[]>): Record<string, string | string[]> {
    if (this.spans === undefined) return base;
    const t = this.#trace(ctx);
    t.pendingSpanId = randomHex(8);
    return { ...base, traceparent: formatTraceparent(t.traceId, t.pendingSpanId) };
  }

  /** Per-attempt hook: metrics, and the attempt's client span when tracing. */
  attempt(ctx: RequestContext, rec: AttemptRecord): void {
    this.metrics?.attempt(rec);
    if (this.spans === undefined || rec.result === 'skipped_inflight') return;
    const t = this.#trace(ctx);
    const end = performance.timeOrigin + performance.now();
    const attrs: Record<string, AttrValue> = {
      'ditto.backend': rec.backend,
      'ditto.attempt.result': rec.result,
      'http.request.method': ctx.method,
      'url.path': ctx.path,
      'gen_ai.system': this.#system(ctx, rec.backend),
    };
    const host = this.#hosts.get(rec.backend);
    if (host !== undefined) attrs['server.address'] = host;
    if (rec.status !== undefined) attrs['http.response.status_code'] = rec.status;
    if (ctx.model !== undefined) attrs['gen_ai.request.model'] = ctx.model;
    const failed = rec.result !== 'ok' || (rec.status ?? 0) >= 500;
    if (failed) attrs['error.type'] = rec.result === 'ok' || rec.result === 'status' ? String(rec.status ?? 'status') : rec.result;
    redactSpanAttributes(this.redactor, attrs);
    t.clients.push({
      traceId: t.traceId,
      spanId: t.pendingSpanId ?? randomHex(8),
      parentSpanId: t.serverSpanId,
      name: this.redactor.redactString(`${ctx.method} ${rec.backend}`),
      kind: 3,
      startMs: end - rec.durationMs,
      endMs: end,
      attributes: attrs,
      status: failed ? 2 : 0,
    });
    t.pendingSpanId = undefined;
  }

  /** An SSE relay started. */
  streamOpened(ctx: RequestContext, backend: string): void {
    this.metrics?.streamOpened(ctx, backend);
  }

  /** The finalizer's hook: metrics, the server span (and its client spans), devtools lines. */
  finish(ctx: RequestContext): void {
    this.metrics?.request(ctx);
    if (this.spans !== undefined) this.#serverSpan(ctx, this.spans);
    this.devtools?.record(ctx);
  }

  #trace(ctx: RequestContext): TraceState {
    return (ctx.trace ??= newTrace(ctx.req.headers['traceparent']));
  }

  #system(ctx: RequestContext, backend: string | undefined): string {
    const b = backend !== undefined ? ctx.gw.backends.get(backend) : undefined;
    return b?.provider ?? 'openai';
  }

  #serverSpan(ctx: RequestContext, spans: BatchSpanProcessor): void {
    const t = this.#trace(ctx);
    const status = ctx.status;
    const attrs: Record<string, AttrValue> = {
      request_id: ctx.id,
      method: ctx.method,
      path: ctx.path,
      virtual_key_id: ctx.key?.id ?? 'public',
      status,
      cache: cacheState(ctx),
      outcome: ctx.outcome,
      'http.request.method': ctx.method,
      'http.response.status_code': status,
      'url.path': ctx.path,
      'gen_ai.system': this.#system(ctx, ctx.backend),
    };
    const host = ctx.req.headers.host;
    if (typeof host === 'string') attrs['server.address'] = host.replace(/:\d+$/, '');
    if (ctx.model !== undefined) {
      attrs['model'] = ctx.model;
      attrs['gen_ai.request.model'] = ctx.model;
    }
    if (ctx.backend !== undefined) attrs['backend'] = ctx.backend;
    if (ctx.streamed) attrs['ditto.stream'] = true;
    const g = ctx.gov;
    if (g?.usage !== undefined) {
      attrs['gen_ai.usage.input_tokens'] = g.usage.input;
      attrs['gen_ai.usage.output_tokens'] = g.usage.output;
    }
    if (g?.sentModel !== undefined) attrs['gen_ai.response.model'] = g.sentModel;
    if (g?.costPico !== undefined) attrs['ditto.cost_usd'] = Number(g.costPico) / 1e12;
    if (ctx.error !== undefined) attrs['error.type'] = ctx.error.code;
    redactSpanAttributes(this.redactor, attrs);
    const endMs = performance.timeOrigin + performance.now();
    spans.add({
      traceId: t.traceId,
      spanId: t.serverSpanId,
      parentSpanId: t.parentSpanId,
      name: this.redactor.redactString('ditto.gateway.proxy'),
      kind: 2,
      startMs: performance.timeOrigin + ctx.startedAt,
      endMs,
      attributes: attrs,
      status: status >= 500 || status === 0 ? 2 : 0,
    });
    for (const c of t.clients) spans.add(c);
  }

  /** Flush spans and devtools lines, stop collectors (shutdown). */
  async close(): Promise<void> {
    await this.spans?.shutdown();
    await this.devtools?.close();
    this.metrics?.close();
  }
}

/** `hit`, `miss` (cacheable, not found) or `bypass`, from the response headers the cache stage sets (§4.3). */
function cacheState(ctx: RequestContext): string {
  if (ctx.res.getHeader('x-ditto-cache') === 'hit') return 'hit';
  return ctx.res.getHeader('x-ditto-cache-key') !== undefined ? 'miss' : 'bypass';
}

/**
 * Redact a span's attributes in place when the span is built, by the rules of every other output: a
 * key named as a secret gets the replacement whatever its value's type; every string goes through the
 * regexes (the {@link Redactor} memoises both, so the names and values that repeat cost a lookup).
 */
export function redactSpanAttributes(redactor: Redactor, attrs: Record<string, AttrValue>): void {
  for (const k in attrs) {
    const v = attrs[k] as AttrValue;
    if (redactor.isSecretKey(k)) attrs[k] = redactor.replacement;
    else if (typeof v === 'string') attrs[k] = redactor.redactField(k, v);
  }
}
