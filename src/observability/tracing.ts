import { randomFillSync } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * A small OpenTelemetry-compatible span model and exporters (no SDK dependency): W3C trace context,
 * one server span per request, one client span per upstream attempt, exported in batches off the
 * hot path as OTLP/HTTP JSON (`--otel-endpoint`) or as JSON lines on stderr (`--otel-json`).
 */

export type AttrValue = string | number | boolean;

export interface SpanData {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** OTLP SpanKind: 2 = server, 3 = client. */
  readonly kind: 2 | 3;
  /** Epoch milliseconds, fractional. */
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes: Readonly<Record<string, AttrValue>>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly status: 0 | 1 | 2;
}

/** The trace of one request: ids fixed when first needed, client spans collected until the finalizer. */
export interface TraceState {
  readonly traceId: string;
  readonly serverSpanId: string;
  /** The client's span (from its `traceparent`), parent of our server span. */
  readonly parentSpanId: string | undefined;
  /** The span id handed upstream in `traceparent` for the attempt in progress. */
  pendingSpanId: string | undefined;
  readonly clients: SpanData[];
}

const ID_POOL_BYTES = 4096;
/** The pool's bytes as hex, refilled 4 KiB at a time; ids are slices of it (no per-id native call). */
let poolHex = '';
let poolAt = ID_POOL_BYTES;
const ZEROS = new Map<number, string>();

/** `n` random bytes as lowercase hex, from a pool refilled 4 KiB at a time. Never all zeros. */
export function randomHex(n: number): string {
  let zeros = ZEROS.get(n);
  if (zeros === undefined) {
    zeros = '0'.repeat(2 * n);
    ZEROS.set(n, zeros);
  }
  for (;;) {
    if (poolAt + n > ID_POOL_BYTES) {
      poolHex = randomFillSync(Buffer.allocUnsafe(ID_POOL_BYTES)).toString('hex');
      poolAt = 0;
    }
    const s = poolHex.slice(2 * poolAt, 2 * (poolAt + n));
    poolAt += n;
    if (s !== zeros) return s;
  }
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Parse a W3C `traceparent` header; undefined when absent or invalid (all-zero ids, version ff). */
export function parseTraceparent(value: string | string[] | undefined): { traceId: string; spanId: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m) return undefined;
  const [, version, traceId, spanId] = m as unknown as [string, string, string, string];
  if (version === 'ff' || (version === '00' && m[5] !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId };
}

/** A `traceparent` value for a span (sampled). */
export function formatTraceparent(traceId: string, spanId: string): string {
  return `00-${traceId}-${spanId}-01`;
}

/** Start a request's trace, as a child of the client's `traceparent` when it sent a valid one. */
export function newTrace(traceparent: string | string[] | undefined): TraceState {
  const parent = parseTraceparent(traceparent);
  return {
    traceId: parent?.traceId ?? randomHex(16),
    serverSpanId: randomHex(8),
    parentSpanId: parent?.spanId,
    pendingSpanId: undefined,
    clients: [],
  };
}

/** The decimal string of the current epoch second, which {@link unixNanos} prefixes (it changes once a second). */
let nanosSecond = -1;
let nanosSecondText = '';

/** Epoch milliseconds (fractional) → OTLP's decimal nanoseconds string, without losing precision. */
export function unixNanos(ms: number): string {
  const whole = Math.floor(ms);
  const frac = Math.min(999999, Math.round((ms - whole) * 1e6));
  if (whole < 1000) return `${whole}${(1000000 + frac).toString().slice(1)}`;
  const second = Math.floor(whole / 1000);
  if (second !== nanosSecond) {
    nanosSecond = second;
    nanosSecondText = String(second);
  }
  // (whole % 1000) ms and frac ns as nine digits: below 2^31, so integer formatting.
  return nanosSecondText + (1000000000 + (whole - second * 1000) * 1000000 + frac).toString().slice(1);
}

/** Where finished spans go. */
export interface SpanExporter {
  export(spans: readonly SpanData[]): Promise<void>;
  /** Release connections (after the last export). */
  shutdown?(): void;
}

function otlpValue(v: AttrValue): string {
  if (typeof v === 'string') return `{"stringValue":${JSON.stringify(v)}}`;
  if (typeof v === 'boolean') return `{"boolValue":${v}}`;
  return Number.isInteger(v) ? `{"intValue":"${v}"}` : Number.isFinite(v) ? `{"doubleValue":${v}}` : `{"stringValue":"${v}"}`;
}

/** `{"key":<json>,"value":` per attribute name: the names are a small fixed set, so each is encoded once. */
const KEY_PREFIX = new Map<string, string>();
function keyPrefix(key: string): string {
  let p = KEY_PREFIX.get(key);
  if (p === undefined) {
    p = `{"key":${JSON.stringify(key)},"value":`;
    if (KEY_PREFIX.size < 1024) KEY_PREFIX.set(key, p);
  }
  return p;
}

/** Encoded attributes per name, then per value, bounded: most values (model, path, backend, status) repeat. */
const ATTR_FRAGMENT = new Map<string, Map<AttrValue, string>>();
const FRAGMENTS_PER_KEY = 256;
const FRAGMENT_MAX_CHARS = 256;

/** `{"key":…,"value":{…}}` for one attribute, memoised for repeating short values. */
function attrFragment(key: string, value: AttrValue): string {
  let byValue = ATTR_FRAGMENT.get(key);
  if (byValue === undefined) {
    byValue = new Map();
    if (ATTR_FRAGMENT.size < 1024) ATTR_FRAGMENT.set(key, byValue);
  }
  let f = byValue.get(value);
  if (f === undefined) {
    f = `${keyPrefix(key)}${otlpValue(value)}}`;
    if (byValue.size < FRAGMENTS_PER_KEY && (typeof value !== 'string' || value.length <= FRAGMENT_MAX_CHARS)) byValue.set(value, f);
  }
  return f;
}

/** The size of the last body plus a quarter: the next batch's first guess (a fresh buffer each time). */
let sizeHint = 64 * 1024;

/**
 * The OTLP/HTTP JSON body (`ExportTraceServiceRequest`) for a batch of spans, as UTF-8 bytes: each span
 * is one flat string written straight into the body buffer (no batch-sized string to flatten and
 * encode again), attributes from {@link attrFragment}. Ids as hex, times as decimal nanosecond
 * strings, int64 values as strings, per the OTLP JSON encoding.
 */
export function otlpBodyBuffer(spans: readonly SpanData[], serviceVersion: string): Buffer {
  const version = JSON.stringify(serviceVersion);
  let buf = Buffer.allocUnsafe(sizeHint);
  let at = 0;
  const put = (text: string): void => {
    const need = at + text.length * 3;
    if (need > buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, buf.length * 2));
      buf.copy(bigger, 0, 0, at);
      buf = bigger;
    }
    at += buf.write(text, at, 'utf8');
  };
  put(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"ditto-gateway"}},{"key":"service.version","value":{"stringValue":${version}}}]},` +
    `"scopeSpans":[{"scope":{"name":"ditto-gateway","version":${version}},"spans":[`);
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as SpanData;
    let text = `${i === 0 ? '' : ','}{"traceId":"${s.traceId}","spanId":"${s.spanId}"${s.parentSpanId !== undefined ? `,"parentSpanId":"${s.parentSpanId}"` : ''},` +
      `"name":${JSON.stringify(s.name)},"kind":${s.kind},"startTimeUnixNano":"${unixNanos(s.startMs)}","endTimeUnixNano":"${unixNanos(s.endMs)}","attributes":[`;
    let first = true;
    for (const key in s.attributes) {
      text += `${first ? '' : ','}${attrFragment(key, s.attributes[key] as AttrValue)}`;
      first = false;
    }
    put(`${text}],"status":{"code":${s.status}}}`);
  }
  put(']}]}]}');
  sizeHint = Math.min(16 * 1024 * 1024, Math.max(4096, at + (at >> 2)));
  return buf.subarray(0, at);
}

/** {@link otlpBodyBuffer} as a string (tests, debugging). */
export function otlpBody(spans: readonly SpanData[], serviceVersion: string): string {
  return otlpBodyBuffer(spans, serviceVersion).toString('utf8');
}

/**
 * POSTs batches to an OTLP/HTTP traces endpoint (`…/v1/traces`), JSON encoded, with a timeout. Uses
 * node:http(s) with one keep-alive connection and a Buffer body with its length: `fetch` cost about
 * 7 µs per request in the gateway's profile (undici's fetch machinery, web streams, a second
 * `Buffer.byteLength` pass over the ~460 KB batch string).
 */
export class OtlpHttpExporter implements SpanExporter {
  readonly #url: URL;
  readonly #agent: HttpAgent;
  readonly #send: (url: URL, options: RequestOptions, cb: (res: IncomingMessage) => void) => ClientRequest;

  constructor(readonly endpoint: string, readonly serviceVersion: string, readonly timeoutMs = 5000) {
    this.#url = new URL(endpoint);
    const https = this.#url.protocol === 'https:';
    this.#agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
    this.#send = https ? httpsRequest : httpRequest;
  }

  export(spans: readonly SpanData[]): Promise<void> {
    const body = otlpBodyBuffer(spans, this.serviceVersion);
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: Error): void => {
        if (timer === undefined) return; // settled already
        clearTimeout(timer);
        timer = undefined;
        if (err !== undefined) reject(err);
        else resolve();
      };
      const req = this.#send(this.#url, {
        method: 'POST',
        agent: this.#agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      }, (res) => {
        const status = res.statusCode ?? 0;
        res.on('error', (err: Error) => done(err));
        res.on('end', () => done(status >= 200 && status < 300 ? undefined : new Error(`OTLP endpoint answered ${status}`)));
        res.resume();
      });
      timer = setTimeout(() => {
        const err = new Error(`OTLP export timed out after ${this.timeoutMs} ms`);
        req.destroy(err);
        done(err);
      }, this.timeoutMs);
      timer.unref();
      req.on('error', (err: Error) => done(err));
      req.end(body);
    });
  }

  /** Close the kept-alive connection (shutdown). */
  shutdown(): void {
    this.#agent.destroy();
  }
}

/** Writes one JSON line per span (`--otel-json`), ids and times as in OTLP JSON, attributes as an object. */
export class JsonLinesExporter implements SpanExporter {
  constructor(readonly out: { write(s: string): unknown }) {}

  async export(spans: readonly SpanData[]): Promise<void> {
    let text = '';
    for (const s of spans) {
      text += `${JSON.stringify({
        trace_id: s.traceId,
        span_id: s.spanId,
        parent_span_id: s.parentSpanId ?? null,
        name: s.name,
        kind: s.kind === 2 ? 'server' : 'client',
        start_time_unix_nano: unixNanos(s.startMs),
        end_time_unix_nano: unixNanos(s.endMs),
        status: s.status === 2 ? 'error' : s.status === 1 ? 'ok' : 'unset',
        attributes: s.attributes,
      })}\n`;
    }
    this.out.write(text);
  }
}

/**
 * Batches finished spans and exports them in the background: a bounded queue (spans beyond it are
 * dropped and counted, never blocking a request), a flush at `batchSize` spans or every `intervalMs`,
 * one export at a time (started on the turn after the batch filled, never inside `add`), failures
 * reported to `onError` at most once a minute.
 */
export class BatchSpanProcessor {
  #queue: SpanData[] = [];
  #timer: NodeJS.Timeout | undefined;
  #exporting: Promise<void> | undefined;
  #lastErrorAt = 0;
  dropped = 0;
  exported = 0;

  constructor(
    readonly exporter: SpanExporter,
    readonly onError: (message: string) => void,
    readonly options: { maxQueue: number; batchSize: number; intervalMs: number } = { maxQueue: 4096, batchSize: 512, intervalMs: 1000 },
  ) {}

  add(span: SpanData): void {
    if (this.#queue.length >= this.options.maxQueue) {
      this.dropped++;
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= this.options.batchSize) this.#kick();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#kick();
      }, this.options.intervalMs);
      this.#timer.unref();
    }
  }

  #kick(): void {
    if (this.#exporting !== undefined || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, this.options.batchSize);
    // The batch leaves the queue now, but is encoded and sent on the next turn: never inside the
    // request (finalizer) whose span filled the batch.
    this.#exporting = new Promise<void>((resolve) => { setImmediate(resolve); }).then(() => this.exporter.export(batch)).then(
      () => { this.exported += batch.length; },
      (err: unknown) => {
        this.dropped += batch.length;
        const now = Date.now();
        if (now - this.#lastErrorAt > 60_000) {
          this.#lastErrorAt = now;
          this.onError(`span export failed (${batch.length} spans dropped): ${(err as Error)?.message ?? String(err)}`);
        }
      },
    ).finally(() => {
      this.#exporting = undefined;
      if (this.#queue.length >= this.options.batchSize) this.#kick();
      else if (this.#queue.length > 0 && this.#timer === undefined) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#kick();
        }, this.options.intervalMs);
        this.#timer.unref();
      }
    });
  }

  /** Export everything queued, then release the exporter's connections (shutdown). */
  async shutdown(): Promise<void> {
    await this.flush();
    this.exporter.shutdown?.();
  }

  /** Export everything queued now (shutdown, tests). */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    for (;;) {
      if (this.#exporting !== undefined) await this.#exporting;
      else if (this.#queue.length > 0) this.#kick();
      else return;
    }
  }
}
