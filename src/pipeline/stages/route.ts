import { GatewayError } from '../../errors/gateway-error.js';
import { orderCandidates } from '../../routing/router.js';
import type { Backend } from '../../upstream/types.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../run.js';

/**
 * Model → ordered candidates (CONTRACT §2.4, §4.4). A key's `route` pins one backend and skips the
 * rules (and their guardrails); otherwise the weighted pick is seeded by the request id.
 */
export const route: Stage = {
  name: 'route',
  run(ctx: RequestContext): void {
    const gw = ctx.gw;
    const pinned = ctx.key?.config.route;
    let names: string[];
    if (pinned) {
      names = [pinned];
    } else {
      const m = gw.router.match(ctx.model);
      ctx.routeRule = m.rule;
      names = orderCandidates(m.candidates, ctx.id);
    }
    const candidates: Backend[] = [];
    for (const n of names) {
      const b = gw.backends.get(n);
      if (b) candidates.push(b);
    }
    if (candidates.length === 0) {
      throw new GatewayError('backend_not_found', ctx.model === undefined ? 'no backend route for this request' : `no backend route for model "${ctx.model}"`);
    }
    ctx.candidates = candidates;
  },
};

/**
 * Drops candidates whose breaker is open or whose latest health probe failed (CONTRACT §4.5);
 * when that would leave none, the unfiltered list is kept.
 */
export const healthFilter: Stage = {
  name: 'health_filter',
  run(ctx: RequestContext): void {
    const { breaker, health } = ctx.gw;
    if (!breaker && !health) return;
    const ok = ctx.candidates.filter((b) => !(breaker?.isOpen(b.name) ?? false) && (health?.isHealthy(b.name) ?? true));
    if (ok.length > 0) ctx.candidates = ok;
  },
};
