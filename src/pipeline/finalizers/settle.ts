import { costPico, formatUsd, settleMicros, type TokenUsage } from '../../pricing/table.js';
import type { SettleResult } from '../../store/store.js';
import type { GovRequest } from '../../usage/governance.js';
import type { RequestContext } from '../context.js';
import type { Finalizer } from '../run.js';
import { proxyAuditRecord } from './audit.js';

/** The usage seen on the response: read from a buffered body, or by the relay's tap. */
export function responseUsage(g: GovRequest): TokenUsage | undefined {
  if (g.usage === undefined) g.usage = g.tap?.usage ?? g.tapUsage?.();
  return g.usage;
}

/**
 * Exact cost (pico-USD) of the response's usage with the model it was sent as (§4.9), when the
 * pricing table prices it; also stored on `g.costPico`.
 */
export function responseCost(ctx: RequestContext, g: GovRequest): bigint | undefined {
  const pricing = ctx.gw.governance.pricing;
  const u = responseUsage(g);
  const model = g.sentModel ?? ctx.model;
  if (pricing === undefined || u === undefined || model === undefined) return undefined;
  const p = pricing.get(model);
  if (p === undefined) return undefined;
  g.costPico = costPico(p, u, g.tier);
  return g.costPico;
}

/**
 * Close the request's governance once (§3.3 step 20, §4.8): a response relayed with a 2xx status is
 * settled on its real usage (tokens: `total_tokens`, else input + output; USD: the priced usage), or on
 * the estimate when no usage was seen; anything else releases the reservation and refunds rpm/tpm. With a
 * persistent store the audit record is written in the same atomic step.
 *
 * A store that answers synchronously (`store.sync`, the memory store) is settled at once: the result is
 * returned, or the failure thrown. Any other store returns a promise that rejects when the store fails.
 */
export function settleRequest(ctx: RequestContext, g: GovRequest): SettleResult | undefined | Promise<SettleResult | undefined> {
  g.closed = true;
  const gov = ctx.gw.governance;
  const ok = ctx.backend !== undefined && ctx.status >= 200 && ctx.status < 300 && ctx.error === undefined;
  let tokens = 0;
  let micros = 0;
  let pico: bigint | undefined;
  if (ok) {
    const u = responseUsage(g);
    tokens = u?.total ?? g.estTokens;
    pico = g.costPico ?? responseCost(ctx, g);
    micros = pico !== undefined ? settleMicros(pico) : g.estMicros;
  }
  // The USD string is only needed for the audit record; the relay may have formatted it for the cost header.
  const audit = gov.audit ? proxyAuditRecord(ctx, { tokens, micros, costUsd: pico !== undefined ? (g.costUsd ??= formatUsd(pico)) : undefined }) : undefined;
  const store = gov.store;
  const sync = store.sync;
  if (g.admitted) {
    const usage = { tokens, micros, rateTokens: g.usage?.total };
    if (sync !== undefined) return ok ? sync.settle(g.reservationId, usage, { audit }) : sync.release(g.reservationId, { audit });
    return ok ? store.settle(g.reservationId, usage, { audit }) : store.release(g.reservationId, { audit });
  }
  if (audit !== undefined) return store.appendAudit([audit]).then(() => undefined);
  return undefined;
}

/** Settle (or release) what the request reserved and write its audit record, unless done inline already. */
export const settle: Finalizer = {
  name: 'settle',
  run(ctx: RequestContext): void {
    const g = ctx.gov;
    if (g === undefined || g.closed) return;
    if (!g.admitted && !ctx.gw.governance.audit) {
      g.closed = true;
      return;
    }
    const failed = (err: unknown): void => { ctx.gw.logger.error(`settlement failed for ${ctx.id}: ${(err as Error).message}`); };
    let r: ReturnType<typeof settleRequest>;
    try {
      r = settleRequest(ctx, g);
    } catch (err) {
      failed(err);
      return;
    }
    if (r instanceof Promise) ctx.gw.governance.track(r.then(() => undefined, failed));
  },
};
