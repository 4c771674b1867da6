import type { Stage } from '../run.js';

/**
 * Insertion points for stages owned by later work (guardrails, rate limits, budgets, dedup, cache).
 * Each is replaced by its real implementation in `stages/index.ts`; until then it passes through.
 */
export function noopStage(name: string): Stage {
  return { name, run: () => undefined };
}
