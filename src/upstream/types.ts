import type { Readable } from 'node:stream';

/** Response headers as undici and node:http both accept them. */
export type HeaderMap = Record<string, string | string[] | undefined>;

/** One upstream attempt's request, already stripped of client credentials (CONTRACT §3.3). */
export interface UpstreamRequest {
  readonly method: string;
  /** Normalised path, always starting `/v1`. */
  readonly path: string;
  /** The client's query string including `?`, or `''`. */
  readonly query: string;
  readonly headers: Record<string, string | string[]>;
  /** Buffered body, or the client's request stream when it is relayed unbuffered. */
  readonly body: Buffer | Readable | undefined;
  /** The client's `content-length` when `body` is a stream relayed unbuffered. */
  readonly contentLength: number | undefined;
  /** The parsed JSON body, when the request had one (for in-process backends). */
  readonly json: Record<string, unknown> | undefined;
  readonly requestId: string;
  readonly signal: AbortSignal;
  /**
   * The same cancellation in undici's cheaper EventEmitter shape (src/pipeline/abort.ts); passthrough
   * backends prefer it, so that the standard `signal` is only built when something else reads it.
   */
  readonly abort?: AbortSource;
}

/**
 * One attempt's upstream request as the forward stage builds it. `signal`, a standard `AbortSignal`, is built
 * only when a backend reads it (passthrough uses the cheaper `abort`). A class, not an object literal with
 * `get signal()`: V8 gives every such literal its own hidden class, kept in old space and pointing at that
 * request's getter closure, so every finished request stayed reachable until the next full GC (~5 KB promoted
 * per request, a major GC every ~1,400 requests). A getter on the prototype is shared by all.
 */
export class AttemptRequest implements UpstreamRequest {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly query: string,
    readonly headers: Record<string, string | string[]>,
    readonly body: Buffer | Readable | undefined,
    readonly json: Record<string, unknown> | undefined,
    readonly requestId: string,
    readonly abort: AbortSource & { readonly signal: AbortSignal },
    readonly contentLength: number | undefined,
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }
}

/** What undici accepts as a signal besides an `AbortSignal`, and what `classifyError` reads. */
export interface AbortSource {
  readonly aborted: boolean;
  on(event: 'abort', fn: () => void): unknown;
  once(event: 'abort', fn: () => void): unknown;
  removeListener(event: 'abort', fn: () => void): unknown;
}

/** What a backend answered: status, headers and a body to relay. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: HeaderMap;
  readonly body: Readable | Buffer;
}

/** How an attempt failed before a response arrived. */
export type UpstreamFailureKind = 'network' | 'timeout' | 'aborted';

/** An attempt that produced no response: classified once, here (STYLE §3.4 item 5). */
export class UpstreamFailure extends Error {
  constructor(readonly kind: UpstreamFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpstreamFailure';
  }
}

/** A model a backend can list on `/v1/models`. */
export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** A configured backend: passthrough over HTTP, or served in-process / by translation. */
export interface Backend {
  readonly name: string;
  readonly kind: 'passthrough' | 'translation';
  /** Translation provider id (`mock`, later `anthropic`, `google`, …); undefined for passthrough. */
  readonly provider: string | undefined;
  readonly maxInFlight: number | undefined;
  readonly modelMap: Readonly<Record<string, string>>;
  /** Live in-flight count, for `max_in_flight` and metrics. */
  inFlight: number;
  /** Send one attempt. Rejects only with {@link UpstreamFailure}. */
  send(req: UpstreamRequest): Promise<UpstreamResponse>;
  /** Models this backend serves itself (translation backends). */
  ownModels?(): string[];
}
