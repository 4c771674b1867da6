import type { EventPayload } from '../../observability/logger.js';
import type { RequestContext } from '../context.js';
import type { Finalizer } from '../run.js';

/**
 * One access-log line / JSON event per request, written when the response is over, with the
 * request id, key id (never the key), model, backend, status and latency; a guardrail refusal is a
 * `proxy.blocked` event carrying its `reason`.
 */
export const observe: Finalizer = {
  name: 'observe',
  run(ctx: RequestContext): void {
    const failed = ctx.outcome === 'local_reply' || ctx.outcome === 'internal_error';
    const blocked = ctx.guardrailReason !== undefined;
    const event = blocked ? 'proxy.blocked' : failed ? 'proxy.error' : 'proxy.response';
    const attempted: string[] = [];
    for (const a of ctx.attempts) attempted.push(a.backend);
    const payload: EventPayload = {
      request_id: ctx.id,
      method: ctx.method,
      path: ctx.path,
      status: ctx.status,
      latency_ms: Math.round(ctx.elapsedMs() * 100) / 100,
      virtual_key_id: ctx.key?.id ?? null,
      model: ctx.model ?? null,
      backend: ctx.backend ?? null,
      attempted_backends: attempted,
      outcome: ctx.outcome,
      stream: ctx.streamed,
      body_len: ctx.bodyBytes,
      response_bytes: ctx.responseBytes,
      charge_tokens: ctx.chargeTokens,
    };
    // Optional fields appended in place (same key order as before, without spread temporaries).
    const g = ctx.gov;
    if (g?.usage !== undefined) {
      payload['input_tokens'] = g.usage.input;
      payload['output_tokens'] = g.usage.output;
      payload['total_tokens'] = g.usage.total;
      if (g.costPico !== undefined) payload['cost_usd'] = Number(g.costPico) / 1e12;
    }
    if (ctx.error) payload['error_code'] = ctx.error.code;
    if (blocked) payload['reason'] = ctx.guardrailReason;
    ctx.gw.logger.event(event, payload);
    ctx.gw.telemetry.finish(ctx);
  },
};
