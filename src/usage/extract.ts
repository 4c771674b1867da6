import type { TokenUsage } from '../pricing/table.js';

/**
 * Read a response's `usage` object (CONTRACT §4.8): OpenAI chat/completions/embeddings
 * (`prompt_tokens`, `completion_tokens`, `total_tokens`, `prompt_tokens_details.cached_tokens`),
 * Responses API (`input_tokens`, `output_tokens`, `input_tokens_details.cached_tokens`) and
 * Anthropic-style cache fields (`cache_read_input_tokens`, `cache_creation_input_tokens`). Returns
 * undefined when there is no usable usage.
 */
export function usageFromObject(u: unknown): TokenUsage | undefined {
  if (u === null || typeof u !== 'object' || Array.isArray(u)) return undefined;
  const o = u as Record<string, unknown>;
  const input = int(o['prompt_tokens']) ?? int(o['input_tokens']);
  const output = int(o['completion_tokens']) ?? int(o['output_tokens']);
  const total = int(o['total_tokens']);
  if (input === undefined && output === undefined && total === undefined) return undefined;
  const details = (o['prompt_tokens_details'] ?? o['input_tokens_details']) as Record<string, unknown> | null | undefined;
  const cached = int(details && typeof details === 'object' ? details['cached_tokens'] : undefined) ?? int(o['cache_read_input_tokens']) ?? 0;
  const creation = int(o['cache_creation_input_tokens']) ?? 0;
  const i = input ?? 0;
  const out = output ?? 0;
  return { input: i, output: out, cachedInput: cached, cacheCreation: creation, total: total ?? i + out };
}

const USAGE_KEY = Buffer.from('"usage"');

/** Usage from a complete JSON response body (`{"usage":{…}}`), or undefined. */
export function usageFromJsonBody(body: Buffer): TokenUsage | undefined {
  // Cheap pre-check: most bodies without usage (files, models) need no parse at all.
  const at = body.lastIndexOf(USAGE_KEY); // a Buffer needle: no string→bytes conversion per call
  if (at < 0) return undefined;
  const fast = topLevelTailUsage(body, at);
  if (fast !== undefined) return fast;
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (v === null || typeof v !== 'object') return undefined;
    const o = v as Record<string, unknown>;
    // Responses API wraps the response in some stream events; plain bodies have usage at the top.
    return usageFromObject(o['usage']) ?? usageFromObject((o['response'] as Record<string, unknown> | undefined)?.['usage']);
  } catch {
    return undefined;
  }
}

/**
 * The fast path for a body whose last `"usage"` is a top-level member (every OpenAI-style answer puts it
 * near the end): read `{` + the body from there instead of the whole body. Exact: that text is valid JSON
 * only when the match is a key at depth 1 (deeper, the tail holds more closing brackets than the one
 * added opener; inside a string the quote before `usage` would be escaped), and a later duplicate key
 * would have been found first, as `JSON.parse` keeps the last one. The tail is first read by a byte
 * scanner (no string decoded, nothing parsed that usage does not need); what it does not take on, or
 * finds invalid, goes to `JSON.parse`, which decides.
 */
function topLevelTailUsage(body: Buffer, at: number): TokenUsage | undefined {
  const scanned = scanTail(body, at);
  if (scanned !== BAIL) return usageFromObject(scanned);
  try {
    const tail = JSON.parse(`{${body.toString('utf8', at)}`) as Record<string, unknown>;
    return usageFromObject(tail['usage']);
  } catch {
    return undefined;
  }
}

// ---- the byte scanner -------------------------------------------------------------------------------
//
// It accepts a strict subset of what `JSON.parse` accepts for `{"usage": V, …}` (whitespace, escapes,
// numbers and nesting as RFC 8259 has them), and hands everything else back (BAIL):
//  - V must be an object; inside it only the fields `usageFromObject` reads are built, and only with
//    values whose type it can see: plain non-negative integers of at most 15 digits, strings, literals,
//    arrays and objects stand in by type (a string is `''`…). Any other number, or a key with an escape
//    (it could decode to a field name), is handed back;
//  - everything after V is validated (members with any JSON values) up to the closing `}` and the end.
// The result is the object `JSON.parse` would have given as `usage`, as far as `usageFromObject` can
// tell: the same fields with the same types and, for integers, the same values (duplicates: last wins).
// Scanned objects have one fixed shape with every field present as undefined until set: reads are the same.

const BAIL: unique symbol = Symbol('bail');
const MAX_DEPTH = 32;
const STRING_MARK = '';
const ARRAY_MARK: readonly unknown[] = Object.freeze([]);

/** The fields `usageFromObject` reads, by code (the index). */
const FIELD_NAMES = [
  'prompt_tokens', 'completion_tokens', 'total_tokens', 'input_tokens', 'output_tokens', 'prompt_tokens_details',
  'input_tokens_details', 'cached_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens',
] as const;
const PROMPT_DETAILS = 5;
const INPUT_DETAILS = 6;
const UNKNOWN = -1;
const BAD_KEY = -2;
/** Field codes by name length, and each name's bytes by code. */
const CODES_BY_LENGTH: number[][] = [];
const FIELD_BYTES: Uint8Array[] = FIELD_NAMES.map((f, code) => {
  (CODES_BY_LENGTH[f.length] ??= []).push(code);
  return new Uint8Array(Buffer.from(f));
});

/** The fields of a scanned object (one shape for all): absent fields read as undefined, as on a parsed object. */
class Scanned {
  prompt_tokens: unknown = undefined;
  completion_tokens: unknown = undefined;
  total_tokens: unknown = undefined;
  input_tokens: unknown = undefined;
  output_tokens: unknown = undefined;
  prompt_tokens_details: unknown = undefined;
  input_tokens_details: unknown = undefined;
  cached_tokens: unknown = undefined;
  cache_read_input_tokens: unknown = undefined;
  cache_creation_input_tokens: unknown = undefined;

  set(code: number, v: unknown): void {
    switch (code) {
      case 0: this.prompt_tokens = v; break;
      case 1: this.completion_tokens = v; break;
      case 2: this.total_tokens = v; break;
      case 3: this.input_tokens = v; break;
      case 4: this.output_tokens = v; break;
      case 5: this.prompt_tokens_details = v; break;
      case 6: this.input_tokens_details = v; break;
      case 7: this.cached_tokens = v; break;
      case 8: this.cache_read_input_tokens = v; break;
      default: this.cache_creation_input_tokens = v;
    }
  }
}

let pos = 0;

function scanTail(b: Buffer, at: number): unknown {
  pos = at + 7; // after `"usage"`
  if (ws(b) !== 0x3a) return BAIL; // ':'
  pos++;
  if (ws(b) !== 0x7b) return BAIL; // the usage value must be an object
  const usage = scanObject(b, 0);
  if (usage === BAIL) return BAIL;
  // The rest of the top-level object: `(, "key": value)* }` and nothing after it but whitespace.
  for (;;) {
    const c = ws(b);
    if (c === 0x7d) { // '}'
      pos++;
      return ws(b) === -1 ? usage : BAIL;
    }
    if (c !== 0x2c) return BAIL; // ','
    pos++;
    // A key with an escape might decode to a later `usage` (which JSON.parse would keep): hand it back.
    if (ws(b) !== 0x22 || fieldCode(b) === BAD_KEY) return BAIL;
    if (ws(b) !== 0x3a) return BAIL;
    pos++;
    if (!skipValue(b, 1)) return BAIL;
  }
}

/** The byte at `pos` after whitespace, or -1 at the end. */
function ws(b: Buffer): number {
  while (pos < b.length) {
    const c = b[pos] as number;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
    pos++;
  }
  return -1;
}

/** `{` at `pos`: the known fields of this object with their values, the rest validated and skipped. */
function scanObject(b: Buffer, depth: number): Scanned | typeof BAIL {
  if (depth > MAX_DEPTH) return BAIL;
  pos++;
  const o = new Scanned();
  if (ws(b) === 0x7d) {
    pos++;
    return o;
  }
  for (;;) {
    if (ws(b) !== 0x22) return BAIL;
    const code = fieldCode(b);
    if (code === BAD_KEY) return BAIL;
    if (ws(b) !== 0x3a) return BAIL;
    pos++;
    const c = ws(b);
    if (code === UNKNOWN) {
      if (!skipValue(b, depth + 1)) return BAIL;
    } else {
      const v = c === 0x7b && (code === PROMPT_DETAILS || code === INPUT_DETAILS) ? scanObject(b, depth + 1) : scanLeaf(b, c, depth + 1);
      if (v === BAIL) return BAIL;
      o.set(code, v);
    }
    const n = ws(b);
    pos++;
    if (n === 0x7d) return o;
    if (n !== 0x2c) return BAIL;
  }
}

/**
 * A key at `pos` (a `"`): the code of the known field it names, UNKNOWN for any other key, BAD_KEY for a
 * key with an escape (it might decode to a known name) or an invalid one. `pos` ends after the closing quote.
 */
function fieldCode(b: Buffer): number {
  const start = pos + 1;
  let i = start;
  for (;;) {
    if (i >= b.length) return BAD_KEY;
    const c = b[i] as number;
    if (c === 0x22) break;
    if (c === 0x5c || c < 0x20) return BAD_KEY;
    i++;
  }
  pos = i + 1;
  const codes = CODES_BY_LENGTH[i - start];
  if (codes === undefined) return UNKNOWN;
  for (let f = 0; f < codes.length; f++) {
    const code = codes[f] as number;
    const name = FIELD_BYTES[code] as Uint8Array;
    let k = 0;
    while (k < name.length && b[start + k] === name[k]) k++;
    if (k === name.length) return code;
  }
  return UNKNOWN;
}

/** A value at `pos` (first byte `c`) for a known field: an integer, or a stand-in of its type. */
function scanLeaf(b: Buffer, c: number, depth: number): unknown {
  if (c >= 0x30 && c <= 0x39) {
    let n = 0;
    let digits = 0;
    while (pos < b.length) {
      const d = b[pos] as number;
      if (d < 0x30 || d > 0x39) break;
      n = n * 10 + (d - 0x30);
      digits++;
      pos++;
    }
    if (digits > 15 || (c === 0x30 && digits > 1)) return BAIL;
    const next = pos < b.length ? (b[pos] as number) : -1;
    if (next === 0x2e || next === 0x65 || next === 0x45) return BAIL; // a fraction or exponent: JSON.parse decides
    return n;
  }
  if (c === 0x22) return skipString(b) ? STRING_MARK : BAIL;
  if (c === 0x5b) return skipValue(b, depth) ? ARRAY_MARK : BAIL;
  if (c === 0x7b) return skipValue(b, depth) ? {} : BAIL;
  if (c === 0x74) return literal(b, 'true') ? true : BAIL;
  if (c === 0x66) return literal(b, 'false') ? false : BAIL;
  if (c === 0x6e) return literal(b, 'null') ? null : BAIL;
  return BAIL; // negative numbers and anything else
}

function literal(b: Buffer, word: string): boolean {
  for (let k = 0; k < word.length; k++) {
    if (b[pos + k] !== word.charCodeAt(k)) return false;
  }
  pos += word.length;
  return true;
}

/** Validate and skip any JSON value at `pos` (after whitespace). */
function skipValue(b: Buffer, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  const c = ws(b);
  switch (c) {
    case 0x22:
      return skipString(b);
    case 0x7b: { // object
      pos++;
      if (ws(b) === 0x7d) {
        pos++;
        return true;
      }
      for (;;) {
        if (ws(b) !== 0x22 || !skipString(b)) return false;
        if (ws(b) !== 0x3a) return false;
        pos++;
        if (!skipValue(b, depth + 1)) return false;
        const n = ws(b);
        pos++;
        if (n === 0x7d) return true;
        if (n !== 0x2c) return false;
      }
    }
    case 0x5b: { // array
      pos++;
      if (ws(b) === 0x5d) {
        pos++;
        return true;
      }
      for (;;) {
        if (!skipValue(b, depth + 1)) return false;
        const n = ws(b);
        pos++;
        if (n === 0x5d) return true;
        if (n !== 0x2c) return false;
      }
    }
    case 0x74:
      return literal(b, 'true');
    case 0x66:
      return literal(b, 'false');
    case 0x6e:
      return literal(b, 'null');
    default:
      return skipNumber(b);
  }
}

/** A string at `pos` (a `"`): no raw control characters, only valid escapes. `pos` ends after it. */
function skipString(b: Buffer): boolean {
  let i = pos + 1;
  while (i < b.length) {
    const c = b[i] as number;
    if (c === 0x22) {
      pos = i + 1;
      return true;
    }
    if (c < 0x20) return false;
    if (c === 0x5c) {
      const e = b[i + 1];
      if (e === 0x75) { // \uXXXX
        for (let k = 2; k < 6; k++) if (!isHex(b[i + k])) return false;
        i += 6;
        continue;
      }
      if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return false;
      i += 2;
      continue;
    }
    i++;
  }
  return false;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/** `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` at `pos`. */
function skipNumber(b: Buffer): boolean {
  if (b[pos] === 0x2d) pos++;
  const first = b[pos];
  if (first === 0x30) pos++;
  else if (!digitsAt(b)) return false;
  if (b[pos] === 0x2e) {
    pos++;
    if (!digitsAt(b)) return false;
  }
  const e = b[pos];
  if (e === 0x65 || e === 0x45) {
    pos++;
    if (b[pos] === 0x2b || b[pos] === 0x2d) pos++;
    if (!digitsAt(b)) return false;
  }
  return true;
}

/** One or more digits at `pos`. */
function digitsAt(b: Buffer): boolean {
  const start = pos;
  while (pos < b.length) {
    const c = b[pos] as number;
    if (c < 0x30 || c > 0x39) break;
    pos++;
  }
  return pos > start;
}

function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}
