/**
 * Parser for `banned_regexes` (CONTRACT §2.3). Ditto compiles them with Rust's `regex` crate, so the
 * accepted syntax is that dialect: classes with ranges, nesting and `&&`/`--`/`~~`, POSIX classes,
 * `\d \w \s \p{..}` (Unicode), `\b \B \< \> \A \z`, counted repetition, inline flags `(?imsUux)` and
 * `(?flags:…)`, named groups. Like Rust it has no backreferences and no look-around: those are the
 * constructs that force a backtracking engine, and the matcher here is a linear-time automaton.
 *
 * Everything is case-insensitive: the text is lower-cased once per request and every character set
 * here is case-folded, so `(?-i)` is refused rather than silently ignored.
 */

/** A predicate over Unicode code points (evaluated once per distinct character, then cached). */
export type CharPred = (cp: number) => boolean;

/** Zero-width assertions the matcher resolves with one character of look-behind and look-ahead. */
export type Assertion = 'text_start' | 'text_end' | 'line_start' | 'line_end' | 'word' | 'not_word' | 'word_start' | 'word_end';

/** The parsed pattern. `chars.key` identifies equal sets (literals), so the alphabet stays small. */
export type RegexNode =
  | { readonly k: 'empty' }
  | { readonly k: 'chars'; readonly pred: CharPred; readonly key: string | undefined }
  | { readonly k: 'cat'; readonly items: readonly RegexNode[] }
  | { readonly k: 'alt'; readonly items: readonly RegexNode[] }
  | { readonly k: 'rep'; readonly node: RegexNode; readonly min: number; readonly max: number }
  | { readonly k: 'assert'; readonly a: Assertion };

/** Patterns longer than this are refused (they are config, not data). */
export const MAX_PATTERN_LENGTH = 4096;
/** Largest `{n,m}` bound, as in Rust's `regex`. */
const MAX_REPEAT = 1000;

const EMPTY: RegexNode = { k: 'empty' };

/** A literal code point as the (lower-cased) nodes it matches. */
export function literalNode(cp: number): RegexNode {
  const lower = [...String.fromCodePoint(cp).toLowerCase()].map((ch) => ch.codePointAt(0) ?? 0);
  const nodes: RegexNode[] = lower.map((c) => ({ k: 'chars', pred: (t: number) => t === c, key: `=${c}` }));
  return nodes.length === 1 ? (nodes[0] as RegexNode) : { k: 'cat', items: nodes };
}

/** A literal string (a banned phrase) as a sequence of lower-cased code points. */
export function literalString(s: string): RegexNode {
  return { k: 'cat', items: [...s.toLowerCase()].map((ch) => literalNode(ch.codePointAt(0) ?? 0)) };
}

// ---------------------------------------------------------------------------------------------
// Character predicates

const uniPred = (re: RegExp): CharPred => (cp) => re.test(String.fromCodePoint(cp));
const DIGIT = uniPred(/^\p{Nd}$/u);
const SPACE = uniPred(/^\p{White_Space}$/u);
/** Unicode `\w` (UTS#18 word characters), the same set `\b` uses. */
export const WORD: CharPred = uniPred(/^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u);
const not = (p: CharPred): CharPred => (cp) => !p(cp);
const range = (lo: number, hi: number): CharPred => (cp) => cp >= lo && cp <= hi;
const anyOf = (preds: readonly CharPred[]): CharPred => (cp) => preds.some((p) => p(cp));

function singleCodePoint(s: string): number | undefined {
  const cp = s.codePointAt(0);
  return cp !== undefined && String.fromCodePoint(cp).length === s.length ? cp : undefined;
}

/** Case-fold a set: the text is lower-cased, so a set also holds a character whose other case is in it. */
function fold(p: CharPred): CharPred {
  return (t) => {
    if (p(t)) return true;
    const ch = String.fromCodePoint(t);
    const up = singleCodePoint(ch.toUpperCase());
    if (up !== undefined && up !== t && p(up)) return true;
    const low = singleCodePoint(ch.toLowerCase());
    return low !== undefined && low !== t && p(low);
  };
}

const POSIX: Record<string, CharPred> = {
  alnum: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  alpha: (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  ascii: range(0, 0x7f),
  blank: (c) => c === 9 || c === 32,
  cntrl: (c) => c <= 0x1f || c === 0x7f,
  digit: range(48, 57),
  graph: range(0x21, 0x7e),
  lower: range(97, 122),
  print: range(0x20, 0x7e),
  punct: (c) => (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e),
  space: (c) => (c >= 9 && c <= 13) || c === 32,
  upper: range(65, 90),
  word: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95,
  xdigit: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102),
};

function propertyPred(name: string, negated: boolean): CharPred {
  const candidates = [name, `Script=${name}`, name.replace(/[\s_-]+/g, '_')];
  for (const c of candidates) {
    try {
      const p = uniPred(new RegExp(`^\\p{${c}}$`, 'u'));
      return negated ? not(p) : p;
    } catch {
      // try the next spelling
    }
  }
  throw new RegexSyntaxError(`unknown Unicode property \`${name}\``);
}

// ---------------------------------------------------------------------------------------------
// Parser

/** A pattern the matcher cannot accept; the message says why and what to write instead. */
export class RegexSyntaxError extends Error {
  override readonly name = 'RegexSyntaxError';
}

interface Flags {
  multiLine: boolean;
  dotAll: boolean;
  verbose: boolean;
}

const NO_BACKTRACKING =
  'banned_regexes run on a linear-time matcher (like Ditto\'s Rust regex), which has no backreferences or look-around; ' +
  'list the alternatives explicitly or use a separate pattern';

/** Parse one config pattern. Throws {@link RegexSyntaxError}. */
export function parseRegex(pattern: string): RegexNode {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new RegexSyntaxError(`pattern longer than ${MAX_PATTERN_LENGTH} characters`);
  return new Parser(pattern).parse();
}

class Parser {
  readonly #cps: number[];
  #pos = 0;
  #flags: Flags = { multiLine: false, dotAll: false, verbose: false };

  constructor(pattern: string) {
    this.#cps = [...pattern].map((ch) => ch.codePointAt(0) ?? 0);
  }

  parse(): RegexNode {
    const node = this.#alternation(0);
    if (this.#pos < this.#cps.length) throw this.#error('unopened group: unexpected `)`');
    return node;
  }

  #error(msg: string, at = this.#pos): RegexSyntaxError {
    return new RegexSyntaxError(`${msg} (at offset ${at})`);
  }

  #peek(off = 0): number | undefined {
    return this.#cps[this.#pos + off];
  }

  #peekIs(s: string): boolean {
    for (let i = 0; i < s.length; i++) if (this.#peek(i) !== s.charCodeAt(i)) return false;
    return true;
  }

  #next(): number {
    const c = this.#cps[this.#pos];
    if (c === undefined) throw this.#error('unexpected end of pattern');
    this.#pos++;
    return c;
  }

  /** In `x` mode, whitespace and `# comments` between tokens are ignored (inside classes too, as in Rust). */
  #skipVerbose(): void {
    if (!this.#flags.verbose) return;
    for (;;) {
      const c = this.#peek();
      if (c === undefined) return;
      if (c === 35) {
        while (this.#peek() !== undefined && this.#peek() !== 10) this.#pos++;
      } else if (SPACE(c)) this.#pos++;
      else return;
    }
  }

  #alternation(depth: number): RegexNode {
    const items: RegexNode[] = [this.#concat(depth)];
    while (this.#peek() === 124) {
      this.#pos++;
      items.push(this.#concat(depth));
    }
    return items.length === 1 ? (items[0] as RegexNode) : { k: 'alt', items };
  }

  #concat(depth: number): RegexNode {
    const items: RegexNode[] = [];
    for (;;) {
      this.#skipVerbose();
      const c = this.#peek();
      if (c === undefined || c === 124 || c === 41) break;
      const atomStart = this.#pos;
      const atom = this.#atom(depth);
      if (atom === undefined) continue; // a flag-setting group such as `(?i)`
      items.push(this.#quantified(atom, atomStart));
    }
    return items.length === 0 ? EMPTY : items.length === 1 ? (items[0] as RegexNode) : { k: 'cat', items };
  }

  #quantified(atom: RegexNode, atomStart: number): RegexNode {
    let node = atom;
    for (;;) {
      this.#skipVerbose();
      const c = this.#peek();
      let min: number;
      let max: number;
      if (c === 42) [min, max] = [0, Infinity];
      else if (c === 43) [min, max] = [1, Infinity];
      else if (c === 63) [min, max] = [0, 1];
      else if (c === 123) {
        this.#pos++;
        [min, max] = this.#counted();
        this.#pos--;
      } else return node;
      this.#pos++;
      if (node.k === 'assert' || node.k === 'empty') throw this.#error('repetition operator without an expression to repeat', atomStart);
      if (this.#peek() === 63) this.#pos++; // lazy: irrelevant for "does it match anywhere"
      else if (this.#peek() === 43) throw this.#error(`possessive repetition is not supported; ${NO_BACKTRACKING}`);
      node = { k: 'rep', node, min, max };
    }
  }

  /** After `{`: `n}`, `n,}`, `n,m}` or `,m}`; leaves the position after `}`. */
  #counted(): [number, number] {
    const start = this.#pos - 1;
    const num = (): number | undefined => {
      let s = '';
      while (this.#peek() !== undefined && (this.#peek() as number) >= 48 && (this.#peek() as number) <= 57) s += String.fromCharCode(this.#next());
      return s === '' ? undefined : Number(s);
    };
    const min = num();
    let max = min;
    if (this.#peek() === 44) {
      this.#pos++;
      max = num() ?? Infinity;
    }
    if (this.#peek() !== 125 || (min === undefined && max === Infinity)) throw this.#error('invalid counted repetition: expected `{n}`, `{n,}` or `{n,m}`', start);
    this.#pos++;
    const lo = min ?? 0;
    const hi = max ?? lo;
    if (lo > MAX_REPEAT || (hi !== Infinity && hi > MAX_REPEAT)) throw this.#error(`counted repetition larger than ${MAX_REPEAT}`, start);
    if (hi < lo) throw this.#error('invalid counted repetition: minimum is larger than maximum', start);
    return [lo, hi];
  }

  #atom(depth: number): RegexNode | undefined {
    const start = this.#pos;
    const c = this.#next();
    switch (c) {
      case 40: return this.#group(depth, start);
      case 91: return this.#chars(this.#bracket());
      case 46: return this.#chars(this.#flags.dotAll ? () => true : (t) => t !== 10);
      case 94: return { k: 'assert', a: this.#flags.multiLine ? 'line_start' : 'text_start' };
      case 36: return { k: 'assert', a: this.#flags.multiLine ? 'line_end' : 'text_end' };
      case 92: return this.#escape();
      case 42: case 43: case 63: case 123:
        throw this.#error('repetition operator without an expression to repeat', start);
      default: return literalNode(c);
    }
  }

  #chars(pred: CharPred): RegexNode {
    return { k: 'chars', pred: fold(pred), key: undefined };
  }

  #group(depth: number, start: number): RegexNode | undefined {
    if (depth > 200) throw this.#error('groups nested too deeply', start);
    if (this.#peek() === 63) {
      this.#pos++;
      if (this.#peekIs('=') || this.#peekIs('!') || this.#peekIs('<=') || this.#peekIs('<!')) {
        throw this.#error(`look-around is not supported; ${NO_BACKTRACKING}`, start);
      }
      if (this.#peekIs('P=')) throw this.#error(`backreferences are not supported; ${NO_BACKTRACKING}`, start);
      if (this.#peekIs('P<') || this.#peekIs('<')) {
        this.#pos += this.#peek() === 80 ? 2 : 1;
        let name = '';
        while (this.#peek() !== undefined && this.#peek() !== 62) name += String.fromCodePoint(this.#next());
        if (this.#peek() !== 62 || !/^[A-Za-z_][A-Za-z0-9_.[\]]*$/.test(name)) throw this.#error('invalid capture group name', start);
        this.#pos++;
        return this.#groupBody(depth, start);
      }
      if (this.#peek() === 58) {
        this.#pos++;
        return this.#groupBody(depth, start);
      }
      const flags = this.#inlineFlags(start);
      if (this.#next() === 41) {
        this.#flags = flags; // `(?flags)`: applies to the rest of the enclosing group
        return undefined;
      }
      const saved = this.#flags;
      this.#flags = flags;
      const body = this.#groupBody(depth, start);
      this.#flags = saved;
      return body;
    }
    return this.#groupBody(depth, start);
  }

  #groupBody(depth: number, start: number): RegexNode {
    const saved = { ...this.#flags };
    const node = this.#alternation(depth + 1);
    this.#flags = saved;
    if (this.#peek() !== 41) throw this.#error('unclosed group', start);
    this.#pos++;
    return node;
  }

  /** Parses `ims-x` up to (not including) `)` or `:`. */
  #inlineFlags(start: number): Flags {
    const flags = { ...this.#flags };
    let on = true;
    for (;;) {
      const c = this.#peek();
      if (c === undefined) throw this.#error('unclosed flag group', start);
      if (c === 41 || c === 58) return flags;
      this.#pos++;
      const ch = String.fromCodePoint(c);
      if (ch === '-') {
        if (!on) throw this.#error('repeated `-` in flags', start);
        on = false;
      } else if (ch === 'i') {
        if (!on) throw this.#error('`(?-i)` is not supported: banned_regexes are always case-insensitive', start);
      } else if (ch === 'm') flags.multiLine = on;
      else if (ch === 's') flags.dotAll = on;
      else if (ch === 'x') flags.verbose = on;
      else if (ch === 'U' || ch === 'u') {
        // swap-greed and Unicode mode do not change whether a pattern matches somewhere
      } else throw this.#error(`unsupported flag \`${ch}\` (supported: i, m, s, x, U, u)`, start);
    }
  }

  /** After `\` outside a class. */
  #escape(): RegexNode {
    const start = this.#pos - 1;
    const c = this.#next();
    const ch = String.fromCodePoint(c);
    switch (ch) {
      case 'b':
        if (this.#peek() === 123) {
          const m = /^\{(start|end|start-half|end-half)\}/.exec(String.fromCodePoint(...this.#cps.slice(this.#pos, this.#pos + 14)));
          if (m === null) throw this.#error('unsupported `\\b{…}` form (supported: start, end)', start);
          this.#pos += (m[0] as string).length;
          if (m[1] === 'start' || m[1] === 'start-half') return { k: 'assert', a: 'word_start' };
          return { k: 'assert', a: 'word_end' };
        }
        return { k: 'assert', a: 'word' };
      case 'B': return { k: 'assert', a: 'not_word' };
      case 'A': return { k: 'assert', a: 'text_start' };
      case 'z': return { k: 'assert', a: 'text_end' };
      case '<': return { k: 'assert', a: 'word_start' };
      case '>': return { k: 'assert', a: 'word_end' };
      default: {
        const set = this.#classEscape(c, start);
        if (set !== undefined) return this.#chars(set);
        return literalNode(this.#literalEscape(c, start));
      }
    }
  }

  /** `\d \D \s \S \w \W \p \P` (outside or inside a class), else undefined. */
  #classEscape(c: number, start: number): CharPred | undefined {
    switch (String.fromCodePoint(c)) {
      case 'd': return DIGIT;
      case 'D': return not(DIGIT);
      case 's': return SPACE;
      case 'S': return not(SPACE);
      case 'w': return WORD;
      case 'W': return not(WORD);
      case 'p': case 'P': {
        let name: string;
        if (this.#peek() === 123) {
          this.#pos++;
          name = '';
          while (this.#peek() !== undefined && this.#peek() !== 125) name += String.fromCodePoint(this.#next());
          if (this.#peek() !== 125) throw this.#error('unclosed `\\p{…}`', start);
          this.#pos++;
        } else name = String.fromCodePoint(this.#next());
        let negated = c === 80;
        const neq = /^(.*?)\s*!=\s*(.*)$/.exec(name);
        if (neq) {
          negated = !negated;
          name = `${neq[1] ?? ''}=${neq[2] ?? ''}`;
        } else name = name.replace(/\s*[:=]\s*/, '=');
        if (name.startsWith('^')) {
          negated = !negated;
          name = name.slice(1);
        }
        return propertyPred(name.trim(), negated);
      }
      default: return undefined;
    }
  }

  /** A literal escape: `\n \t \r \f \v \a \x.. \u.. \U..` or escaped punctuation. */
  #literalEscape(c: number, start: number): number {
    const ch = String.fromCodePoint(c);
    switch (ch) {
      case 'n': return 10;
      case 't': return 9;
      case 'r': return 13;
      case 'f': return 12;
      case 'v': return 11;
      case 'a': return 7;
      case 'x': return this.#hex(2, start);
      case 'u': return this.#hex(4, start);
      case 'U': return this.#hex(8, start);
      default:
        if (c >= 48 && c <= 57) throw this.#error(`backreferences (\\${ch}) are not supported; ${NO_BACKTRACKING}`, start);
        if (ch === 'k') throw this.#error(`backreferences (\\k) are not supported; ${NO_BACKTRACKING}`, start);
        if (c < 128 && !/[A-Za-z0-9]/.test(ch)) return c;
        throw this.#error(`unrecognized escape sequence \\${ch}`, start);
    }
  }

  #hex(digits: number, start: number): number {
    let s = '';
    if (this.#peek() === 123) {
      this.#pos++;
      while (this.#peek() !== undefined && this.#peek() !== 125) s += String.fromCodePoint(this.#next());
      if (this.#peek() !== 125) throw this.#error('unclosed hex escape', start);
      this.#pos++;
    } else {
      for (let i = 0; i < digits; i++) s += String.fromCodePoint(this.#next());
    }
    const v = /^[0-9a-fA-F]{1,8}$/.test(s) ? parseInt(s, 16) : NaN;
    if (!(v <= 0x10ffff) || (v >= 0xd800 && v <= 0xdfff)) throw this.#error('invalid hex escape', start);
    return v;
  }

  /** After `[`: a bracketed class (nested classes, ranges, POSIX classes, `&&`, `--`, `~~`). */
  #bracket(): CharPred {
    const start = this.#pos - 1;
    let negated = false;
    if (this.#peek() === 94) {
      this.#pos++;
      negated = true;
    }
    let acc: CharPred | undefined;
    let op: string | undefined;
    let items: CharPred[] = [];
    let first = true;
    const combine = (): CharPred => {
      const u = anyOf(items);
      if (acc === undefined || op === undefined) return u;
      const a = acc;
      if (op === '&&') return (cp) => a(cp) && u(cp);
      if (op === '--') return (cp) => a(cp) && !u(cp);
      return (cp) => a(cp) !== u(cp);
    };
    for (;;) {
      this.#skipVerbose();
      const c = this.#peek();
      if (c === undefined) throw this.#error('unclosed character class', start);
      if (c === 93 && !first) {
        this.#pos++;
        break;
      }
      if (!first && (this.#peekIs('&&') || this.#peekIs('--') || this.#peekIs('~~'))) {
        acc = combine();
        op = String.fromCodePoint(c, c);
        this.#pos += 2;
        items = [];
        continue;
      }
      first = false;
      items.push(this.#classItem(start));
    }
    const set = fold(combine());
    return negated ? not(set) : set;
  }

  #classItem(classStart: number): CharPred {
    const c = this.#peek();
    if (c === 91) {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(String.fromCodePoint(...this.#cps.slice(this.#pos, this.#pos + 12)));
      if (posix) {
        const p = POSIX[posix[2] as string];
        if (p === undefined) throw this.#error(`unknown POSIX class \`${posix[2]}\``);
        this.#pos += (posix[0] as string).length;
        return posix[1] === '^' ? not(p) : p;
      }
      this.#pos++;
      return this.#bracket();
    }
    const lo = this.#classAtom(classStart);
    if (typeof lo === 'function') return lo;
    this.#skipVerbose();
    if (this.#peek() === 45 && this.#peek(1) !== 93 && this.#peek(1) !== undefined && !this.#peekIs('--')) {
      this.#pos++;
      this.#skipVerbose();
      const hi = this.#classAtom(classStart);
      if (typeof hi === 'function') throw this.#error('invalid range: a class cannot end a range');
      if (hi < lo) throw this.#error('invalid range: start is greater than end');
      return range(lo, hi);
    }
    return (cp) => cp === lo;
  }

  /** One code point, or a class escape, inside brackets. */
  #classAtom(classStart: number): number | CharPred {
    const start = this.#pos;
    const c = this.#next();
    if (c !== 92) return c;
    const e = this.#next();
    const set = this.#classEscape(e, start);
    if (set !== undefined) return set;
    if (e === 98 || e === 66 || e === 65 || e === 122) throw this.#error('assertions are not allowed in a character class', classStart);
    return this.#literalEscape(e, start);
  }
}
