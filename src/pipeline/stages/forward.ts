import { GatewayError } from '../../errors/gateway-error.js';
import { renderStreamError } from '../../errors/render.js';
import type { AttemptFailure } from '../../routing/breaker.js';
import { relayResponseHeaders, sanitizeRequestHeaders } from '../../upstream/headers.js';
import { relayBody, type RelayTap } from '../../upstream/relay.js';
import { formatUsd } from '../../pricing/table.js';
import { isTokenPriced, type GovRequest } from '../../usage/governance.js';
import { usageFromJsonBody } from '../../usage/extract.js';
import { JsonUsageTap, SseUsageTap } from '../../usage/sse-tap.js';
import { responseCost, settleRequest } from '../finalizers/settle.js';
import type { Readable } from 'node:stream';
import { chatToResponses, markShimmed, responsesToChat, shimConverter, SHIM_STATUSES } from '../../surfaces/responses-shim.js';
import { isClientShaped, sendSurfaceDirect, takesSurfaceDirectly } from '../../surfaces/native.js';
import { surfaceUsageSink } from '../../surfaces/usage.js';
import { AttemptRequest, UpstreamFailure, type Backend, type UpstreamResponse } from '../../upstream/types.js';
import type { AttemptRecord, RequestContext } from '../context.js';
import type { Stage } from '../run.js';

/** Methods that may move to another backend without a client `x-request-id` (CONTRACT §4.5 safety guard). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * The terminal stage: try candidates in order (never the same backend twice), move on for network
 * errors, timeouts and configured statuses when policy and the safety guard allow, then relay the
 * chosen response. Nothing moves on once a byte went to the client or when the body was streamed.
 */
export const forward: Stage = {
  name: 'forward',
  async run(ctx: RequestContext): Promise<void> {
    const gw = ctx.gw;
    const o = gw.options;
    const cands = ctx.candidates;
    const baseHeaders = sanitizeRequestHeaders(ctx.req.headers);
    const surface = ctx.clientSurface !== undefined;
    if (surface) surfaceHeaders(ctx, baseHeaders);
    const mayMoveOn = (SAFE_METHODS.has(ctx.method) || ctx.clientRequestId) && ctx.bodyStream === undefined;
    const maxAttempts = o.retryMaxAttempts > 0 ? Math.min(o.retryMaxAttempts, cands.length) : cands.length;
    let lastError: GatewayError | undefined;
    let attempts = 0;
    for (let i = 0; i < cands.length && attempts < maxAttempts; i++) {
      const b = cands[i] as Backend;
      if (atCap(b)) {
        ctx.attempts.push({ backend: b.name, result: 'skipped_inflight', durationMs: 0 });
        lastError = new GatewayError('inflight_limit_backend', `backend "${b.name}" is at its in-flight limit`, { headers: { 'retry-after': '1' } });
        continue;
      }
      if (b.kind === 'translation' && ctx.bodyStream !== undefined) {
        throw new GatewayError('request_too_large', `backend "${b.name}" cannot take a streamed upload; send at most --proxy-max-body-bytes`);
      }
      attempts++;
      const hasNext = attempts < maxAttempts && cands.slice(i + 1).some((c) => !atCap(c));
      const { body, json } = mapModel(ctx, b);
      b.inFlight++;
      gw.counters.backend_calls++;
      const t0 = performance.now();
      let res: UpstreamResponse;
      try {
        res = takesSurfaceDirectly(ctx, b) ? await sendSurfaceDirect(ctx, b, baseHeaders, surfaceUsageSink(ctx)) : await b.send(new AttemptRequest(
          ctx.method, ctx.path, surface ? '' : ctx.query, gw.telemetry.attemptHeaders(ctx, baseHeaders), body, json, ctx.id, ctx.abort,
          ctx.bodyStream ? ctx.bodyBytes || undefined : undefined,
        ));
        if (shimApplies(ctx, b, res.status, json)) res = await shimResponses(ctx, b, res, json as Record<string, unknown>, baseHeaders);
      } catch (err) {
        b.inFlight--;
        if (err instanceof GatewayError) throw err;
        const durationMs = performance.now() - t0;
        if (ctx.bodyTooLarge()) throw new GatewayError('request_too_large', `request body exceeds the ${o.maxBodyBytes}-byte limit (--proxy-max-body-bytes)`);
        const f = err instanceof UpstreamFailure ? err : new UpstreamFailure('network', (err as Error)?.message ?? 'error', { cause: err });
        recordAttempt(ctx, { backend: b.name, result: f.kind, durationMs });
        if (f.kind === 'aborted') {
          ctx.outcome = 'client_aborted';
          return;
        }
        const failure: AttemptFailure = { kind: f.kind, message: f.message };
        gw.breaker?.recordFailure(b.name, failure);
        const action = f.kind === 'timeout' ? o.timeoutErrorAction : o.networkErrorAction;
        const gwErr = f.kind === 'timeout'
          ? new GatewayError('backend_timeout', `backend "${b.name}" timed out (${f.message})`)
          : new GatewayError('backend_error', `backend "${b.name}" request failed: ${f.message}`);
        const next = action !== 'none' && mayMoveOn && hasNext;
        logRouting(ctx, b.name, f.kind, f.message, action, next, action !== 'none' && !mayMoveOn && hasNext);
        if (next) {
          lastError = gwErr;
          continue;
        }
        throw gwErr;
      }
      const status = res.status;
      const failed = (o.retry && o.retryStatusCodes.includes(status)) || o.fallbackStatusCodes.includes(status);
      const statusFailure: AttemptFailure = { kind: 'status', status };
      if (gw.breaker?.counts(statusFailure)) gw.breaker.recordFailure(b.name, statusFailure);
      else gw.breaker?.recordSuccess(b.name);
      if (failed) {
        const action = o.retry && o.retryStatusCodes.includes(status) ? 'retry' : 'fallback';
        logRouting(ctx, b.name, 'status', `status ${status}`, action, mayMoveOn && hasNext, !mayMoveOn && hasNext);
        if (mayMoveOn && hasNext) {
          recordAttempt(ctx, { backend: b.name, result: 'status', status, durationMs: performance.now() - t0 });
          discard(res);
          b.inFlight--;
          continue;
        }
      }
      recordAttempt(ctx, { backend: b.name, result: 'ok', status, durationMs: performance.now() - t0 });
      try {
        await relay(ctx, b, res);
      } finally {
        b.inFlight--;
      }
      return;
    }
    throw lastError ?? new GatewayError('backend_not_found', 'no backend available for this request');
  },
};

/**
 * Upstream headers for a client surface (CONTRACT §3.7, §3.8): the body is now OpenAI JSON; the Google key header
 * is a credential; the answer must arrive uncompressed to be converted; and with no virtual keys the client's own
 * credential goes on as `authorization: Bearer` (backend headers, applied later, still override it).
 */
function surfaceHeaders(ctx: RequestContext, headers: Record<string, string | string[]>): void {
  delete headers['x-goog-api-key'];
  delete headers['accept-encoding'];
  headers['content-type'] = 'application/json';
  if (ctx.forwardedCredential !== undefined) headers['authorization'] = `Bearer ${ctx.forwardedCredential}`;
}

/** CONTRACT §3.5: a passthrough upstream without a Responses API answered exactly `POST /v1/responses`. */
function shimApplies(ctx: RequestContext, b: Backend, status: number, json: Record<string, unknown> | undefined): boolean {
  return b.kind === 'passthrough' && ctx.method === 'POST' && ctx.path === '/v1/responses' && SHIM_STATUSES.has(status) && json !== undefined;
}

/**
 * The `/v1/responses` shim (CONTRACT §3.5): drop the upstream's 404/405/501, POST the mapped request (already after
 * `model_map`) to `/v1/chat/completions` on the same backend, and answer in the Responses shape with `x-ditto-shim`.
 */
async function shimResponses(ctx: RequestContext, b: Backend, first: UpstreamResponse, json: Record<string, unknown>, base: Record<string, string | string[]>): Promise<UpstreamResponse> {
  discard(first);
  const chat = responsesToChat(json);
  const headers: Record<string, string | string[]> = { ...base, 'content-type': 'application/json' };
  delete headers['accept-encoding'];
  ctx.gw.counters.backend_calls++;
  ctx.gw.logger.event('proxy.responses_shim', { request_id: ctx.id, backend: b.name, upstream_status: first.status, stream: chat['stream'] === true });
  const up = await b.send({
    method: 'POST', path: '/v1/chat/completions', query: ctx.query, headers, body: Buffer.from(JSON.stringify(chat)), json: chat,
    requestId: ctx.id, signal: ctx.abort.signal, contentLength: undefined,
  });
  const model = typeof chat['model'] === 'string' ? chat['model'] : '';
  // Tied to this answer, not to the request: should it fail over, the next backend's reply is not shimmed.
  return markShimmed(up, (r) => chatToResponses(r, ctx.id, model, {
    onMidstreamFailure: () => { ctx.outcome = 'upstream_failed_midstream'; }, onUsage: surfaceUsageSink(ctx),
  }));
}

/** Record a finished attempt: for logs and audit, and the per-attempt metrics and client span. */
function recordAttempt(ctx: RequestContext, rec: AttemptRecord): void {
  ctx.attempts.push(rec);
  ctx.gw.telemetry.attempt(ctx, rec);
}

function atCap(b: Backend): boolean {
  return b.maxInFlight !== undefined && b.inFlight >= b.maxInFlight;
}

/** Apply the backend's `model_map` (CONTRACT §3.3): exact hit, else `*`; otherwise the bytes go unchanged. */
function mapModel(ctx: RequestContext, b: Backend): { body: RequestContext['body'] | RequestContext['bodyStream']; json: Record<string, unknown> | undefined } {
  const json = ctx.json;
  const body = ctx.bodyStream ?? ctx.body;
  if (json === undefined || typeof json['model'] !== 'string') return { body, json };
  const mapped = b.modelMap[json['model']] ?? b.modelMap['*'];
  const g = ctx.gov;
  let inject = false;
  if (g !== undefined) {
    g.sentModel = mapped ?? json['model'];
    inject = g.injectedUsage = injectsUsage(ctx, b, json);
  }
  if ((mapped === undefined || mapped === json['model']) && !inject) return { body, json };
  const out: Record<string, unknown> = { ...json, model: mapped ?? json['model'] };
  if (inject) {
    const so = json['stream_options'];
    out['stream_options'] = { ...(so !== null && typeof so === 'object' ? so : {}), include_usage: true };
  }
  return { body: Buffer.from(JSON.stringify(out)), json: out };
}

function discard(res: UpstreamResponse): void {
  if (!Buffer.isBuffer(res.body)) {
    res.body.on('error', () => undefined);
    res.body.resume();
  }
}

/**
 * One routing event per failed attempt (CONTRACT §4.14): `proxy.request_safety_guard` when only the
 * safety guard kept us from moving on, else `proxy.retry` / `proxy.fallback` by the configured action.
 */
function logRouting(ctx: RequestContext, backend: string, kind: string, reason: string, action: string, willAttemptNext: boolean, guarded: boolean): void {
  const event = guarded ? 'proxy.request_safety_guard' : action === 'retry' ? 'proxy.retry' : 'proxy.fallback';
  ctx.gw.logger.event(event, {
    request_id: ctx.id, backend, action, failure_kind: kind, reason, will_attempt_next_backend: willAttemptNext,
  });
}

/** Write the chosen response: upstream status and headers (minus hop-by-hop) plus the gateway's own. */
async function relay(ctx: RequestContext, b: Backend, up: UpstreamResponse): Promise<void> {
  // A client surface or the responses shim answers in its own protocol; a reply that cannot be converted
  // throws here, before any byte went out, and becomes a local error in the client's shape.
  const convert = shimConverter(up) ?? (isClientShaped(up) ? undefined : ctx.convertResponse);
  if (convert) up = await convert(up);
  const res = ctx.res;
  const headers = relayResponseHeaders(up.headers);
  headers['x-ditto-request-id'] = ctx.id;
  headers['x-request-id'] = ctx.id;
  headers['x-ditto-backend'] = b.name;
  if (ctx.gw.draining) headers['connection'] = 'close';
  ctx.backend = b.name;
  ctx.status = up.status;
  ctx.outcome = 'relayed';
  const ct = headers['content-type'];
  const sse = typeof ct === 'string' && ct.startsWith('text/event-stream');
  const g = ctx.gov;
  let body = up.body;
  if (g !== undefined && !sse && !Buffer.isBuffer(body) && bufferForUsage(ctx, up.status, headers)) body = await readForUsage(b, body);
  if (Buffer.isBuffer(body)) {
    if (g !== undefined) {
      const settled = settleBuffered(ctx, g, body, headers);
      if (settled !== undefined) await settled;
    }
    res.writeHead(up.status, headers);
    res.end(body);
    ctx.responseBytes = body.length;
    return;
  }
  if (sse) {
    ctx.streamed = true;
    ctx.gw.telemetry.streamOpened(ctx, b.name);
    headers['cache-control'] ??= 'no-cache';
    headers['x-accel-buffering'] = 'no';
  }
  const tap = g !== undefined ? usageTap(ctx, g, sse, up.status, headers) : undefined;
  res.writeHead(up.status, headers);
  if (sse) res.flushHeaders();
  const r = await relayBody(res, body, sse, tap, ctx.surface === 'openai' ? {} : { errorEvent: renderStreamError(ctx.surface) });
  ctx.responseBytes = r.bytes;
  if (r.end === 'upstream_error') ctx.outcome = 'upstream_failed_midstream';
  else if (r.end === 'client_aborted') ctx.outcome = 'client_aborted';
}

/**
 * CONTRACT §7.7: a streamed chat/completions or completions request to an OpenAI-compatible backend
 * (passthrough, the mock, or a translation backend, which turns the provider's native usage into the usage chunk)
 * without `stream_options.include_usage` gets it added upstream; the relay then
 * removes the usage-only final chunk, so the stream settles on real usage and the client sees what it asked for.
 */
function injectsUsage(ctx: RequestContext, _b: Backend, json: Record<string, unknown>): boolean {
  if (ctx.method !== 'POST' || json['stream'] !== true) return false;
  if (ctx.path !== '/v1/chat/completions' && ctx.path !== '/v1/completions') return false;
  const so = json['stream_options'];
  return !(so !== null && typeof so === 'object' && (so as Record<string, unknown>)['include_usage'] === true);
}

/**
 * A 2xx non-SSE body is read whole before its headers go out when its `content-length` is within
 * `--proxy-usage-max-body-bytes` (§4.6): its usage is known before the response is written, so the cost
 * header can be sent and the settlement and audit record written first (fail closed). Bodies without a
 * length or above the cap stream through and are read by a tap instead.
 */
function bufferForUsage(ctx: RequestContext, status: number, headers: Record<string, string | string[] | number | undefined>): boolean {
  const cap = ctx.gw.options.usageMaxBodyBytes;
  if (cap <= 0 || status < 200 || status >= 300) return false;
  const cl = headers['content-length'];
  return typeof cl === 'string' && isDigits(cl) && Number(cl) <= cap;
}

/** A non-empty run of ASCII digits (a content-length); a loop, not a regex test per response. */
function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function readForUsage(b: Backend, body: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let parts: Buffer[] | undefined;
    body.on('data', (c: Buffer) => {
      if (first === undefined) first = c;
      else (parts ??= [first]).push(c);
    });
    // Plain listeners (no once-wrappers); the error listener stays, so a late error is never unhandled.
    body.on('end', () => resolve(parts !== undefined ? Buffer.concat(parts) : first ?? EMPTY));
    body.on('error', (err: Error) => reject(new GatewayError('backend_error', `backend "${b.name}" response failed: ${err.message}`)));
  });
}

const EMPTY = Buffer.alloc(0);

/**
 * A buffered response: read its usage, add `x-ditto-response-cost-usd` (§7.8: token-priced endpoints with a
 * priced model), then settle and audit before anything is written; a store failure answers 500
 * `storage_error` instead of the response (fail closed, §4.13).
 */
function settleBuffered(ctx: RequestContext, g: GovRequest, body: Buffer, headers: Record<string, string | string[] | number | undefined>): void | Promise<void> {
  const gov = ctx.gw.governance;
  if (ctx.status >= 200 && ctx.status < 300) {
    // A client surface or translation may already have read the provider's usage (OpenAI-shaped): it wins.
    g.usage ??= usageFromJsonBody(body);
    const pico = g.usage !== undefined ? responseCost(ctx, g) : undefined;
    if (pico !== undefined && isTokenPriced(ctx.method, ctx.path)) headers['x-ditto-response-cost-usd'] = g.costUsd = formatUsd(pico);
  }
  if (!g.admitted && !gov.audit) return;
  let r: ReturnType<typeof settleRequest>;
  try {
    r = settleRequest(ctx, g);
  } catch (err) {
    throw settleFailed(ctx, g, err);
  }
  if (r instanceof Promise) return r.then(() => undefined, (err: unknown) => { throw settleFailed(ctx, g, err); });
}

function settleFailed(ctx: RequestContext, g: GovRequest, err: unknown): GatewayError {
  // SQLite/memory applied nothing: let the settle finalizer release it. Redis re-applies a failed
  // settlement itself and must not be closed twice.
  if (ctx.gw.governance.store.kind !== 'redis') g.closed = false;
  return new GatewayError('storage_error', `could not record the settlement and audit record (request id ${ctx.id})`, { cause: err });
}

/** The relay's usage tap: SSE `data:` events (with the usage-only chunk filter when we injected it), or a JSON body up to the cap. */
function usageTap(ctx: RequestContext, g: GovRequest, sse: boolean, status: number, headers: Record<string, string | string[] | number | undefined>): RelayTap | undefined {
  if (sse) {
    const t = new SseUsageTap({ dropUsageOnly: g.injectedUsage });
    if (g.injectedUsage) delete headers['content-length'];
    g.tap = t;
    return t;
  }
  const cap = ctx.gw.options.usageMaxBodyBytes;
  if (cap <= 0 || status < 200 || status >= 300) return undefined;
  const t = new JsonUsageTap(cap);
  g.tapUsage = () => t.usage();
  return t;
}
