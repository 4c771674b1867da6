import { readFileSync } from 'node:fs';

/**
 * Token prices from LiteLLM's `model_prices_and_context_window.json` (CONTRACT §4.9, §7.8).
 *
 * Exactness: every price is kept as an integer number of **pico-USD per token** (1e-12 USD,
 * `round(usd × 1e12)`), not as micros per token. LiteLLM prices cheap models below one micro-USD per
 * token (gpt-4.1-nano input: 1e-7 USD = 0.1 micro), so micros per token would round them to 0 or 1 and
 * be off by up to 100 %. Every price in the real table is a whole number of pico-USD, so this is exact.
 * A request's cost is summed exactly in pico-USD and rounded to whole USD micros once, at the end:
 * half up for settlement (`settleMicros`), up for reservations (`estimateMicros`, never under-reserves).
 */

/** One price set: pico-USD per token; undefined = not priced in this entry. */
export interface PriceSet {
  input: number;
  output: number;
  cacheRead: number | undefined;
  cacheCreation: number | undefined;
}

/** Prices for inputs above `aboveTokens` input tokens (`*_above_<N>[k]_tokens`). */
export interface PriceTier {
  aboveTokens: number;
  input: number | undefined;
  output: number | undefined;
  cacheRead: number | undefined;
  cacheCreation: number | undefined;
}

/** A priced model. */
export interface ModelPrice {
  base: PriceSet;
  /** `service_tier: priority` / `flex` variants (input, output, cache read); missing fields fall back to base. */
  priority: Partial<PriceSet> | undefined;
  flex: Partial<PriceSet> | undefined;
  /** Ascending by `aboveTokens`. */
  tiers: PriceTier[];
}

/** Normalised token usage of one response. */
export interface TokenUsage {
  input: number;
  output: number;
  /** Input tokens read from the provider's prompt cache (part of `input`). */
  cachedInput: number;
  /** Input tokens written to the prompt cache (`cache_creation_input_tokens`). */
  cacheCreation: number;
  /** `total_tokens`, else input + output. */
  total: number;
}

export type ServiceTier = 'priority' | 'flex' | undefined;

/** A problem that makes the pricing file unusable (fatal at startup). */
export class PricingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PricingError';
  }
}

const PICO = 1e12;
const PICO_PER_MICRO = 1_000_000n;

/** The loaded table. */
export class PricingTable {
  readonly #models: Map<string, ModelPrice>;

  constructor(models: Map<string, ModelPrice>) {
    this.#models = models;
  }

  get size(): number {
    return this.#models.size;
  }

  /** The price of a model: exact name, else without a `provider/` prefix. */
  get(model: string): ModelPrice | undefined {
    const hit = this.#models.get(model);
    if (hit !== undefined) return hit;
    const slash = model.indexOf('/');
    return slash > 0 ? this.#models.get(model.slice(slash + 1)) : undefined;
  }

  has(model: string): boolean {
    return this.get(model) !== undefined;
  }
}

/** Read and parse a LiteLLM pricing file. Throws {@link PricingError} when unreadable or invalid. */
export function loadPricingFile(path: string): PricingTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PricingError(`cannot read --pricing-litellm ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PricingError(`invalid --pricing-litellm ${path}: ${(err as Error).message}`);
  }
  return parsePricing(doc);
}

/**
 * Parse a LiteLLM pricing document: `model → entry`. Entries that are not objects or have neither an
 * input nor an output token price (`sample_spec`, image or per-second models) are skipped; a negative or
 * non-finite price is an error.
 */
export function parsePricing(doc: unknown): PricingTable {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new PricingError('pricing file must be a JSON object of model entries');
  const models = new Map<string, ModelPrice>();
  for (const [model, entry] of Object.entries(doc as Record<string, unknown>)) {
    // `sample_spec` documents the format (its prices are placeholders), it is not a model.
    if (model === 'sample_spec' || entry === null || typeof entry !== 'object' || Array.isArray(entry)) continue;
    const e = entry as Record<string, unknown>;
    const input = price(model, e, 'input_cost_per_token', 'input_cost_per_1k_tokens');
    const output = price(model, e, 'output_cost_per_token', 'output_cost_per_1k_tokens');
    if (input === undefined && output === undefined) continue;
    const base: PriceSet = {
      input: input ?? 0,
      output: output ?? 0,
      cacheRead: price(model, e, 'cache_read_input_token_cost'),
      cacheCreation: price(model, e, 'cache_creation_input_token_cost'),
    };
    models.set(model, { base, priority: variant(model, e, '_priority'), flex: variant(model, e, '_flex'), tiers: tiers(model, e) });
  }
  return new PricingTable(models);
}

function toPico(model: string, field: string, v: unknown, per: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new PricingError(`pricing: ${model}.${field} must be a non-negative number`);
  return Math.round((v * PICO) / per);
}

function price(model: string, e: Record<string, unknown>, field: string, per1k?: string): number | undefined {
  const v = toPico(model, field, e[field], 1);
  if (v !== undefined || per1k === undefined) return v;
  return toPico(model, per1k, e[per1k], 1000);
}

function variant(model: string, e: Record<string, unknown>, suffix: string): Partial<PriceSet> | undefined {
  const out: Partial<PriceSet> = {};
  const i = price(model, e, `input_cost_per_token${suffix}`);
  const o = price(model, e, `output_cost_per_token${suffix}`);
  const c = price(model, e, `cache_read_input_token_cost${suffix}`);
  if (i !== undefined) out.input = i;
  if (o !== undefined) out.output = o;
  if (c !== undefined) out.cacheRead = c;
  return i === undefined && o === undefined && c === undefined ? undefined : out;
}

const TIER_FIELDS = [
  ['input', /^input_cost_per_token_above_(\d+)(k?)_tokens$/],
  ['output', /^output_cost_per_token_above_(\d+)(k?)_tokens$/],
  ['cacheRead', /^cache_read_input_token_cost_above_(\d+)(k?)_tokens$/],
  ['cacheCreation', /^cache_creation_input_token_cost_above_(\d+)(k?)_tokens$/],
] as const;

function tiers(model: string, e: Record<string, unknown>): PriceTier[] {
  const byN = new Map<number, PriceTier>();
  for (const field of Object.keys(e)) {
    if (!field.includes('_above_')) continue;
    for (const [name, re] of TIER_FIELDS) {
      const m = re.exec(field);
      if (!m) continue;
      const n = Number(m[1]) * (m[2] === 'k' ? 1000 : 1);
      const t = byN.get(n) ?? { aboveTokens: n, input: undefined, output: undefined, cacheRead: undefined, cacheCreation: undefined };
      t[name] = toPico(model, field, e[field], 1);
      byN.set(n, t);
    }
  }
  return [...byN.values()].sort((a, b) => a.aboveTokens - b.aboveTokens);
}

/**
 * The prices that apply to a request with `inputTokens` input tokens and a service tier. Read-only: when
 * no tier and no service-tier variant applies, this is the model's own base set (no copy per request).
 */
export function effectivePrices(p: ModelPrice, inputTokens: number, tier: ServiceTier): Readonly<PriceSet> {
  const v = tier === 'priority' ? p.priority : tier === 'flex' ? p.flex : undefined;
  const first = p.tiers[0];
  if (v === undefined && (first === undefined || inputTokens <= first.aboveTokens)) return p.base;
  const out: PriceSet = { ...p.base };
  for (const t of p.tiers) {
    if (inputTokens <= t.aboveTokens) break;
    if (t.input !== undefined) out.input = t.input;
    if (t.output !== undefined) out.output = t.output;
    if (t.cacheRead !== undefined) out.cacheRead = t.cacheRead;
    if (t.cacheCreation !== undefined) out.cacheCreation = t.cacheCreation;
  }
  if (v) {
    if (v.input !== undefined) out.input = v.input;
    if (v.output !== undefined) out.output = v.output;
    if (v.cacheRead !== undefined) out.cacheRead = v.cacheRead;
  }
  return out;
}

/** `service_tier` of a request body: `priority` / `flex` (case-insensitive), else undefined. */
export function serviceTier(json: Record<string, unknown> | undefined): ServiceTier {
  const v = json?.['service_tier'];
  if (typeof v !== 'string') return undefined;
  const t = v.toLowerCase();
  return t === 'priority' || t === 'flex' ? t : undefined;
}

/**
 * Exact cost in pico-USD of a response (§4.9): `(input − cached)×in + cached×cache_read + output×out +
 * min(cache_creation, input)×cache_creation`. Without a cache-read price cached tokens cost the input
 * price; without a cache-creation price cache writes cost nothing extra (LiteLLM does the same).
 */
export function costPico(p: ModelPrice, u: TokenUsage, tier: ServiceTier): bigint {
  const r = effectivePrices(p, u.input, tier);
  const cached = Math.min(u.cachedInput, u.input);
  const creation = Math.min(u.cacheCreation, u.input);
  const fast = safeSum(
    (u.input - cached) * r.input, cached * (r.cacheRead ?? r.input), u.output * r.output, creation * (r.cacheCreation ?? 0),
  );
  if (fast !== undefined) return BigInt(fast);
  return BigInt(u.input - cached) * BigInt(r.input)
    + BigInt(cached) * BigInt(r.cacheRead ?? r.input)
    + BigInt(u.output) * BigInt(r.output)
    + BigInt(creation) * BigInt(r.cacheCreation ?? 0);
}

/** Pico-USD of the §4.9 estimate: `input_est × in + max_output × out`. */
export function estimatePico(p: ModelPrice, inputTokens: number, maxOutput: number, tier: ServiceTier): bigint {
  const r = effectivePrices(p, inputTokens, tier);
  const fast = safeSum(inputTokens * r.input, maxOutput * r.output, 0, 0);
  if (fast !== undefined) return BigInt(fast);
  return BigInt(inputTokens) * BigInt(r.input) + BigInt(maxOutput) * BigInt(r.output);
}

/**
 * The sum of four token × price products when every product and the sum are exact in a double (safe
 * integers: a product whose true value passed 2^53 cannot round back below it), else undefined and the
 * caller uses BigInt. Almost every request is far below 2^53 pico-USD (~9,000 USD).
 */
function safeSum(a: number, b: number, c: number, d: number): number | undefined {
  const sum = a + b + c + d;
  return Number.isSafeInteger(a) && Number.isSafeInteger(b) && Number.isSafeInteger(c) && Number.isSafeInteger(d) &&
    Number.isSafeInteger(sum) && a >= 0 && b >= 0 && c >= 0 && d >= 0 ? sum : undefined;
}

/** Pico-USD → whole micros, half up (settlement). */
export function settleMicros(pico: bigint): number {
  return Number((pico + PICO_PER_MICRO / 2n) / PICO_PER_MICRO);
}

/** Pico-USD → whole micros, rounded up (reservations never under-reserve). */
export function estimateMicros(pico: bigint): number {
  return Number((pico + PICO_PER_MICRO - 1n) / PICO_PER_MICRO);
}

const MAX_SAFE_PICO = BigInt(Number.MAX_SAFE_INTEGER);

/** Pico-USD as a decimal USD string without trailing zeros (`x-ditto-response-cost-usd`), e.g. `0.0000375`. */
export function formatUsd(pico: bigint): string {
  if (pico >= 0n && pico <= MAX_SAFE_PICO) {
    // The same digits with doubles: % and the division of an exact multiple are exact for safe integers.
    const n = Number(pico);
    let rem = n % 1e12;
    const whole = String((n - rem) / 1e12);
    if (rem === 0) return whole;
    // Trailing zeros off by division (exact: each step divides a multiple of 10), no regex per call.
    let digits = 12;
    while (rem % 10 === 0) {
      rem /= 10;
      digits--;
    }
    return `${whole}.${String(rem).padStart(digits, '0')}`;
  }
  const whole = pico / 1_000_000_000_000n;
  const frac = (pico % 1_000_000_000_000n).toString().padStart(12, '0').replace(/0+$/, '');
  return frac === '' ? whole.toString() : `${whole}.${frac}`;
}
