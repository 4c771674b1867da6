import { Agent, errors as undiciErrors } from './undici.js';
import type { BackendConfig } from '../config/schema.js';
import { attemptHeaders } from './headers.js';
import { UpstreamFailure, type Backend, type UpstreamRequest, type UpstreamResponse } from './types.js';

/** Default per-backend timeout (CONTRACT §2.2: `timeout_seconds` 300; 0 = 300). */
const DEFAULT_TIMEOUT_MS = 300_000;

/**
 * One keep-alive connection pool per origin, shared by every passthrough backend and the health
 * prober. Per-phase timeouts are set per request: connect (10 s), headers = time to first byte, and
 * body = idle time between chunks, so a long stream never hits a total deadline.
 */
export function createAgent(): Agent {
  return new Agent({
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    connect: { timeout: 10_000 },
    pipelining: 1,
  });
}

/** Build the upstream URL parts (CONTRACT §3.3): base path without `/v1` repeated, plus backend query params. */
export function upstreamTarget(baseUrl: string, queryParams: Readonly<Record<string, string>>): {
  origin: string;
  basePath: string;
  baseEndsV1: boolean;
  extraQuery: string;
} {
  const u = new URL(baseUrl);
  const basePath = u.pathname.replace(/\/+$/, '');
  const parts: string[] = [];
  for (const [k, v] of Object.entries(queryParams)) {
    const name = k.trim();
    if (name === '') continue;
    parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(v.trim())}`);
  }
  // A query in base_url itself is kept ahead of the backend's query params.
  const baseQuery = u.search.length > 1 ? u.search.slice(1) : '';
  const extra = [baseQuery, ...parts].filter((p) => p !== '').join('&');
  return { origin: u.origin, basePath, baseEndsV1: basePath.endsWith('/v1'), extraQuery: extra };
}

/** Join base path and request path, not repeating `/v1`. */
export function joinPath(basePath: string, baseEndsV1: boolean, path: string): string {
  if (baseEndsV1 && (path === '/v1' || path.startsWith('/v1/'))) return basePath + path.slice(3);
  return basePath + path;
}

/** Classify an undici/network error into network | timeout | aborted. */
export function classifyError(err: unknown, signal: { readonly aborted: boolean }): UpstreamFailure {
  if (signal.aborted) return new UpstreamFailure('aborted', 'client aborted the request', { cause: err });
  const code = (err as { code?: string } | null)?.code ?? '';
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.ConnectTimeoutError ||
      err instanceof undiciErrors.BodyTimeoutError || code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return new UpstreamFailure('timeout', code || 'upstream timeout', { cause: err });
  }
  return new UpstreamFailure('network', code || (err as Error)?.message || 'network error', { cause: err });
}

/** A passthrough backend: relays `/v1/*` to an OpenAI-compatible `base_url` over HTTP. */
export class PassthroughBackend implements Backend {
  readonly kind = 'passthrough' as const;
  readonly provider = undefined;
  readonly name: string;
  readonly maxInFlight: number | undefined;
  readonly modelMap: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly baseUrl: string;
  readonly queryParams: Readonly<Record<string, string>>;
  inFlight = 0;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #baseEndsV1: boolean;
  readonly #extraQuery: string;
  readonly #agent: Agent;

  constructor(config: BackendConfig, agent: Agent) {
    this.name = config.name;
    this.maxInFlight = config.max_in_flight ?? undefined;
    this.modelMap = config.model_map;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(config.headers)) headers[k.toLowerCase()] = v;
    this.headers = headers;
    this.timeoutMs = config.timeout_seconds ? config.timeout_seconds * 1000 : DEFAULT_TIMEOUT_MS;
    this.baseUrl = config.base_url as string;
    this.queryParams = config.query_params;
    const t = upstreamTarget(this.baseUrl, config.query_params);
    this.#origin = t.origin;
    this.#basePath = t.basePath;
    this.#baseEndsV1 = t.baseEndsV1;
    this.#extraQuery = t.extraQuery;
    this.#agent = agent;
  }

  /** Path and query of the upstream URL for a request path and client query. */
  pathFor(path: string, query: string): string {
    const p = joinPath(this.#basePath, this.#baseEndsV1, path);
    if (this.#extraQuery === '') return p + query;
    return p + (query === '' ? '?' : `${query}&`) + this.#extraQuery;
  }

  /** The full upstream URL (for logs and tests). */
  urlFor(path: string, query: string): string {
    return this.#origin + this.pathFor(path, query);
  }

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const headers = attemptHeaders(req.headers, this.headers, req.requestId);
    if (req.contentLength !== undefined && req.body !== undefined && !Buffer.isBuffer(req.body)) {
      headers['content-length'] = String(req.contentLength);
    }
    const signal = req.abort ?? req.signal;
    try {
      const res = await this.#agent.request({
        origin: this.#origin,
        path: this.pathFor(req.path, req.query),
        method: req.method as 'GET',
        headers,
        body: req.body ?? null,
        signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      throw classifyError(err, signal);
    }
  }
}
