import { GatewayError, isGatewayError } from '../errors/gateway-error.js';
import { renderError } from '../errors/render.js';
import type { RequestContext } from './context.js';

/**
 * The request lifecycle (STYLE §3.2). Stages run in this order; each either returns (continue),
 * throws a {@link GatewayError} (a local reply rendered in the client's protocol), or answers the
 * request itself and sets `ctx.outcome` (the terminal `forward` stage, a cache hit). Stages owned by
 * later work exist now as named no-ops, so adding one never touches the handler.
 */
export const PROXY_STAGES = [
  'authenticate', // virtual key → principal (401)
  'admit', // global in-flight permit (429 inflight_limit)
  'read_body', // body limit (413), buffered or streamed
  'parse_body', // JSON parse (400 invalid_json), model, charge tokens
  'guardrails', // model allow/deny, input cap, schema, text filters (403/400)  [guardrails issue]
  'route', // model → ordered candidates (502 backend_not_found)
  'rate_limit', // rpm/tpm per key and shared scopes (429)                      [governance issue]
  'budget', // token and USD reservations (402)                                 [governance issue]
  'dedup', // x-request-id idempotency                                         [governance issue]
  'health_filter', // drop breaker-open and probe-unhealthy candidates
  'cache_lookup', // replay a cached response                                  [cache issue]
  'forward', // per attempt: send, classify, fall back; relay the response
] as const;

/** Runs once per request after the response is over, in this order. Must not throw. */
export const FINALIZERS = [
  'release_permits', // in-flight permits
  'settle', // commit or roll back reservations                                [governance issue]
  'cache_store', // store a complete cacheable response                        [cache issue]
  'audit', // one audit record                                                 [governance issue]
  'observe', // counters, access log / JSON event
] as const;

export type StageName = (typeof PROXY_STAGES)[number];
export type FinalizerName = (typeof FINALIZERS)[number];

/** A per-request stage. Synchronous stages return undefined, so the common path allocates no promise. */
export interface Stage {
  readonly name: StageName | string;
  run(ctx: RequestContext): void | Promise<void>;
}

/** A finalizer: sees the whole request once it is over. */
export interface Finalizer {
  readonly name: FinalizerName | string;
  run(ctx: RequestContext): void;
}

/**
 * Run `stages` for a request, then the finalizers exactly once after both the stages have settled
 * and the response has closed (so a finalizer always sees final usage, even after a client abort).
 */
export function runPipeline(ctx: RequestContext, stages: readonly Stage[], finalizers: readonly Finalizer[]): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) runFinalizers(ctx, finalizers);
  };
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) {
      if (ctx.outcome === 'pending' || ctx.outcome === 'relayed') ctx.outcome = 'client_aborted';
      ctx.abort.abort();
    }
    done();
  });
  runStages(ctx, stages).then(done, (err: unknown) => {
    replyError(ctx, err);
    done();
  });
}

async function runStages(ctx: RequestContext, stages: readonly Stage[]): Promise<void> {
  for (let i = 0; i < stages.length; i++) {
    const r = (stages[i] as Stage).run(ctx);
    if (r !== undefined) await r;
    if (ctx.outcome !== 'pending') return;
  }
}

function runFinalizers(ctx: RequestContext, finalizers: readonly Finalizer[]): void {
  for (const f of finalizers) {
    try {
      f.run(ctx);
    } catch (err) {
      ctx.gw.logger.error(`finalizer ${f.name} failed for ${ctx.id}: ${(err as Error).message}`);
    }
  }
}

/**
 * Answer with an error. Before headers: the client protocol's error body. After headers (a stream
 * in flight): the connection is destroyed, never a JSON body spliced into a stream.
 */
export function replyError(ctx: RequestContext, err: unknown): void {
  const gwErr = isGatewayError(err) ? err : new GatewayError('internal_error', `internal error (request id ${ctx.id})`, { cause: err });
  if (!isGatewayError(err)) {
    ctx.outcome = 'internal_error';
    ctx.gw.logger.error(`internal error on ${ctx.method} ${ctx.path} (${ctx.id}): ${(err as Error)?.stack ?? String(err)}`);
  } else if (ctx.outcome === 'pending') {
    ctx.outcome = 'local_reply';
  }
  ctx.error = gwErr;
  const res = ctx.res;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const r = renderError(gwErr, ctx.surface);
  ctx.status = r.status;
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(r.body),
    'x-ditto-request-id': ctx.id,
    'x-request-id': ctx.id,
    ...r.headers,
  };
  // Unread request bytes (e.g. an oversize upload) would otherwise be drained on a keep-alive socket.
  if (!ctx.req.complete) headers['connection'] = 'close';
  if (ctx.gw.draining) headers['connection'] = 'close';
  res.writeHead(r.status, headers);
  res.end(r.body);
}
