import type { RequestContext } from '../pipeline/context.js';
import type { IrUsage } from '../protocols/index.js';
import { convertUsageFromIr } from '../protocols/openai/usage.js';
import { usageFromObject } from '../usage/extract.js';

/**
 * Where a client surface reports the provider's usage (CONTRACT §7.7: translated traffic settles on the native usage
 * numbers). Governance reads OpenAI-shaped usage; each snapshot is cumulative, so the last one wins.
 */
export function surfaceUsageSink(ctx: RequestContext): (u: IrUsage) => void {
  return (u) => {
    const g = ctx.gov;
    if (g === undefined) return;
    const usage = usageFromObject(convertUsageFromIr(u));
    if (usage !== undefined) g.usage = usage;
  };
}
