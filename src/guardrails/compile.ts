import type { GuardrailsConfig } from '../config/schema.js';
import { CARD_PREFILTER_PATTERN, EMAIL_PATTERN, SSN_PATTERN } from './pii.js';
import { LiteralPrefilter, MAX_PREFILTER_LITERALS, requiredLiterals } from './prefilter.js';
import { LinearMatcher, RegexTooComplexError } from './regex/automaton.js';
import { literalString, parseRegex, RegexSyntaxError, type RegexNode } from './regex/parse.js';

/**
 * A `guardrails` object compiled once at load (CONTRACT §2.3, §2.8): lower-cased phrases, regexes
 * compiled to linear-time automata, model patterns split into exact and prefix forms. Immutable
 * apart from the matchers' internal transition caches.
 */
export interface CompiledGuardrails {
  /** Where it came from, e.g. `virtual_keys[0].guardrails`. */
  readonly path: string;
  /** False when no rule is on: the stage can skip the request entirely. */
  readonly active: boolean;
  readonly denyModels: readonly ModelPattern[];
  readonly allowModels: readonly ModelPattern[];
  readonly maxInputTokens: number | undefined;
  readonly validateSchema: boolean;
  readonly phrases: readonly { readonly raw: string; readonly lower: string }[];
  readonly regexes: readonly { readonly raw: string; readonly matcher: LinearMatcher }[];
  readonly blockPii: boolean;
  /**
   * One automaton over every phrase, regex and PII pattern (plus the card prefilter): a single pass
   * answers the common case, "nothing here".
   */
  readonly combined: LinearMatcher | undefined;
  /**
   * Required literals of every phrase and regex plus the PII necessary conditions: when the prompt
   * holds none, {@link combined} cannot match and is not run. Undefined when some regex has no
   * required literal (e.g. `\d{9}`) or there are very many literals: then the automaton always runs.
   */
  readonly prefilter: LiteralPrefilter | undefined;
  /** True when any text rule is on (the prompt text must be extracted). */
  readonly hasTextRules: boolean;
}

/**
 * `x*` is a prefix match on `x`; anything else is exact (CONTRACT §2.3). Deny patterns are stored
 * lower-cased and compared case-insensitively (so `GPT-4` cannot slip past `gpt-4*`); allow patterns
 * compare exactly, so the safe side wins both ways.
 */
export interface ModelPattern {
  readonly raw: string;
  readonly prefix: string | undefined;
  readonly exact: string | undefined;
}

/** Thrown by {@link compileGuardrails}; `errors` holds every problem, each naming the config path. */
export class GuardrailsConfigError extends Error {
  override readonly name = 'GuardrailsConfigError';
  readonly errors: readonly string[];
  constructor(errors: readonly string[]) {
    super(errors.join('\n'));
    this.errors = errors;
  }
}

/** An inactive set, for keys and rules without `guardrails`. */
export const NO_GUARDRAILS: CompiledGuardrails = Object.freeze({
  path: '',
  active: false,
  denyModels: [],
  allowModels: [],
  maxInputTokens: undefined,
  validateSchema: false,
  phrases: [],
  regexes: [],
  blockPii: false,
  combined: undefined,
  prefilter: undefined,
  hasTextRules: false,
});

/**
 * Matchers shared by identical patterns and pattern sets (many keys usually carry the same policy):
 * built once per process, and their DFA caches warm up together. Bounded for config reloads.
 */
const matcherCache = new Map<string, LinearMatcher>();
const MAX_CACHED_MATCHERS = 1024;

function cachedMatcher(key: string, build: () => LinearMatcher): LinearMatcher {
  let m = matcherCache.get(key);
  if (m === undefined) {
    m = build();
    if (matcherCache.size >= MAX_CACHED_MATCHERS) matcherCache.clear();
    matcherCache.set(key, m);
  }
  return m;
}

let piiNodes: readonly RegexNode[] | undefined;
let piiMatchers: { email: LinearMatcher; ssn: LinearMatcher } | undefined;

/** The contract's email and SSN patterns and the card prefilter, parsed once per process. */
function piiPatterns(): readonly RegexNode[] {
  piiNodes ??= [parseRegex(EMAIL_PATTERN), parseRegex(SSN_PATTERN), parseRegex(CARD_PREFILTER_PATTERN)];
  return piiNodes;
}

/** Shared email / SSN matchers (used after the combined pass flags something). */
export function piiRegexMatchers(): { email: LinearMatcher; ssn: LinearMatcher } {
  if (piiMatchers === undefined) {
    const [email, ssn] = piiPatterns() as [RegexNode, RegexNode];
    piiMatchers = { email: new LinearMatcher([email]), ssn: new LinearMatcher([ssn]) };
  }
  return piiMatchers;
}

function modelPattern(raw: string, fold: boolean): ModelPattern {
  const p = fold ? raw.trim().toLowerCase() : raw;
  return p.endsWith('*')
    ? { raw, prefix: p.slice(0, -1), exact: undefined }
    : { raw, prefix: undefined, exact: p };
}

interface Compiled {
  readonly errors: string[];
  readonly regexes: { raw: string; node: RegexNode; matcher: LinearMatcher }[];
}

function compileParts(cfg: GuardrailsConfig, path: string): Compiled {
  const errors: string[] = [];
  const bad = (msg: string): void => {
    errors.push(`${path} invalid: ${msg}`);
  };
  cfg.allow_models.forEach((m, i) => {
    if (m.trim() === '') bad(`allow_models[${i}] cannot be empty`);
  });
  cfg.deny_models.forEach((m, i) => {
    if (m.trim() === '') bad(`deny_models[${i}] cannot be empty`);
  });
  cfg.banned_phrases.forEach((p, i) => {
    if (p === '') bad(`banned_phrases[${i}] cannot be empty (it would match every request)`);
  });
  const regexes: Compiled['regexes'] = [];
  cfg.banned_regexes.forEach((raw, i) => {
    try {
      const node = parseRegex(raw);
      const matcher = cachedMatcher(JSON.stringify(['r', raw]), () => new LinearMatcher([node]));
      if (matcher.matchesEmpty()) {
        bad(`banned_regexes[${i}]: \`${raw}\` can match an empty string, so it would reject every request; make it require at least one character`);
        return;
      }
      regexes.push({ raw, node, matcher });
    } catch (err) {
      if (err instanceof RegexSyntaxError || err instanceof RegexTooComplexError) bad(`banned_regexes[${i}]: ${err.message}`);
      else throw err;
    }
  });
  return { errors, regexes };
}

/**
 * Startup validation (CONTRACT §2.8): every problem in one `guardrails` object, each as
 * `<path> invalid: <field>[i]: <why>`. An empty list means {@link compileGuardrails} will succeed.
 */
export function validateGuardrailsConfig(cfg: GuardrailsConfig | null | undefined, path: string): string[] {
  return cfg ? compileParts(cfg, path).errors : [];
}

/** Compile a `guardrails` object; throws {@link GuardrailsConfigError} listing every problem. */
export function compileGuardrails(cfg: GuardrailsConfig | null | undefined, path: string): CompiledGuardrails {
  if (!cfg) return { ...NO_GUARDRAILS, path };
  const { errors, regexes } = compileParts(cfg, path);
  if (errors.length > 0) throw new GuardrailsConfigError(errors);
  const phrases = cfg.banned_phrases.map((raw) => ({ raw, lower: raw.toLowerCase() }));
  const blockPii = cfg.block_pii;
  const hasTextRules = phrases.length > 0 || regexes.length > 0 || blockPii;
  let combined: LinearMatcher | undefined;
  let prefilter: LiteralPrefilter | undefined;
  if (hasTextRules) {
    const textNodes = [...phrases.map((p) => literalString(p.raw)), ...regexes.map((r) => r.node)];
    const nodes = [...textNodes, ...(blockPii ? piiPatterns() : [])];
    const key = JSON.stringify(['c', cfg.banned_phrases, regexes.map((r) => r.raw), blockPii]);
    combined = cachedMatcher(key, () => new LinearMatcher(nodes));
    // The literals come from the same nodes the automaton runs, so "none present" means "no match".
    const literals = textNodes.map(requiredLiterals);
    const flat = literals.every((l) => l !== undefined) ? (literals.flat() as string[]) : undefined;
    if (flat !== undefined && flat.length <= MAX_PREFILTER_LITERALS) prefilter = new LiteralPrefilter(flat, blockPii);
  }
  const maxInputTokens = cfg.max_input_tokens ?? undefined;
  const g: CompiledGuardrails = {
    path,
    active: hasTextRules || cfg.allow_models.length > 0 || cfg.deny_models.length > 0 || maxInputTokens !== undefined || cfg.validate_schema,
    denyModels: cfg.deny_models.map((m) => modelPattern(m, true)),
    allowModels: cfg.allow_models.map((m) => modelPattern(m, false)),
    maxInputTokens,
    validateSchema: cfg.validate_schema,
    phrases,
    regexes: regexes.map(({ raw, matcher }) => ({ raw, matcher })),
    blockPii,
    combined,
    prefilter,
    hasTextRules,
  };
  return Object.freeze(g);
}
