import type { RegexNode } from './regex/parse.js';

/**
 * A required-literal prefilter in front of the combined automaton (the RE2 / Hyperscan idea): for
 * every phrase and regex, a set of literal strings one of which any match must contain; for the PII
 * patterns, hand-written necessary conditions. When the (lower-cased) prompt holds none of them, no
 * rule can match and the automaton pass is skipped. When something does turn up, the automaton runs
 * as before, so a prefilter can only ever say "certainly nothing" or "look closer" — never decide a
 * refusal. Every part is one linear pass (or a native `indexOf`), so the linear-time guarantee holds.
 *
 * Why it pays: the automaton costs one dependent table load per character; the skip scan below reads
 * about one character in four of ordinary prose, and `indexOf` runs natively. On the bench's 2 KB
 * prompt the whole check takes about half the time of the automaton-only path.
 */

/**
 * Policies with more required literals than this get no prefilter: the skip table would hardly skip,
 * and the automaton pass (whose cost does not grow with the number of patterns) is the better deal.
 */
export const MAX_PREFILTER_LITERALS = 256;

/** Largest set of alternatives a literal set may hold before it is dropped as useless. */
const MAX_SET = 32;
/** Longest literal kept while building exact sets (longer runs still count through `req`). */
const MAX_LITERAL = 64;

/** What a sub-pattern tells us: the exact strings it matches (if few), and a required literal set. */
interface Info {
  /** Every string the node matches, when that is a small finite set; else undefined. */
  readonly exact: readonly string[] | undefined;
  /** Non-empty literals, one of which every match contains; undefined when nothing is known. */
  readonly req: readonly string[] | undefined;
}

const EMPTY_INFO: Info = { exact: [''], req: undefined };
const NOTHING: Info = { exact: undefined, req: undefined };

/** A usable required set: non-empty, small, no empty string. */
function usable(set: readonly string[] | undefined): readonly string[] | undefined {
  return set !== undefined && set.length > 0 && set.length <= MAX_SET && !set.includes('') ? set : undefined;
}

/** Higher is a better (more selective) set: longer shortest literal, then fewer alternatives. */
function score(set: readonly string[]): number {
  let min = Infinity;
  for (const s of set) min = Math.min(min, s.length);
  return min * 64 - set.length;
}

function better(a: readonly string[] | undefined, b: readonly string[] | undefined): readonly string[] | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return score(b) > score(a) ? b : a;
}

/** The most selective required set an Info offers. */
function best(i: Info): readonly string[] | undefined {
  return better(usable(i.req), usable(i.exact));
}

function product(a: readonly string[], b: readonly string[]): readonly string[] | undefined {
  if (a.length * b.length > MAX_SET) return undefined;
  const out = new Set<string>();
  for (const x of a) for (const y of b) {
    if (x.length + y.length > MAX_LITERAL) return undefined;
    out.add(x + y);
  }
  return [...out];
}

function info(node: RegexNode): Info {
  switch (node.k) {
    case 'empty':
    case 'assert':
      // Zero-width: matches only the empty string (assertions only narrow where).
      return EMPTY_INFO;
    case 'chars':
      // `=c` keys are exact-equality literals (see `literalNode`); any other set is not a literal.
      return node.key !== undefined && node.key.startsWith('=')
        ? { exact: [String.fromCodePoint(Number(node.key.slice(1)))], req: undefined }
        : NOTHING;
    case 'alt': {
      const parts = node.items.map(info);
      let exact: string[] | undefined = [];
      let req: string[] | undefined = [];
      for (const p of parts) {
        if (exact !== undefined) exact = p.exact === undefined ? undefined : [...exact, ...p.exact];
        const r = best(p);
        req = req === undefined || r === undefined ? undefined : [...req, ...r];
      }
      const uniq = (s: string[] | undefined): string[] | undefined => (s === undefined ? undefined : [...new Set(s)]);
      exact = uniq(exact);
      req = uniq(req);
      return { exact: exact !== undefined && exact.length <= MAX_SET ? exact : undefined, req: usable(req) };
    }
    case 'cat': {
      let run: readonly string[] = [''];
      let allExact = true;
      let req: readonly string[] | undefined;
      for (const item of node.items) {
        const p = info(item);
        if (p.exact !== undefined) {
          const next = product(run, p.exact);
          if (next !== undefined) {
            run = next;
            continue;
          }
          // Too many combinations: the run so far is a required set, and a new run starts here.
          req = better(req, usable(run));
          run = p.exact;
          allExact = false;
          continue;
        }
        allExact = false;
        req = better(better(req, usable(run)), best(p));
        run = [''];
      }
      req = better(req, usable(run));
      return { exact: allExact ? run : undefined, req };
    }
    case 'rep': {
      const p = info(node.node);
      if (node.min === 0) {
        // Optional: only a `?` of an exact set stays exact; nothing is required.
        return { exact: node.max === 1 && p.exact !== undefined && p.exact.length < MAX_SET ? [...new Set(['', ...p.exact])] : undefined, req: undefined };
      }
      // At least one iteration: whatever one iteration requires, the whole does.
      return { exact: node.min === 1 && node.max === 1 ? p.exact : undefined, req: best(p) };
    }
  }
}

/**
 * Literals one of which every match of `node` contains (in the lower-cased text), or undefined when
 * the pattern has no such set (e.g. `\d{3,}`): then no prefilter can be used for the policy.
 */
export function requiredLiterals(node: RegexNode): readonly string[] | undefined {
  return best(info(node));
}

/** Drop literals that contain another literal of the set: finding the shorter one is enough. */
function minimise(lits: readonly string[]): string[] {
  const uniq = [...new Set(lits)].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const l of uniq) if (!kept.some((k) => l.includes(k))) kept.push(l);
  return kept;
}

/** Literals shorter than this are found through their rarest character; longer ones share one skip scan. */
const MIN_SKIP_LITERAL = 5;
/** Window of the skip scan: the shortest long literal, at most this. */
const MAX_WINDOW = 16;

/** Rough frequency rank of a character in English prose (higher is more common). */
function commonness(c: number): number {
  if (c === 32) return 40;
  const i = 'zqxjkvbpygfwmucldrhsnioate'.indexOf(String.fromCharCode(c));
  if (i >= 0) return 10 + i;
  if (c === 44 || c === 46 || c === 10) return 20; // , . newline
  return c < 128 ? 8 : 5;
}

/** Index of a two-unit block in the skip table: 7 bits of each unit (aliasing only shortens skips). */
const block = (a: number, b: number): number => ((a & 127) << 7) | (b & 127);

/** A short literal and the position of its rarest character, which `indexOf` (memchr) looks for. */
interface Anchored {
  readonly lit: string;
  readonly at: number;
  readonly ch: string;
}

/**
 * A compiled prefilter; {@link LiteralPrefilter.mayMatch} is the only thing a request calls.
 *
 * Long literals are found with a Wu-Manber scan: a window of `m` units (the shortest long literal)
 * slides over the text, and the last two units of the window give how far it may safely jump (the
 * distance to the nearest place where some literal's first `m` units could end), so prose is read
 * about one unit in three; a zero jump is confirmed with `startsWith`. The table is 16 KiB, so it
 * stays in the L1 cache. Short literals are looked for by their rarest character with native
 * `indexOf` (memchr) and confirmed in place.
 *
 * Confirmation work is budgeted (a few units per text unit): text crafted to make every window a
 * near-match answers "look closer" early instead of doing more than linear work.
 */
export class LiteralPrefilter {
  readonly #short: readonly Anchored[];
  readonly #long: readonly string[];
  /** Window length of the skip scan (0 when there are no long literals). */
  readonly #m: number;
  readonly #shift: Uint8Array;
  /** Block index → long literals whose first `m` units end with that block. */
  readonly #ends: readonly (readonly string[] | undefined)[];
  readonly #pii: boolean;

  /**
   * @param literals required literals (already lower-cased): the text can match only if it holds one
   * @param pii also check the PII necessary conditions ({@link piiMayMatch})
   */
  constructor(literals: readonly string[], pii: boolean) {
    const lits = minimise(literals);
    this.#short = lits.filter((l) => l.length < MIN_SKIP_LITERAL).map((lit) => {
      let at = 0;
      for (let k = 1; k < lit.length; k++) if (commonness(lit.charCodeAt(k)) < commonness(lit.charCodeAt(at))) at = k;
      // Keep surrogate pairs whole: anchor on the high half.
      if (at > 0 && lit.charCodeAt(at) >= 0xdc00 && lit.charCodeAt(at) <= 0xdfff) at--;
      return { lit, at, ch: lit.slice(at, at + 1) };
    });
    const long = lits.filter((l) => l.length >= MIN_SKIP_LITERAL);
    this.#long = long;
    const m = long.length === 0 ? 0 : Math.min(MAX_WINDOW, ...long.map((l) => l.length));
    this.#m = m;
    this.#shift = new Uint8Array(m === 0 ? 0 : 1 << 14).fill(Math.max(m - 1, 0));
    const ends: (string[] | undefined)[] = [];
    for (const lit of long) {
      for (let j = 1; j < m; j++) {
        const b = block(lit.charCodeAt(j - 1), lit.charCodeAt(j));
        this.#shift[b] = Math.min(this.#shift[b] as number, m - 1 - j);
      }
      const b = block(lit.charCodeAt(m - 2), lit.charCodeAt(m - 1));
      (ends[b] ??= []).push(lit);
    }
    this.#ends = ends;
    this.#pii = pii;
  }

  /** The literals searched for (for tests and diagnostics). */
  get literals(): readonly string[] {
    return [...this.#short.map((s) => s.lit), ...this.#long];
  }

  /** False only when no phrase, regex or PII pattern can match anywhere in the lower-cased `text`. */
  mayMatch(text: string): boolean {
    let budget = 4 * text.length + 256;
    for (const { lit, at, ch } of this.#short) {
      for (let q = text.indexOf(ch); q !== -1; q = text.indexOf(ch, q + 1)) {
        if (text.startsWith(lit, q - at)) return true;
        if ((budget -= lit.length) < 0) return true;
      }
    }
    if (this.#pii && piiMayMatch(text)) return true;
    return this.#m > 0 && this.#scanLong(text, budget);
  }

  #scanLong(text: string, budget: number): boolean {
    const shift = this.#shift;
    const m = this.#m;
    const n = text.length;
    let i = m - 1;
    while (i < n) {
      const b = ((text.charCodeAt(i - 1) & 127) << 7) | (text.charCodeAt(i) & 127);
      const s = shift[b] as number;
      if (s > 0) {
        i += s;
        continue;
      }
      const start = i - m + 1;
      for (const lit of this.#ends[b] ?? []) {
        if (text.startsWith(lit, start)) return true;
        if ((budget -= lit.length) < 0) return true;
      }
      i++;
    }
    return false;
  }
}

const isAsciiDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Necessary conditions for the `block_pii` patterns in the lower-cased text: an `@` (email), a
 * digit-dash-digit (SSN; any non-ASCII unit counts as a possible Unicode digit), or a run of 13 ASCII
 * digits with at most one space or dash between neighbours (the card prefilter pattern, and so any
 * card number). False means none of the three can match.
 */
export function piiMayMatch(text: string): boolean {
  if (text.includes('@')) return true;
  const n = text.length;
  for (let p = text.indexOf('-'); p !== -1; p = text.indexOf('-', p + 1)) {
    if (p === 0 || p + 1 >= n) continue;
    const l = text.charCodeAt(p - 1);
    const r = text.charCodeAt(p + 1);
    if ((isAsciiDigit(l) || l >= 128) && (isAsciiDigit(r) || r >= 128)) return true;
  }
  return hasDigitRun(text, 13);
}

const isSep = (c: number): boolean => c === 32 || c === 45;

/**
 * True when `text` holds `need` ASCII digits with at most one space or dash between neighbours (the
 * language of `[0-9](?:[ -]?[0-9]){need-1}`). Such a run spans at least `need` units, all digits or
 * single separators, so sampling every `need`-th unit finds one of its units; each run is expanded
 * once (the sampler then jumps past it), so the whole check is linear.
 */
export function hasDigitRun(text: string, need: number): boolean {
  const n = text.length;
  let floor = 0;
  for (let i = need - 1; i < n; i += need) {
    const c = text.charCodeAt(i);
    let seed: number;
    if (isAsciiDigit(c)) seed = i;
    else if (isSep(c) && i + 1 < n && isAsciiDigit(text.charCodeAt(i + 1)) && i > 0 && isAsciiDigit(text.charCodeAt(i - 1))) seed = i - 1;
    else continue;
    // Expand left from the seed digit: digits, or one separator followed (leftwards) by a digit.
    let digits = 1;
    let j = seed - 1;
    while (j >= floor) {
      const d = text.charCodeAt(j);
      if (isAsciiDigit(d)) {
        digits++;
        j--;
      } else if (isSep(d) && j - 1 >= floor && isAsciiDigit(text.charCodeAt(j - 1))) j--;
      else break;
    }
    let k = seed + 1;
    while (k < n) {
      const d = text.charCodeAt(k);
      if (isAsciiDigit(d)) {
        digits++;
        k++;
      } else if (isSep(d) && k + 1 < n && isAsciiDigit(text.charCodeAt(k + 1))) k++;
      else break;
    }
    if (digits >= need) return true;
    // The next run starts after `k`: sample from `k + need - 1` on (every span of `need` units
    // starting at or after `k` holds one of those samples).
    floor = k;
    i = k - 1;
  }
  return false;
}
