import { WORD, type Assertion, type CharPred, type RegexNode } from './parse.js';

/**
 * A linear-time "does any of these patterns match anywhere in the text" matcher: a Thompson NFA
 * compiled once, run as a lazily built DFA (the RE2 / Rust `regex` approach). Each text character
 * costs one table lookup once its transition is cached, so a 1 MiB prompt is one pass however the
 * patterns are written; there is no backtracking to exploit.
 *
 * Why not the JavaScript engine with a static "no nested quantifiers" check: V8's backtracking is
 * quadratic on ordinary-looking patterns when a search fails (measured on Node 20: `/\d+x/`,
 * `/a.*b/` and the contract's own email regex each take 13-20 s on 128 KiB of crafted text), so no
 * static check short of refusing every unbounded repetition makes it safe. The `re2` package needs
 * Node ≥22 and a native build (CONTRACT §7.10 allows none beyond better-sqlite3), and V8's
 * experimental linear engine lacks the `i` flag and sits behind a V8 flag.
 *
 * Look-around assertions (`\b`, `^`, `$`) need one character of context on each side: a DFA state
 * remembers the kind of the previous character, and a transition on character `c` first resolves
 * the pending assertions knowing `c`, then steps. A match is therefore seen one character late (or
 * at the end of the text), which does not matter for a yes/no answer.
 */

const enum Op {
  Char = 0,
  Split = 1,
  Assert = 2,
  Match = 3,
}

/** Kinds of the character before (START at the beginning) or after (END at the end) a position. */
const START = 0;
const END = 0;
const KWORD = 1;
const KNEWLINE = 2;
const KOTHER = 3;

const MATCH = -2;
const UNKNOWN = -1;

/** NFA nodes per pattern: bounds the per-character work of a cache miss. */
export const MAX_NFA_NODES = 4000;
/** DFA states built eagerly when a matcher is created; the rest are built on demand. */
export const WARM_STATES = 256;
/**
 * DFA states kept per matcher (a few MB at most); past this the cache is cleared and rebuilt from
 * the current state, as RE2 does. Ordinary prompts need far fewer: 1 MiB of prose against
 * `(ignore|disregard).{0,50}(instructions|rules)` builds about 5,000.
 */
const MAX_RUNTIME_STATES = 8192;
/** Total NFA nodes in one matcher (a state key stores one UTF-16 unit per node id). */
const MAX_TOTAL_NODES = 0xffff;

/** {@link LinearMatcher.scan} results. */
export const NO_MATCH = 0;
export const MATCHED = 1;
/** The scan ran out of its work budget (cache misses) before reaching an answer. */
export const OVER_BUDGET = 2;
export type ScanResult = typeof NO_MATCH | typeof MATCHED | typeof OVER_BUDGET;

/**
 * A shared allowance of NFA node visits for one request's checks. Cached DFA steps are free; a cache
 * miss (or a step once the cache thrashes) costs the nodes its closure visits. Only patterns whose
 * automaton explodes on crafted text (e.g. `x.{0,20}y` against a random mix of `x` and `a`) need
 * many, and the budget turns that from a stalled event loop into a refusal.
 */
export interface ScanBudget {
  steps: number;
}

/** Cache resets within one scan after which it stops building DFA states and simulates the NFA. */
const THRASH_RESETS = 2;
/** Distinct non-ASCII characters whose class is remembered. */
const MAX_CACHED_CHARS = 65536;
/** Non-ASCII samples classified at build time so common text rarely extends the table at run time. */
const SAMPLE_CHARS = [0xa0, 0xe9, 0xfc, 0xdf, 0x3b1, 0x431, 0x5d0, 0x627, 0x4e2d, 0x3042, 0xac00, 0x2028, 0x200b, 0x1f600, 0xff10, 0x660];

/**
 * Row width of the DFA table for `classes` character classes: room to grow, rounded up to a power of
 * two so the scan loop finds a row with a shift instead of a multiply (it is on the per-character
 * dependency chain).
 */
function strideFor(classes: number): number {
  return 2 ** Math.ceil(Math.log2(classes + 8));
}

/** Thrown when patterns exceed the automaton limits. */
export class RegexTooComplexError extends Error {
  override readonly name = 'RegexTooComplexError';
}

class Nfa {
  readonly op: number[] = [];
  /** Char: set index; Assert: assertion index; Match: pattern index. */
  readonly arg: number[] = [];
  readonly out: number[] = [];
  readonly out2: number[] = [];
  /**
   * Dominance among the copies of a bounded repetition `x{m,n}`: nodes at the same offset in two
   * optional copies share a key, and the copy with the lower rank (fewer iterations done) can do
   * everything the other can, so for a yes/no answer the other thread is redundant. Pruning it keeps
   * windowed patterns such as `ignore.{0,50}instructions` from building a DFA state per subset of
   * recent trigger positions.
   */
  readonly domKey: number[] = [];
  readonly domRank: number[] = [];
  domKeys = 0;
  readonly sets: CharPred[] = [];
  readonly #setKeys = new Map<string, number>();
  readonly #setIds = new Map<CharPred, number>();
  hasAssertions = false;
  #limit = 0;

  emit(op: Op, arg: number, out: number, out2 = -1): number {
    if (this.op.length >= this.#limit || this.op.length >= MAX_TOTAL_NODES) throw new RegexTooComplexError(`pattern too large for the linear-time matcher (more than ${MAX_NFA_NODES} automaton nodes); use smaller counted repetitions`);
    this.op.push(op);
    this.arg.push(arg);
    this.out.push(out);
    this.out2.push(out2);
    this.domKey.push(-1);
    this.domRank.push(0);
    return this.op.length - 1;
  }

  setIndex(pred: CharPred, key: string | undefined): number {
    const known = key !== undefined ? this.#setKeys.get(key) : this.#setIds.get(pred);
    if (known !== undefined) return known;
    const id = this.sets.length;
    this.sets.push(pred);
    if (key !== undefined) this.#setKeys.set(key, id);
    else this.#setIds.set(pred, id);
    return id;
  }

  /** Compile one pattern; returns its start node. */
  addPattern(node: RegexNode, index: number): number {
    this.#limit = this.op.length + MAX_NFA_NODES;
    const match = this.emit(Op.Match, index, -1);
    return this.#compile(node, match);
  }

  #compile(node: RegexNode, next: number): number {
    switch (node.k) {
      case 'empty': return next;
      case 'chars': return this.emit(Op.Char, this.setIndex(node.pred, node.key), next);
      case 'assert':
        this.hasAssertions = true;
        return this.emit(Op.Assert, ASSERTIONS.indexOf(node.a), next);
      case 'cat': {
        let cur = next;
        for (let i = node.items.length - 1; i >= 0; i--) cur = this.#compile(node.items[i] as RegexNode, cur);
        return cur;
      }
      case 'alt': {
        let cur = this.#compile(node.items[node.items.length - 1] as RegexNode, next);
        for (let i = node.items.length - 2; i >= 0; i--) cur = this.emit(Op.Split, 0, this.#compile(node.items[i] as RegexNode, next), cur);
        return cur;
      }
      case 'rep': {
        let cur: number;
        if (node.max === Infinity) {
          const loop = this.emit(Op.Split, 0, -1, next);
          this.out[loop] = this.#compile(node.node, loop);
          cur = loop;
        } else {
          cur = next;
          const optional = node.max - node.min;
          let base = -1;
          let size = -1;
          // Copies are compiled last-first; copy k in compile order is iteration `optional - 1 - k`.
          for (let k = 0; k < optional; k++) {
            const start = this.op.length;
            cur = this.emit(Op.Split, 0, this.#compile(node.node, cur), next);
            const end = this.op.length;
            if (size < 0) {
              size = end - start;
              base = this.domKeys;
              this.domKeys += size;
            }
            if (end - start !== size) continue;
            for (let pc = start; pc < end; pc++) {
              this.domKey[pc] = base + (pc - start);
              this.domRank[pc] = optional - 1 - k;
            }
          }
        }
        for (let i = 0; i < node.min; i++) cur = this.#compile(node.node, cur);
        return cur;
      }
    }
  }
}

const ASSERTIONS: readonly Assertion[] = ['text_start', 'text_end', 'line_start', 'line_end', 'word', 'not_word', 'word_start', 'word_end'];

function assertionHolds(a: number, prev: number, next: number): boolean {
  switch (a) {
    case 0: return prev === START;
    case 1: return next === END;
    case 2: return prev === START || prev === KNEWLINE;
    case 3: return next === END || next === KNEWLINE;
    case 4: return (prev === KWORD) !== (next === KWORD);
    case 5: return (prev === KWORD) === (next === KWORD);
    case 6: return prev !== KWORD && next === KWORD;
    default: return prev === KWORD && next !== KWORD;
  }
}

/**
 * A compiled pattern set. `test(text)` answers whether any pattern matches somewhere in `text`
 * (which the caller has lower-cased). Not safe to share across threads; fine on the event loop.
 */
export class LinearMatcher {
  readonly #nfa: Nfa;
  readonly #starts: number[];
  /** ASCII code → class id. */
  readonly #ascii = new Int32Array(128);
  readonly #charClass = new Map<number, number>();
  readonly #classKey = new Map<string, number>();
  /** Per class: membership bit per NFA set, and the character kind for assertions. */
  readonly #classMembers: Uint8Array[] = [];
  readonly #classKind: number[] = [];
  #stride = 0;
  #table = new Int32Array(0);
  readonly #statePcs: Int32Array[] = [];
  readonly #statePrev: number[] = [];
  readonly #stateEnd: number[] = [];
  readonly #stateIds = new Map<string, number>();
  // scratch for closures
  #mark: Uint32Array;
  #gen = 0;
  readonly #stack: number[] = [];
  readonly #chars: Int32Array;
  /** Per dominance key: the generation it was last seen in, and the lowest rank seen then. */
  readonly #domGen: Uint32Array;
  readonly #domBest: Int32Array;
  /** Nodes visited by closures since the last scan started (charged to its budget). */
  #visits = 0;
  #resets = 0;
  /** True when every DFA state reachable over the classes known at build time was built eagerly. */
  readonly complete: boolean;

  /**
   * @param patterns parsed patterns (banned phrases become literal patterns)
   * @param warmStates how many DFA states to build eagerly (the rest are built on demand)
   */
  constructor(patterns: readonly RegexNode[], warmStates = WARM_STATES) {
    this.#nfa = new Nfa();
    this.#starts = patterns.map((p, i) => this.#nfa.addPattern(p, i));
    this.#mark = new Uint32Array(this.#nfa.op.length);
    this.#chars = new Int32Array(this.#nfa.op.length);
    this.#domGen = new Uint32Array(this.#nfa.domKeys);
    this.#domBest = new Int32Array(this.#nfa.domKeys);
    for (let c = 0; c < 128; c++) this.#ascii[c] = this.#classify(c);
    for (const c of SAMPLE_CHARS) this.#charClass.set(c, this.#classify(c));
    this.#stride = strideFor(this.#classMembers.length);
    this.#resetStates();
    this.complete = this.#explore(warmStates);
  }

  /** Number of DFA states built so far (for tests and diagnostics). */
  get stateCount(): number {
    return this.#statePcs.length;
  }

  /** True when some pattern can match without consuming a character (it would match every text). */
  matchesEmpty(): boolean {
    const seen = new Set<number>();
    const stack = [...this.#starts];
    const nfa = this.#nfa;
    while (stack.length > 0) {
      const pc = stack.pop() as number;
      if (seen.has(pc)) continue;
      seen.add(pc);
      const op = nfa.op[pc];
      if (op === Op.Match) return true;
      if (op === Op.Split) stack.push(nfa.out[pc] as number, nfa.out2[pc] as number);
      else if (op === Op.Assert) stack.push(nfa.out[pc] as number);
    }
    return false;
  }

  /** Does any pattern match somewhere in `text`? Over budget counts as a match (fail closed). */
  test(text: string, budget: ScanBudget = { steps: Infinity }): boolean {
    return this.scan(text, budget) !== NO_MATCH;
  }

  /**
   * Does any pattern match somewhere in `text`? One pass: a table lookup per character, plus a
   * closure computation per cache miss, each charged to `budget`.
   */
  scan(text: string, budget: ScanBudget): ScanResult {
    const ascii = this.#ascii;
    let table = this.#table;
    let stride = this.#stride;
    let shift = 31 - Math.clz32(stride);
    let s = 0;
    const n = text.length;
    this.#visits = 0;
    this.#resets = 0;
    for (let i = 0; i < n; i++) {
      let c = text.charCodeAt(i);
      let cls: number;
      if (c < 128) cls = ascii[c] as number;
      else {
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
          const d = text.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            c = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
            i++;
          }
        }
        cls = this.#classOf(c);
        if (cls >= stride) {
          this.#growStride();
          table = this.#table;
          stride = this.#stride;
          shift = 31 - Math.clz32(stride);
        }
      }
      let next = table[(s << shift) + cls] as number;
      if (next < 0) {
        if (next === MATCH) return MATCHED;
        next = this.#transition(s, cls);
        budget.steps -= this.#visits;
        this.#visits = 0;
        if (next === MATCH) return MATCHED;
        if (budget.steps < 0) return OVER_BUDGET;
        table = this.#table;
        stride = this.#stride;
        shift = 31 - Math.clz32(stride);
        if (next < 0) {
          // The cache was cleared: `-next - 3` is the re-interned current state. A scan that keeps
          // overflowing it would spend its time interning states it never reuses: simulate instead.
          next = -next - 3;
          if (++this.#resets >= THRASH_RESETS) return this.#simulate(text, i + 1, next, budget);
        }
      }
      s = next;
    }
    return this.#matchesAtEnd(s) ? MATCHED : NO_MATCH;
  }

  #classOf(cp: number): number {
    const known = this.#charClass.get(cp);
    if (known !== undefined) return known;
    const cls = this.#classify(cp);
    if (this.#charClass.size < MAX_CACHED_CHARS) this.#charClass.set(cp, cls);
    return cls;
  }

  #classify(cp: number): number {
    const sets = this.#nfa.sets;
    const members = new Uint8Array(sets.length);
    let key = '';
    for (let i = 0; i < sets.length; i++) {
      const m = (sets[i] as CharPred)(cp) ? 1 : 0;
      members[i] = m;
      key += m;
    }
    let kind = KOTHER;
    if (this.#nfa.hasAssertions) {
      kind = cp === 10 ? KNEWLINE : WORD(cp) ? KWORD : KOTHER;
      key += kind;
    }
    const known = this.#classKey.get(key);
    if (known !== undefined) return known;
    const id = this.#classMembers.length;
    this.#classKey.set(key, id);
    this.#classMembers.push(members);
    this.#classKind.push(kind);
    return id;
  }

  #growStride(): void {
    const old = this.#table;
    const oldStride = this.#stride;
    const stride = strideFor(this.#classMembers.length);
    const states = this.#statePcs.length;
    const table = new Int32Array(Math.max(states, 16) * stride).fill(UNKNOWN);
    for (let s = 0; s < states; s++) table.set(old.subarray(s * oldStride, s * oldStride + oldStride), s * stride);
    this.#table = table;
    this.#stride = stride;
  }

  #resetStates(): void {
    this.#statePcs.length = 0;
    this.#statePrev.length = 0;
    this.#stateEnd.length = 0;
    this.#stateIds.clear();
    // After a cache overflow keep the grown table (a thrashing scan would regrow it at once).
    if (this.#table.length >= 16 * this.#stride) this.#table.fill(UNKNOWN);
    else this.#table = new Int32Array(16 * this.#stride).fill(UNKNOWN);
    this.#intern(new Int32Array(0), START);
  }

  #intern(pcs: Int32Array, prev: number): number {
    let key = String.fromCharCode(prev);
    for (let i = 0; i < pcs.length; i += 4096) key += String.fromCharCode(...pcs.subarray(i, i + 4096));
    const known = this.#stateIds.get(key);
    if (known !== undefined) return known;
    const id = this.#statePcs.length;
    this.#stateIds.set(key, id);
    this.#statePcs.push(pcs);
    this.#statePrev.push(prev);
    this.#stateEnd.push(UNKNOWN);
    if ((id + 1) * this.#stride > this.#table.length) {
      const bigger = new Int32Array(this.#table.length * 2).fill(UNKNOWN);
      bigger.set(this.#table);
      this.#table = bigger;
    }
    return id;
  }

  /** A fresh mark for the scratch visited-array. */
  #nextGen(): number {
    if (++this.#gen === 0xffffffff) {
      this.#mark.fill(0);
      this.#gen = 1;
    }
    return this.#gen;
  }

  /**
   * Epsilon closure of `pcs` plus every pattern start, resolving assertions with the previous and
   * next character kinds. Writes the Char nodes reached to `this.#chars` and returns their count,
   * or -1 when a Match node is reached.
   */
  #closure(pcs: Int32Array, count: number, prev: number, nextKind: number): number {
    const nfa = this.#nfa;
    const gen = this.#nextGen();
    const mark = this.#mark;
    const stack = this.#stack;
    const chars = this.#chars;
    stack.length = 0;
    for (let i = count - 1; i >= 0; i--) stack.push(pcs[i] as number);
    for (let i = this.#starts.length - 1; i >= 0; i--) stack.push(this.#starts[i] as number);
    let found = 0;
    let visits = 0;
    while (stack.length > 0) {
      const pc = stack.pop() as number;
      if (mark[pc] === gen) continue;
      mark[pc] = gen;
      visits++;
      switch (nfa.op[pc]) {
        case Op.Match:
          this.#visits += visits;
          return -1;
        case Op.Char: chars[found++] = pc; break;
        case Op.Split: stack.push(nfa.out2[pc] as number, nfa.out[pc] as number); break;
        default: if (assertionHolds(nfa.arg[pc] as number, prev, nextKind)) stack.push(nfa.out[pc] as number);
      }
    }
    this.#visits += visits;
    return found;
  }

  /** Step the Char nodes in `this.#chars[0..found)` over class `cls` into `into`; returns the count. */
  #step(found: number, cls: number, into: Int32Array): number {
    const members = this.#classMembers[cls] as Uint8Array;
    const nfa = this.#nfa;
    const gen = this.#nextGen();
    const mark = this.#mark;
    const chars = this.#chars;
    let n = 0;
    for (let j = 0; j < found; j++) {
      const pc = chars[j] as number;
      if (members[nfa.arg[pc] as number] !== 1) continue;
      const out = nfa.out[pc] as number;
      if (mark[out] === gen) continue;
      mark[out] = gen;
      into[n++] = out;
    }
    return this.#nfa.domKeys > 0 ? this.#prune(into, n, gen) : n;
  }

  /** Drop threads dominated by a lower-ranked copy of the same repetition (see `Nfa.domKey`). */
  #prune(pcs: Int32Array, n: number, gen: number): number {
    const { domKey, domRank } = this.#nfa;
    const seen = this.#domGen;
    const best = this.#domBest;
    let any = false;
    for (let j = 0; j < n; j++) {
      const pc = pcs[j] as number;
      const key = domKey[pc] as number;
      if (key < 0) continue;
      const rank = domRank[pc] as number;
      if (seen[key] !== gen) {
        seen[key] = gen;
        best[key] = rank;
      } else {
        any = true;
        if (rank < (best[key] as number)) best[key] = rank;
      }
    }
    if (!any) return n;
    let kept = 0;
    for (let j = 0; j < n; j++) {
      const pc = pcs[j] as number;
      const key = domKey[pc] as number;
      if (key < 0 || domRank[pc] === best[key]) pcs[kept++] = pc;
    }
    return kept;
  }

  /** Compute, cache and return the transition; MATCH; or `-(id + 3)` after a cache reset. */
  #transition(state: number, cls: number): number {
    const kind = this.#classKind[cls] as number;
    const from = this.#statePcs[state] as Int32Array;
    const found = this.#closure(from, from.length, this.#statePrev[state] as number, kind);
    if (found < 0) {
      this.#table[state * this.#stride + cls] = MATCH;
      return MATCH;
    }
    const buf = new Int32Array(found);
    const pcs = buf.subarray(0, this.#step(found, cls, buf)).sort();
    const prev = this.#nfa.hasAssertions ? kind : KOTHER;
    if (this.#statePcs.length >= MAX_RUNTIME_STATES) {
      // Bounded memory: start over from this state (RE2 does the same). Still one pass over the text.
      this.#resetStates();
      return -(this.#intern(pcs, prev) + 3);
    }
    const next = this.#intern(pcs, prev);
    this.#table[state * this.#stride + cls] = next;
    return next;
  }

  /**
   * The rest of a scan without the DFA cache: a Thompson simulation, O(pattern size) per character,
   * with no allocation. Used once a scan has overflowed the cache repeatedly.
   */
  #simulate(text: string, from: number, state: number, budget: ScanBudget): ScanResult {
    const size = this.#nfa.op.length;
    let cur = new Int32Array(size);
    let nxt = new Int32Array(size);
    const start = this.#statePcs[state] as Int32Array;
    cur.set(start);
    let count = start.length;
    let prev = this.#statePrev[state] as number;
    const assertions = this.#nfa.hasAssertions;
    const n = text.length;
    for (let i = from; i < n; i++) {
      let c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          i++;
        }
      }
      const cls = c < 128 ? (this.#ascii[c] as number) : this.#classOf(c);
      const kind = this.#classKind[cls] as number;
      const found = this.#closure(cur, count, prev, kind);
      if (found < 0) return MATCHED;
      budget.steps -= this.#visits;
      this.#visits = 0;
      if (budget.steps < 0) return OVER_BUDGET;
      count = this.#step(found, cls, nxt);
      [cur, nxt] = [nxt, cur];
      prev = assertions ? kind : KOTHER;
    }
    return this.#closure(cur, count, prev, END) < 0 ? MATCHED : NO_MATCH;
  }

  #matchesAtEnd(state: number): boolean {
    const known = this.#stateEnd[state] as number;
    if (known !== UNKNOWN) return known === 1;
    const pcs = this.#statePcs[state] as Int32Array;
    const m = this.#closure(pcs, pcs.length, this.#statePrev[state] as number, END) < 0;
    this.#stateEnd[state] = m ? 1 : 0;
    return m;
  }

  /** Build every state reachable over the known classes, up to `limit` states; true when all were built. */
  #explore(warm: number): boolean {
    const limit = Math.min(warm, MAX_RUNTIME_STATES - 1);
    const classes = this.#classMembers.length;
    for (let s = 0; s < this.#statePcs.length; s++) {
      for (let cls = 0; cls < classes; cls++) {
        if (this.#table[s * this.#stride + cls] !== UNKNOWN) continue;
        if (this.#statePcs.length >= limit) return false;
        this.#transition(s, cls);
      }
      this.#matchesAtEnd(s);
    }
    return true;
  }
}
