import { GatewayError } from '../../errors/gateway-error.js';
import { GovRequest } from '../../usage/governance.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../run.js';

/**
 * `limits.max_parallel` per key (in-process, §7.5: 429 `inflight_limit_key`), and the per-request
 * governance state: created when the key has rate limits or budgets, when a persistent store keeps an
 * audit log, or when a pricing table is loaded (cost header). The rpm/tpm check itself is part of the
 * one atomic admission the `budget` stage makes (rate windows are checked before budgets).
 */
export const rateLimit: Stage = {
  name: 'rate_limit',
  run(ctx: RequestContext): void {
    const key = ctx.key;
    if (key === undefined) return;
    const gov = ctx.gw.governance;
    const plan = gov.plan(key.config);
    const max = plan.maxParallel;
    if (max !== undefined) {
      const n = gov.parallel.get(key.id) ?? 0;
      if (n >= max) {
        throw new GatewayError('inflight_limit_key', `too many in-flight requests for this key (limits.max_parallel=${max})`, { headers: { 'retry-after': '1' } });
      }
      gov.parallel.set(key.id, n + 1);
      ctx.releases.push(() => {
        const left = (gov.parallel.get(key.id) ?? 1) - 1;
        if (left <= 0) gov.parallel.delete(key.id);
        else gov.parallel.set(key.id, left);
      });
    }
    if (plan.rate.length > 0 || plan.budgets.length > 0 || gov.audit || gov.pricing !== undefined) ctx.gov = new GovRequest(plan);
  },
};
