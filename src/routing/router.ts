import type { GuardrailsConfig, RouterConfig, WeightedBackend } from '../config/schema.js';
import { fnv1a64Unit } from './fnv.js';

/** A compiled router rule. */
export interface RouteRule {
  readonly index: number;
  readonly prefix: string;
  readonly exact: boolean;
  readonly candidates: readonly WeightedBackend[];
  readonly guardrails: GuardrailsConfig | null | undefined;
}

/** What the router chose for a model: the weighted candidates and the rule (if any) that matched. */
export interface RouteMatch {
  readonly candidates: readonly WeightedBackend[];
  readonly rule: RouteRule | undefined;
}

/**
 * Model → candidates (CONTRACT §2.4): first matching exact rule, then first matching prefix rule
 * (config order), then `default_backends`. Pure; compiled once at startup.
 */
export class Router {
  readonly #exact = new Map<string, RouteRule>();
  readonly #prefix: RouteRule[] = [];
  readonly #defaults: RouteMatch;

  constructor(config: RouterConfig) {
    (config.rules ?? []).forEach((r, index) => {
      const candidates = (r.backends?.length ?? 0) > 0
        ? (r.backends as WeightedBackend[])
        : [{ backend: r.backend ?? '', weight: 1 }];
      const prefix = r.exact ? r.model_prefix : r.model_prefix.replace(/\*$/, '');
      const rule: RouteRule = { index, prefix, exact: r.exact, candidates, guardrails: r.guardrails };
      if (r.exact) {
        if (!this.#exact.has(prefix)) this.#exact.set(prefix, rule);
      } else {
        this.#prefix.push(rule);
      }
    });
    this.#defaults = { candidates: config.default_backends ?? [], rule: undefined };
  }

  /** Match a model id (undefined when the request names none). */
  match(model: string | undefined): RouteMatch {
    if (model !== undefined) {
      const exact = this.#exact.get(model);
      if (exact) return { candidates: exact.candidates, rule: exact };
      for (const rule of this.#prefix) {
        if (model.startsWith(rule.prefix)) return { candidates: rule.candidates, rule };
      }
    }
    return this.#defaults;
  }
}

/**
 * Order weighted candidates for one request (CONTRACT §4.4): a deterministic weighted pick seeded by
 * the request id becomes the primary, then the rest follow in config order, de-duplicated. Entries with
 * an empty name or a weight that is not a positive finite number take no part.
 */
export function orderCandidates(candidates: readonly WeightedBackend[], seed: string): string[] {
  const eligible = candidates.filter((c) => c.backend.trim() !== '' && Number.isFinite(c.weight) && c.weight > 0);
  if (eligible.length === 0) return [];
  if (eligible.length === 1) return [(eligible[0] as WeightedBackend).backend];
  let total = 0;
  for (const c of eligible) total += c.weight;
  let pick = fnv1a64Unit(seed) * total;
  let primary = eligible[eligible.length - 1] as WeightedBackend;
  for (const c of eligible) {
    if (pick < c.weight) { primary = c; break; }
    pick -= c.weight;
  }
  const out = [primary.backend];
  for (const c of eligible) if (!out.includes(c.backend)) out.push(c.backend);
  return out;
}
