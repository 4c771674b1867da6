import type { BudgetConfig, ConfigFile, LimitsConfig, VirtualKeyConfig } from '../config/schema.js';
import type { ModelPrice, PricingTable, ServiceTier, TokenUsage } from '../pricing/table.js';
import { MemoryStore } from '../store/memory.js';
import { processOwner } from '../store/index.js';
import type { BudgetRule, RateRule, Store } from '../store/store.js';
import type { RelayTap } from '../upstream/relay.js';

/** Which governance a key is under: its scopes' rate rules and budgets (CONTRACT §4.7–4.9, §7.5, §7.6). */
export interface KeyPlan {
  /** Frozen, like their entries: the store validates a frozen rule list once and reuses it. */
  readonly rate: readonly RateRule[];
  readonly budgets: readonly BudgetRule[];
  /** Some scope has a USD budget: cost policy and estimates apply (§4.9). */
  usd: boolean;
  maxParallel: number | undefined;
  tenantId: string | undefined;
  projectId: string | undefined;
  userId: string | undefined;
}

/**
 * Process-wide governance state: the store every admission goes to (the persistent store, else an
 * in-process memory store), the pricing table, per-key parallelism counters, and the settlements still
 * in flight (awaited on shutdown before the store closes).
 */
export class Governance {
  readonly store: Store;
  /** True with a persistent store: every proxied or blocked request gets an audit record (§4.13). */
  readonly audit: boolean;
  readonly owner: string;
  readonly pricing: PricingTable | undefined;
  readonly parallel = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #plans = new WeakMap<VirtualKeyConfig, KeyPlan>();

  constructor(store: Store | undefined, pricing: PricingTable | undefined) {
    this.store = store ?? new MemoryStore();
    this.audit = store !== undefined && store.kind !== 'memory';
    this.owner = processOwner();
    this.pricing = pricing;
  }

  /** The (cached) plan for a key's config object; a replaced key config gets a fresh plan. */
  plan(key: VirtualKeyConfig): KeyPlan {
    let p = this.#plans.get(key);
    if (p === undefined) {
      p = buildPlan(key);
      this.#plans.set(key, p);
    }
    return p;
  }

  /** Keep a settlement promise until it is done, so shutdown can wait for it. */
  track(p: Promise<unknown>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** Wait for every settlement in flight (bounded by the store's own timeouts). */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}

/** Per-request governance state (`ctx.gov`). */
export class GovRequest {
  readonly plan: KeyPlan;
  /** The id the store reserved under (the request id, made unique when the client chose it). */
  reservationId = '';
  /** An admission holds a reservation that settle/release must close. */
  admitted = false;
  /** Closed inline (before a buffered response was written) or by the settle finalizer. */
  closed = false;
  estTokens = 0;
  estMicros = 0;
  tier: ServiceTier = undefined;
  usage: TokenUsage | undefined;
  /** Exact cost in pico-USD of the settled usage, when priced. */
  costPico: bigint | undefined;
  /** `costPico` as the USD string, once formatted (the cost header and the audit record share it). */
  costUsd: string | undefined;
  /** The model the relayed attempt was priced with (mapped). */
  sentModel: string | undefined;
  /** `stream_options.include_usage` was added upstream (§7.7). */
  injectedUsage = false;
  tap: (RelayTap & { usage?: TokenUsage | undefined }) | undefined;
  /** Reading usage from a JSON body tap at the end. */
  tapUsage: (() => TokenUsage | undefined) | undefined;

  constructor(plan: KeyPlan) {
    this.plan = plan;
  }
}

const EMPTY_PLAN: KeyPlan = {
  rate: Object.freeze([]), budgets: Object.freeze([]), usd: false, maxParallel: undefined, tenantId: undefined, projectId: undefined, userId: undefined,
};

function trimmed(v: string | null | undefined): string | undefined {
  const t = v?.trim();
  return t === undefined || t === '' ? undefined : t;
}

/** Scopes (§4.7): key id; `tenant:<t>`; `project:<p>` or `tenant:<t>:project:<p>`; `user:<u>` or `tenant:<t>:user:<u>`. */
export function buildPlan(k: VirtualKeyConfig): KeyPlan {
  const tenant = trimmed(k.tenant_id);
  const project = trimmed(k.project_id);
  const user = trimmed(k.user_id);
  const scopes: Array<[string, LimitsConfig | null | undefined, BudgetConfig | null | undefined]> = [[k.id, k.limits, k.budget]];
  if (tenant !== undefined) scopes.push([`tenant:${tenant}`, k.tenant_limits, k.tenant_budget]);
  const pre = tenant !== undefined ? `tenant:${tenant}:` : '';
  if (project !== undefined) scopes.push([`${pre}project:${project}`, k.project_limits, k.project_budget]);
  if (user !== undefined) scopes.push([`${pre}user:${user}`, k.user_limits, k.user_budget]);
  const rate: RateRule[] = [];
  const budgets: BudgetRule[] = [];
  let usd = false;
  for (const [scope, limits, budget] of scopes) {
    if (limits && (limits.rpm !== undefined || limits.tpm !== undefined)) rate.push(Object.freeze({ scope, rpm: limits.rpm, tpm: limits.tpm }));
    if (budget && (budget.total_tokens !== undefined || budget.total_usd_micros !== undefined)) {
      const periodMs = budget.duration === undefined ? undefined : parseDuration(budget.duration);
      budgets.push(Object.freeze({ scope, totalTokens: budget.total_tokens, totalMicros: budget.total_usd_micros, periodMs }));
      if (budget.total_usd_micros !== undefined) usd = true;
    }
  }
  const maxParallel = k.limits?.max_parallel;
  if (rate.length === 0 && budgets.length === 0 && maxParallel === undefined) {
    return { ...EMPTY_PLAN, tenantId: tenant, projectId: project, userId: user };
  }
  return { rate: Object.freeze(rate), budgets: Object.freeze(budgets), usd, maxParallel, tenantId: tenant, projectId: project, userId: user };
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * A `budget.duration` (§7.6): a whole number and a unit `s`, `m`, `h`, `d` or `w` (`"30s"`, `"1h"`,
 * `"7d"`). Undefined when invalid (startup rejects it, see {@link budgetConfigProblems}).
 */
export function parseDuration(v: string): number | undefined {
  const m = /^\s*(\d{1,9})\s*([smhdw])\s*$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 0 ? n * (UNIT_MS[m[2] as string] as number) : undefined;
}

/** Invalid `budget.duration` values in a config (fatal at startup). */
export function budgetConfigProblems(cfg: ConfigFile): string[] {
  const out: string[] = [];
  cfg.virtual_keys.forEach((k, i) => {
    for (const f of ['budget', 'tenant_budget', 'project_budget', 'user_budget'] as const) {
      const d = k[f]?.duration;
      if (d !== undefined && parseDuration(d) === undefined) {
        out.push(`virtual_keys[${i}].${f}.duration: invalid duration ${JSON.stringify(d)} (expected e.g. "1h", "1d", "7d", "30d")`);
      }
    }
  });
  return out;
}

/** Token-priced endpoints (§4.9): POST to these is estimated and settled by token prices. */
export function isTokenPriced(method: string, path: string): boolean {
  if (method !== 'POST') return false;
  return path === '/v1/chat/completions' || path === '/v1/completions' || path === '/v1/embeddings'
    || path === '/v1/moderations' || path === '/v1/rerank' || path === '/v1/responses' || path.startsWith('/v1/responses/')
    // Client surfaces translated to chat completions (Anthropic Messages, Gemini generateContent).
    || path === '/v1/messages' || path.startsWith('/v1beta/');
}

/** Free endpoints under a USD budget (§4.9): POST `/v1/files` and every non-POST. */
export function isCostFree(method: string, path: string): boolean {
  return method !== 'POST' || path === '/v1/files' || path.startsWith('/v1/files/');
}

/** Exported for tests. */
export type { ModelPrice };
