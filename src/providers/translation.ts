/**
 * The generic translation backend: one class for every HTTP provider, parameterised by a small {@link Dialect}
 * (native protocol, endpoint paths, fixed headers). It serves the OpenAI surface through `send()` and offers two
 * lower-level entry points for the other client surfaces (Anthropic `/v1/messages`, Gemini `/v1beta`, `/v1/responses`):
 *
 * - {@link TranslationBackend.sendIr}: an IR request in, the answer encoded in any client protocol out (status,
 *   headers and a JSON body or an incrementally translated SSE stream). Anthropic → IR → Gemini needs no OpenAI hop.
 * - {@link TranslationBackend.sendNative}: a body already in the backend's own protocol ({@link TranslationBackend.protocol}),
 *   relayed to the provider and back unchanged, so a same-protocol surface keeps thinking signatures, cache_control
 *   and every field the IR does not model.
 *
 * Errors: a request the target cannot carry, a model the backend does not serve or an endpoint it lacks is thrown as a
 * {@link GatewayError} (a local reply: no upstream call, never counted by the breaker). Provider errors before the
 * first byte become the client protocol's error body with the provider's status; a provider error inside a stream
 * becomes the client protocol's in-stream error event. Network failures reject with {@link UpstreamFailure}.
 */
import type { Readable } from 'node:stream';
import type { Agent, Dispatcher } from 'undici';
import type { BackendConfig } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import {
  PROTOCOLS, TranslationError,
  type EncodeContext, type IrError, type IrRequest, type ProtocolId,
} from '../protocols/index.js';
import { classifyError, joinPath, upstreamTarget } from '../upstream/passthrough.js';
import type { Backend, HeaderMap, UpstreamRequest, UpstreamResponse } from '../upstream/types.js';
import { DEFAULT_BASE_URL, parseProviderConfig, type ProviderConfig, type ProviderId } from './config.js';
import { translateStream, type IrEventTap } from './stream.js';

/** Default per-backend timeout (CONTRACT §2.2: `timeout_seconds` 300; 0 = 300), per phase (TTFB, idle between chunks). */
const DEFAULT_TIMEOUT_MS = 300_000;
/** Largest non-streaming provider body translated (larger answers are a 502). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Largest provider error body read. */
const MAX_ERROR_BYTES = 1024 * 1024;

/** What differs between providers: the native protocol, its endpoints and its fixed headers. */
export interface Dialect {
  readonly protocol: ProtocolId;
  /** Path under the base URL (starting `/`) and query (without `?`, may be empty) of one generation call. */
  generateTarget(model: string, stream: boolean): { path: string; query: string };
  /** Headers every call carries, before `provider_config.http_headers` (which override them). */
  readonly fixedHeaders: Readonly<Record<string, string>>;
  /** Client headers passed on to the provider (lowercase), e.g. `anthropic-beta`. */
  readonly clientHeaders: readonly string[];
}

/** Shared resources a backend needs (the gateway's upstream connection pool). */
export interface BackendDeps {
  readonly agent: Agent;
}

/** Options of {@link TranslationBackend.sendIr}. */
export interface IrSendOptions {
  /** The protocol the client speaks: the answer (body, stream frames, errors) is encoded in it. */
  readonly client: ProtocolId;
  readonly signal: AbortSignal;
  readonly requestId: string;
  /** Warnings of the client → IR conversion; reported with the backend's own in `x-ditto-translation-warnings`. */
  readonly warnings?: readonly string[];
  /** The client's request headers; only the provider's own (e.g. `anthropic-beta`) are passed on. */
  readonly headers?: Readonly<Record<string, string | string[]>>;
  /** OpenAI clients only: emit the final usage chunk (default: `ir.streamIncludeUsage`). */
  readonly includeUsage?: boolean;
  /** Sees every IR stream event (e.g. a usage tap). */
  readonly tap?: IrEventTap;
}

/** Options of {@link TranslationBackend.sendNative}. */
export interface NativeSendOptions {
  readonly signal: AbortSignal;
  readonly requestId: string;
  /** The model the client asked for (before `model_map`): mapped, prefix-stripped and checked like any request. */
  readonly model: string | undefined;
  readonly stream: boolean;
  readonly headers?: Readonly<Record<string, string | string[]>>;
}

/** A translation backend over HTTP (see the module comment). */
export class TranslationBackend implements Backend {
  readonly kind = 'translation' as const;
  readonly provider: ProviderId;
  /** The wire format the provider speaks. */
  readonly protocol: ProtocolId;
  readonly name: string;
  readonly maxInFlight: number | undefined;
  readonly modelMap: Readonly<Record<string, string>>;
  readonly config: ProviderConfig;
  readonly timeoutMs: number;
  inFlight = 0;
  protected readonly dialect: Dialect;
  readonly #agent: Agent;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #baseEndsV1: boolean;
  readonly #extraQuery: string;
  readonly #headers: Record<string, string>;

  constructor(config: BackendConfig, provider: ProviderId, dialect: Dialect, deps: BackendDeps) {
    this.name = config.name;
    this.provider = provider;
    this.protocol = dialect.protocol;
    this.dialect = dialect;
    this.maxInFlight = config.max_in_flight ?? undefined;
    this.modelMap = config.model_map;
    this.config = parseProviderConfig(config.provider_config);
    this.timeoutMs = config.timeout_seconds ? config.timeout_seconds * 1000 : DEFAULT_TIMEOUT_MS;
    const base = this.config.base_url ?? DEFAULT_BASE_URL[provider];
    if (base === undefined) throw new Error(`backend "${config.name}": provider_config.base_url is required`);
    const t = upstreamTarget(base, this.config.http_query_params);
    this.#origin = t.origin;
    this.#basePath = t.basePath;
    this.#baseEndsV1 = t.baseEndsV1;
    this.#extraQuery = t.extraQuery;
    const headers: Record<string, string> = { ...dialect.fixedHeaders };
    for (const [k, v] of Object.entries(this.config.http_headers)) headers[k.toLowerCase()] = v;
    for (const [k, v] of Object.entries(config.headers)) headers[k.toLowerCase()] = v;
    this.#headers = headers;
    this.#agent = deps.agent;
  }

  /** Models this backend serves itself: `model_whitelist` plus `default_model` (listed on `/v1/models`). */
  ownModels(): string[] {
    const out = [...this.config.model_whitelist];
    const d = this.config.default_model;
    if (d !== undefined && d !== '' && !out.includes(d)) out.push(d);
    return out;
  }

  /**
   * The upstream model for a requested one: `model_map` (exact, else `*`), a leading `<backend>/` stripped, empty →
   * `default_model`; with a whitelist, anything else is 404 `model_not_found`.
   */
  resolveModel(requested: string | undefined): string {
    let m = requested;
    if (m !== undefined) m = this.modelMap[m] ?? this.modelMap['*'] ?? m;
    if (m !== undefined && m.startsWith(`${this.name}/`)) m = m.slice(this.name.length + 1);
    if (m === undefined || m === '') m = this.config.default_model;
    if (m === undefined || m === '') throw this.error('invalid_request', `backend "${this.name}" needs a model (none given and no default_model)`, 'model');
    const wl = this.config.model_whitelist;
    if (wl.length > 0 && !wl.includes(m)) throw this.error('model_not_found', `The model '${requested ?? m}' is not served by backend "${this.name}"`, 'model');
    return m;
  }

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const { method, path } = req;
    if (path === '/v1/models' || path.startsWith('/v1/models/')) return this.#models(method, path);
    const extra = this.extraEndpoint(req);
    if (extra) return extra;
    if (this.protocol === 'openai') return this.#relayOpenAi(req);
    if (method === 'POST' && path === '/v1/chat/completions') {
      if (req.json === undefined) throw this.error('invalid_request', 'chat completions need a JSON body');
      const { value: ir, warnings } = this.#decode(() => PROTOCOLS.openai.requestToIr(req.json));
      return this.sendIr(ir, { client: 'openai', signal: req.signal, requestId: req.requestId, warnings, headers: req.headers });
    }
    throw this.unsupported(method, path);
  }

  /** Endpoints a subclass serves beyond chat (Gemini embeddings); undefined = not one of them. */
  protected extraEndpoint(_req: UpstreamRequest): Promise<UpstreamResponse> | undefined {
    return undefined;
  }

  /** Send an IR request; the answer comes back in `options.client`'s protocol (see the module comment). */
  async sendIr(ir: IrRequest, options: IrSendOptions): Promise<UpstreamResponse> {
    const model = this.resolveModel(ir.model);
    const native = PROTOCOLS[this.protocol];
    const client = PROTOCOLS[options.client];
    const encoded = this.#decode(() => native.requestFromIr(ir, { model }));
    const warnings = [...(options.warnings ?? []), ...encoded.warnings];
    const target = this.dialect.generateTarget(model, ir.stream);
    const res = await this.post(target.path, target.query, Buffer.from(JSON.stringify(encoded.value)), options);
    const ectx: EncodeContext = { id: `${options.client === 'anthropic' ? 'msg' : 'chatcmpl'}-ditto-${options.requestId}`, model, created: Math.floor(Date.now() / 1000) };
    if (res.statusCode < 200 || res.statusCode >= 300) return this.providerError(options.client, res, options.signal, warnings);
    if (ir.stream) {
      const decoder = native.createStreamDecoder();
      const encoder = client.createStreamEncoder({ ...ectx, includeUsage: options.includeUsage ?? ir.streamIncludeUsage ?? false });
      const headers = this.#headersOut({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }, warnings);
      return { status: 200, headers, body: translateStream(res.body, decoder, encoder, options.tap) };
    }
    const buf = await readAll(res.body, MAX_RESPONSE_BYTES, options.signal);
    let json: unknown;
    try {
      json = buf === undefined ? undefined : JSON.parse(buf.toString('utf8'));
    } catch {
      json = undefined;
    }
    if (json === undefined) return this.#errorResponse(options.client, badResponse(`${this.provider} returned a body that is not JSON (or over ${MAX_RESPONSE_BYTES} bytes)`), {}, warnings);
    let out;
    try {
      out = client.responseFromIr(native.responseToIr(json), ectx);
    } catch (err) {
      if (!(err instanceof TranslationError)) throw err;
      return this.#errorResponse(options.client, badResponse(`${this.provider} returned an unexpected response: ${err.message}`), {}, warnings);
    }
    const body = Buffer.from(JSON.stringify(out.value));
    return { status: 200, headers: this.#headersOut({ 'content-type': 'application/json', 'content-length': String(body.length) }, [...warnings, ...out.warnings]), body };
  }

  /**
   * Send a body already in this backend's protocol and relay the provider's answer unchanged (status, headers, bytes;
   * errors in the provider's own shape). Only the model is set (body `model` for Anthropic/OpenAI, the URL for Gemini).
   */
  async sendNative(body: Record<string, unknown>, options: NativeSendOptions): Promise<UpstreamResponse> {
    const model = this.resolveModel(options.model);
    const out = this.protocol === 'gemini' ? body : { ...body, model };
    const target = this.dialect.generateTarget(model, options.stream);
    const res = await this.post(target.path, target.query, Buffer.from(JSON.stringify(out)), options);
    return { status: res.statusCode, headers: { ...res.headers, 'x-ditto-translation': this.provider }, body: res.body };
  }

  /** POST a JSON body to the provider. Rejects only with {@link UpstreamFailure}. */
  protected async post(path: string, query: string, body: Buffer, o: { signal: AbortSignal; requestId: string; headers?: Readonly<Record<string, string | string[]>> | undefined }): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    for (const h of this.dialect.clientHeaders) {
      const v = o.headers?.[h];
      if (typeof v === 'string') headers[h] = v;
    }
    Object.assign(headers, this.#headers);
    headers['x-request-id'] = o.requestId;
    return this.#request('POST', path, query, headers, body, o.signal);
  }

  /** A local reply carrying `x-ditto-translation` (CONTRACT §3.6). */
  protected error(code: 'invalid_request' | 'model_not_found' | 'unsupported_endpoint', message: string, param?: string): GatewayError {
    return new GatewayError(code, message, param === undefined ? { headers: this.#translationHeader() } : { param, headers: this.#translationHeader() });
  }

  /** 501 `unsupported_endpoint` for an endpoint this provider has no equivalent for. */
  protected unsupported(method: string, path: string): GatewayError {
    return this.error('unsupported_endpoint', `${method} ${path} is not supported by the ${this.provider} backend "${this.name}"`);
  }

  /** A JSON answer with the translation headers (warnings included). */
  protected jsonResponse(status: number, value: unknown, warnings: readonly string[] = []): UpstreamResponse {
    const body = Buffer.from(JSON.stringify(value));
    return { status, headers: this.#headersOut({ 'content-type': 'application/json', 'content-length': String(body.length) }, warnings), body };
  }

  /** A provider error before the first byte, rendered in the client's protocol. */
  protected async providerError(client: ProtocolId, res: Dispatcher.ResponseData, signal: AbortSignal, warnings: readonly string[] = []): Promise<UpstreamResponse> {
    const text = await readAll(res.body, MAX_ERROR_BYTES, signal).then((b) => b?.toString('utf8') ?? '');
    return this.#errorResponse(client, PROTOCOLS[this.protocol].parseUpstreamError(res.statusCode, text), res.headers, warnings);
  }

  /** Parse (or encode) with a protocol converter; a {@link TranslationError} becomes a 400 naming its parameter. */
  #decode<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof TranslationError) throw this.error('invalid_request', err.message, err.param);
      throw err;
    }
  }

  #translationHeader(): Record<string, string> {
    return { 'x-ditto-translation': this.provider };
  }

  #headersOut(base: Record<string, string>, warnings: readonly string[]): HeaderMap {
    const h: HeaderMap = { ...base, 'x-ditto-translation': this.provider };
    if (warnings.length > 0) h['x-ditto-translation-warnings'] = warningsHeader(warnings);
    return h;
  }

  #errorResponse(client: ProtocolId, err: IrError, upstreamHeaders: HeaderMap, warnings: readonly string[]): UpstreamResponse {
    // Anthropic's 529 "overloaded" is 503 on the OpenAI and Gemini surfaces (the status their clients know).
    const mapped = err.status === 529 && client !== 'anthropic' ? { ...err, status: 503 } : err;
    const r = PROTOCOLS[client].renderError(mapped);
    const res = this.jsonResponse(r.status, r.body, warnings);
    for (const h of ['retry-after', 'retry-after-ms']) {
      const v = upstreamHeaders[h];
      if (typeof v === 'string') res.headers[h] = v;
    }
    return res;
  }

  /** `/v1/models` and `/v1/models/{id}` from this backend's own list; `x-ditto-translation` = backend name. */
  #models(method: string, path: string): UpstreamResponse {
    const header = { 'x-ditto-translation': this.name };
    if (method !== 'GET') throw new GatewayError('unsupported_endpoint', `${method} ${path} is not supported by backend "${this.name}"`, { headers: header });
    const entry = (id: string): Record<string, unknown> => ({ id, object: 'model', created: 0, owned_by: this.name });
    let value: unknown;
    if (path === '/v1/models') {
      value = { object: 'list', data: this.ownModels().map(entry) };
    } else {
      let id = path.slice('/v1/models/'.length);
      try { id = decodeURIComponent(id); } catch { /* keep raw */ }
      const bare = id.startsWith(`${this.name}/`) ? id.slice(this.name.length + 1) : id;
      const known = this.ownModels().includes(bare) || Object.hasOwn(this.modelMap, id);
      if (!known) throw new GatewayError('model_not_found', `The model '${id}' does not exist`, { param: 'model', headers: header });
      value = entry(id);
    }
    const body = Buffer.from(JSON.stringify(value));
    return { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...header }, body };
  }

  /** `openai` / `openai-compatible`: every `/v1/*` call relayed natively with the provider's auth, base and model rules. */
  async #relayOpenAi(req: UpstreamRequest): Promise<UpstreamResponse> {
    let body = req.body;
    const json = req.json;
    if (json !== undefined && typeof json['model'] === 'string') {
      const model = this.resolveModel(json['model']);
      if (model !== json['model']) body = Buffer.from(JSON.stringify({ ...json, model }));
    }
    const headers: Record<string, string | string[]> = { ...req.headers, ...this.#headers, 'x-request-id': req.requestId };
    if (req.contentLength !== undefined && body !== undefined && !Buffer.isBuffer(body)) headers['content-length'] = String(req.contentLength);
    const res = await this.#request(req.method, req.path, req.query.replace(/^\?/, ''), headers, body ?? null, req.signal);
    return { status: res.statusCode, headers: { ...res.headers, 'x-ditto-translation': this.provider }, body: res.body };
  }

  async #request(method: string, path: string, query: string, headers: Record<string, string | string[]>, body: Buffer | Readable | null, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    const full = joinPath(this.#basePath, this.#baseEndsV1, path);
    const q = [query, this.#extraQuery].filter((s) => s !== '').join('&');
    try {
      return await this.#agent.request({
        origin: this.#origin,
        path: q === '' ? full : `${full}?${q}`,
        method: method as 'POST',
        headers,
        body,
        signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      throw classifyError(err, signal);
    }
  }
}

/** A provider answer the gateway could not translate: 502 (CONTRACT §4.2 `invalid_backend_response`). */
function badResponse(message: string): IrError {
  return { status: 502, kind: 'server', message, code: 'invalid_backend_response' };
}

/** `x-ditto-translation-warnings`: a JSON array of strings, ASCII only (non-ASCII as `\uXXXX`). */
export function warningsHeader(warnings: readonly string[]): string {
  return JSON.stringify([...new Set(warnings)]).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Read a body whole, up to `cap` bytes (undefined past the cap or on a read error). */
export async function readAll(body: Readable, cap: number, signal: AbortSignal): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of body) {
      size += (c as Buffer).length;
      if (size > cap) {
        body.destroy();
        return undefined;
      }
      chunks.push(c as Buffer);
    }
  } catch (err) {
    if (signal.aborted) throw classifyError(err, signal);
    return undefined;
  }
  return Buffer.concat(chunks);
}
