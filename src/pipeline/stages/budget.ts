import { GatewayError } from '../../errors/gateway-error.js';
import { estimateMicros, estimatePico, serviceTier } from '../../pricing/table.js';
import { isStoreUnavailable, type AdmitResult, type RateDenial } from '../../store/store.js';
import { isCostFree, isTokenPriced, type GovRequest } from '../../usage/governance.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../run.js';

/**
 * Cost endpoint policy and USD estimate (§4.9), then ONE atomic store admission for the request
 * (§4.7, §4.8, §7.5): every rpm/tpm window and every token and USD budget of every scope the key maps to,
 * all or nothing. Rate windows are checked first (429), then token budgets, then USD budgets (402).
 */
export const budget: Stage = {
  name: 'budget',
  run(ctx: RequestContext): void | Promise<void> {
    const g = ctx.gov;
    if (g === undefined) return;
    const plan = g.plan;
    g.tier = serviceTier(ctx.json);
    g.estTokens = ctx.chargeTokens;
    if (plan.usd) {
      const priced = isTokenPriced(ctx.method, ctx.path);
      if (!priced && !isCostFree(ctx.method, ctx.path)) {
        throw new GatewayError('cost_budget_unsupported_endpoint', `${ctx.method} ${ctx.path} cannot be priced, and this key has a USD budget`);
      }
      if (priced) g.estMicros = estimateMicros(estimate(ctx));
    }
    if (plan.rate.length === 0 && plan.budgets.length === 0) return;
    return admit(ctx, g);
  },
};

async function admit(ctx: RequestContext, g: GovRequest): Promise<void> {
  const gov = ctx.gw.governance;
  // A client-chosen x-request-id may repeat; reservations need a unique id.
  const id = ctx.clientRequestId ? `${ctx.id}#${ctx.gw.nextRequestId()}` : ctx.id;
  let r: AdmitResult;
  try {
    r = await gov.store.admit({
      requestId: id, owner: gov.owner, rate: g.plan.rate, budgets: g.plan.budgets, tokens: ctx.chargeTokens, micros: g.estMicros,
    });
  } catch (err) {
    throw storeFailure(err);
  }
  if (r.allowed) {
    g.reservationId = id;
    g.admitted = true;
    return;
  }
  switch (r.reason) {
    case 'rate_limited':
      throw rateLimited(g, r.rate);
    case 'budget_exceeded':
    case 'cost_budget_exceeded': {
      const b = r.budget;
      throw new GatewayError(r.reason, `budget exceeded: limit=${b.limit} attempted=${b.spent + b.reserved + b.requested}`);
    }
    case 'duplicate_request':
      throw new GatewayError('internal_error', `internal error (request id ${ctx.id})`);
  }
}

/** A store that cannot serve: 503 naming it (nothing was forwarded or charged). */
export function storeFailure(err: unknown): unknown {
  if (isStoreUnavailable(err)) {
    return new GatewayError('store_unavailable', `${err.store} store unavailable; request not forwarded`, { headers: { 'retry-after': '1' }, cause: err });
  }
  return err;
}

/** 429 with `Retry-After` and the OpenAI-style `x-ratelimit-*` headers (§7.5). */
function rateLimited(g: GovRequest, d: RateDenial): GatewayError {
  const requests = d.dimension === 'requests';
  const headers: Record<string, string> = { 'retry-after': String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))) };
  const suffix = requests ? 'requests' : 'tokens';
  headers[`x-ratelimit-limit-${suffix}`] = String(d.limit);
  headers[`x-ratelimit-remaining-${suffix}`] = String(d.remaining);
  headers[`x-ratelimit-reset-${suffix}`] = duration(d.resetMs);
  // The other dimension of the denied scope: its limit (the window was not read, so no remaining/reset).
  const rule = g.plan.rate.find((r) => r.scope === d.scope);
  const other = requests ? rule?.tpm : rule?.rpm;
  if (other !== undefined) headers[`x-ratelimit-limit-${requests ? 'tokens' : 'requests'}`] = String(other);
  return new GatewayError('rate_limited', `rate limit exceeded: ${requests ? 'rpm' : 'tpm'}>${d.limit}`, { headers });
}

/** OpenAI's reset format: `250ms`, `1.5s`, `60s`. */
function duration(ms: number): string {
  return ms < 1000 ? `${Math.max(0, Math.ceil(ms))}ms` : `${Math.ceil(ms) / 1000}s`;
}

/**
 * §4.9 estimate in pico-USD: `input_est × in + max_output × out`, the max over the request model and the
 * model each candidate would be sent (after `model_map`). A model that would be sent unpriced: 500.
 */
function estimate(ctx: RequestContext): bigint {
  const model = ctx.model;
  if (model === undefined) throw new GatewayError('invalid_request', 'missing field `model` (needed to price the request for a USD budget)');
  const pricing = ctx.gw.governance.pricing;
  if (pricing === undefined) {
    throw new GatewayError('pricing_not_configured', `no pricing for model "${model}": start the gateway with --pricing-litellm to use USD budgets`);
  }
  const input = Math.max(0, ctx.chargeTokens - ctx.maxOutputTokens);
  const tier = ctx.gov?.tier;
  const sent = new Set<string>();
  for (const c of ctx.candidates) sent.add(c.modelMap[model] ?? c.modelMap['*'] ?? model);
  if (sent.size === 0) sent.add(model);
  let max = 0n;
  const consider = (m: string, required: boolean): void => {
    const p = pricing.get(m);
    if (p === undefined) {
      if (required) throw new GatewayError('pricing_not_configured', `no pricing for model "${m}" in the --pricing-litellm table`);
      return;
    }
    const v = estimatePico(p, input, ctx.maxOutputTokens, tier);
    if (v > max) max = v;
  };
  for (const m of sent) consider(m, true);
  if (!sent.has(model)) consider(model, false);
  return max;
}
