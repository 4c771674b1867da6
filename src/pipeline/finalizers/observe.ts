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
    ctx.gw.logger.event(event, {
      request_id: ctx.id,
      method: ctx.method,
      path: ctx.path,
      status: ctx.status,
      latency_ms: Math.round(ctx.elapsedMs() * 100) / 100,
      virtual_key_id: ctx.key?.id ?? null,
      model: ctx.model ?? null,
      backend: ctx.backend ?? null,
      attempted_backends: ctx.attempts.map((a) => a.backend),
      outcome: ctx.outcome,
      stream: ctx.streamed,
      body_len: ctx.bodyBytes,
      response_bytes: ctx.responseBytes,
      charge_tokens: ctx.chargeTokens,
      ...usageFields(ctx),
      ...(ctx.error ? { error_code: ctx.error.code } : {}),
      ...(blocked ? { reason: ctx.guardrailReason } : {}),
    });
    ctx.gw.telemetry.finish(ctx);
  },
};

/** Settled tokens and cost, where known (governance read the provider's usage). */
function usageFields(ctx: RequestContext): Record<string, number> {
  const g = ctx.gov;
  if (g?.usage === undefined) return {};
  const out: Record<string, number> = { input_tokens: g.usage.input, output_tokens: g.usage.output, total_tokens: g.usage.total };
  if (g.costPico !== undefined) out['cost_usd'] = Number(g.costPico) / 1e12;
  return out;
}
