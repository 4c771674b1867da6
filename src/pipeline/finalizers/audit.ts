import type { AuditInput } from '../../store/store.js';
import type { RequestContext } from '../context.js';
import type { Finalizer } from '../run.js';

/** Local replies that are policy decisions (audit kind `proxy.blocked`). */
const BLOCKED = new Set([
  'invalid_api_key', 'guardrail_rejected', 'rate_limited', 'budget_exceeded', 'cost_budget_exceeded',
  'inflight_limit_key', 'cost_budget_unsupported_endpoint',
]);

/**
 * The §4.13 audit record of a proxy request: `proxy` (a response was relayed), `proxy.blocked` (refused by
 * policy: auth, guardrails, limits, budgets) or `proxy.error` (anything else).
 */
export function proxyAuditRecord(ctx: RequestContext, settled?: { tokens: number; micros: number; costUsd: string | undefined }): AuditInput {
  const key = ctx.key;
  const g = ctx.gov;
  const code = ctx.error?.code;
  const blocked = (code !== undefined && BLOCKED.has(code)) || ctx.guardrailReason !== undefined; // a schema guardrail answers 400
  const kind = ctx.backend !== undefined && ctx.status > 0 && code === undefined ? 'proxy' : blocked ? 'proxy.blocked' : 'proxy.error';
  const payload: Record<string, unknown> = {
    request_id: ctx.id,
    virtual_key_id: key?.id ?? null,
    method: ctx.method,
    path: ctx.path,
    model: ctx.model ?? null,
    backend: ctx.backend ?? null,
    attempted_backends: ctx.attempts.map((a) => a.backend),
    status: ctx.status,
    outcome: ctx.outcome,
    charge_tokens: settled?.tokens ?? 0,
    charge_cost_usd_micros: settled?.micros ?? 0,
    body_len: ctx.bodyBytes,
    tenant_id: key?.config.tenant_id ?? null,
    project_id: key?.config.project_id ?? null,
    user_id: key?.config.user_id ?? null,
  };
  if (code !== undefined) payload['error_code'] = code;
  if (ctx.guardrailReason !== undefined) payload['reason'] = ctx.guardrailReason;
  if (g?.sentModel !== undefined && g.sentModel !== ctx.model) payload['sent_model'] = g.sentModel;
  const u = g?.usage;
  if (u !== undefined) {
    payload['usage'] = {
      prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.total, cached_tokens: u.cachedInput, cache_creation_tokens: u.cacheCreation,
    };
  }
  if (settled?.costUsd !== undefined) payload['cost_usd'] = settled.costUsd;
  return { kind, payload, tsMs: Date.now() };
}

/**
 * Audit for proxy requests that never reached governance (refused by auth, body or guardrail checks, or
 * unroutable): with a persistent store, one record each. Requests with governance state are audited by the
 * `settle` finalizer, in the same atomic step as their settlement.
 */
export const audit: Finalizer = {
  name: 'audit',
  run(ctx: RequestContext): void {
    const gov = ctx.gw.governance;
    if (!gov.audit || ctx.gov !== undefined || !ctx.path.startsWith('/v1/') || ctx.path === '/v1/models') return;
    const p = gov.store.appendAudit([proxyAuditRecord(ctx)]).then(
      () => undefined,
      (err: unknown) => { ctx.gw.logger.error(`audit append failed for ${ctx.id}: ${(err as Error).message}`); },
    );
    gov.track(p);
  },
};
