import { RequestAbort } from './abort.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { VirtualKey } from '../auth/keys.js';
import type { ErrorSurface } from '../errors/render.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { RouteRule } from '../routing/router.js';
import type { ClientSurface, ResponseConverter } from '../surfaces/types.js';
import type { Backend } from '../upstream/types.js';
import type { TraceState } from '../observability/tracing.js';
import type { Gateway } from '../gateway.js';
import type { GovRequest } from '../usage/governance.js';

/** One upstream attempt, as recorded for logs, audit and metrics. */
export interface AttemptRecord {
  backend: string;
  /** `ok` = a response was relayed or is being relayed; otherwise why we moved on or gave up. */
  result: 'ok' | 'network' | 'timeout' | 'status' | 'aborted' | 'skipped_inflight';
  status?: number;
  durationMs: number;
}

/** How the request ended, for finalizers. */
export type Outcome = 'pending' | 'relayed' | 'local_reply' | 'upstream_failed_midstream' | 'client_aborted' | 'internal_error';

/**
 * Per-request state, in typed fields (never a string-keyed bag). Stages fill it top to bottom;
 * finalizers read it once the response is over.
 */
export class RequestContext {
  readonly gw: Gateway;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly id: string;
  /** True when the client sent `x-request-id` (enables fallback for non-idempotent methods, §4.5). */
  readonly clientRequestId: boolean;
  readonly method: string;
  /** Normalised path, `/v1/...` for proxy routes. */
  readonly path: string;
  /** Query string including `?`, or `''`. */
  readonly query: string;
  readonly surface: ErrorSurface;
  readonly startedAt: number;
  readonly startedAtMs: number;
  /** Aborted when the client goes away or the gateway gives up; every upstream call listens to it. */
  readonly abort = new RequestAbort();

  key: VirtualKey | undefined;
  body: Buffer | undefined;
  /** The request stream when the body is relayed unbuffered (large uploads). */
  bodyStream: Readable | undefined;
  bodyBytes = 0;
  /** Set when a length-less streamed body ran past `--proxy-max-body-bytes`. */
  bodyLimitExceeded = false;
  json: Record<string, unknown> | undefined;
  model: string | undefined;
  maxOutputTokens = 0;
  chargeTokens = 0;
  routeRule: RouteRule | undefined;
  /** Governance state (rate limits, budgets, usage), set by the `rate_limit` stage when any applies. */
  gov: GovRequest | undefined;
  /** Set when the guardrails stage refused the request: the reason (`banned_phrase:<p>`, `pii:email`…). */
  guardrailReason: string | undefined;
  candidates: Backend[] = [];
  attempts: AttemptRecord[] = [];
  /** The backend whose response was relayed. */
  backend: string | undefined;
  status = 0;
  responseBytes = 0;
  /** True when the relayed response is an SSE stream. */
  streamed = false;
  outcome: Outcome = 'pending';
  error: GatewayError | undefined;
  /** Anthropic / Gemini client surface: the request in the client's protocol (src/surfaces); undefined on `/v1/*`. */
  clientSurface: ClientSurface | undefined;
  /** Turns the OpenAI-shaped upstream answer into the client surface's protocol before it is relayed. */
  convertResponse: ResponseConverter | undefined;
  /** CONTRACT §3.7/§3.8: with no virtual keys configured, the client's own credential, sent on as `authorization: Bearer`. */
  forwardedCredential: string | undefined;
  /** The request's trace (ids, client spans) while tracing is on (`--otel`); created at the first attempt or the finalizer. */
  trace: TraceState | undefined;
  /** Non-fatal notes for the client (`x-ditto-warnings`) and logs. */
  warnings: string[] = [];
  /** Released by the `release_permits` finalizer. */
  readonly releases: Array<() => void> = [];

  constructor(gw: Gateway, req: IncomingMessage, res: ServerResponse, path: string, query: string, surface: ErrorSurface) {
    this.gw = gw;
    this.req = req;
    this.res = res;
    this.method = req.method ?? 'GET';
    this.path = path;
    this.query = query;
    this.surface = surface;
    this.startedAt = performance.now();
    this.startedAtMs = Date.now();
    const given = req.headers['x-request-id'];
    const rid = typeof given === 'string' ? given.trim() : '';
    this.clientRequestId = rid !== '';
    this.id = rid !== '' ? rid : gw.nextRequestId();
  }

  /** True when the streamed body was cut off for exceeding the limit (answered 413). */
  bodyTooLarge(): boolean {
    return this.bodyLimitExceeded;
  }

  /** Milliseconds since the request arrived. */
  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }
}
