import { GatewayError } from '../../errors/gateway-error.js';
import { estimateMicros, estimatePico, serviceTier, type PricingTable, type ServiceTier } from '../../pricing/table.js';
import { isStoreUnavailable, type AdmitRequest, type AdmitResult, type RateDenial } from '../../store/store.js';
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

function admit(ctx: RequestContext, g: GovRequest): void | Promise<void> {
  const gov = ctx.gw.governance;
  // A client-chosen x-request-id may repeat; reservations need a unique id.
  const id = ctx.clientRequestId ? `${ctx.id}#${ctx.gw.nextRequestId()}` : ctx.id;
  const req: AdmitRequest = {
    requestId: id, owner: gov.owner, rate: g.plan.rate, budgets: g.plan.budgets, tokens: ctx.chargeTokens, micros: g.estMicros,
    states: false,
  };
  const sync = gov.store.sync;
  if (sync !== undefined) {
    let r: AdmitResult;
    try {
      r = sync.admit(req);
    } catch (err) {
      throw storeFailure(err);
    }
    admitted(ctx, g, id, r);
    return;
  }
  return gov.store.admit(req).then((r) => admitted(ctx, g, id, r), (err: unknown) => { throw storeFailure(err); });
}

function admitted(ctx: RequestContext, g: GovRequest, id: string, r: AdmitResult): void {
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
  const out = ctx.maxOutputTokens;
  const tier = ctx.gov?.tier;
  const candidates = ctx.candidates;
  // Every model a candidate would send is required to be priced; the request model itself only counts
  // when it is priced (it may be an alias every candidate maps away). No candidates: the request model.
  let modelSent = candidates.length === 0;
  let max = modelSent ? priceEstimate(pricing, model, true, input, out, tier) : 0n;
  for (const c of candidates) {
    const m: string = c.modelMap[model] ?? c.modelMap['*'] ?? model;
    if (m === model) modelSent = true;
    const v = priceEstimate(pricing, m, true, input, out, tier);
    if (v > max) max = v;
  }
  if (!modelSent) {
    const v = priceEstimate(pricing, model, false, input, out, tier);
    if (v > max) max = v;
  }
  return max;
}

function priceEstimate(pricing: PricingTable, m: string, required: boolean, input: number, out: number, tier: ServiceTier): bigint {
  const p = pricing.get(m);
  if (p === undefined) {
    if (required) throw new GatewayError('pricing_not_configured', `no pricing for model "${m}" in the --pricing-litellm table`);
    return 0n;
  }
  return estimatePico(p, input, out, tier);
}
