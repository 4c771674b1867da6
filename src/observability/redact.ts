import { compileConfigRegex } from '../config/regex.js';
import type { RedactionConfig } from '../config/observability.js';

/**
 * The `observability.redaction` rules (CONTRACT §2.6, §4.14), compiled once at startup and applied to
 * log payloads, devtools lines, span attributes and Prometheus label values:
 * - a value under a key named in `redact_key_names` or `redact_headers` (case-insensitive, any depth)
 *   becomes `replacement`, whatever its type;
 * - in strings under a key named in `sanitize_query_in_keys`, the query parameters named in
 *   `redact_query_params` get `replacement` as their value;
 * - every match of a `redact_regexes` pattern, in any string, becomes `replacement`;
 * - the values at `redact_json_pointers` (relative to the document being redacted) become `replacement`.
 */
/** How a key name is treated: a plain key, a secret (value replaced), or a URL-like key (query sanitised). */
const PLAIN = 0;
const SECRET = 1;
const URL_KEY = 2;
type KeyKind = typeof PLAIN | typeof SECRET | typeof URL_KEY;

/** Bounds of the memos below: past them the memo starts over (the names and values that repeat come back at once). */
const KEY_MEMO_MAX = 1024;
const STRING_MEMO_MAX = 4096;
const STRING_MEMO_MAX_CHARS = 256;
/**
 * Fields whose values are unique per request: never memoised (they would only churn the memo, and the
 * entries would live long enough to be promoted to the old generation, which costs GC time).
 */
const UNIQUE_VALUE_KEYS: ReadonlySet<string> = new Set(['request_id', 'id', 'trace_id', 'span_id', 'parent_span_id', 'response_id', 'session_id', 'ts_ms']);

export class Redactor {
  readonly replacement: string;
  /** Key name → {@link KeyKind} (saves a `toLowerCase` and two set lookups per key). */
  readonly #keyKinds = new Map<string, KeyKind>();
  /** Short string → its regex-redacted form: field values (methods, paths, models, outcomes) repeat per request. */
  readonly #strings = new Map<string, string>();
  readonly #keys: ReadonlySet<string>;
  readonly #queryParams: ReadonlySet<string>;
  readonly #queryKeys: ReadonlySet<string>;
  readonly #regexes: readonly RegExp[];
  readonly #pointers: ReadonlyArray<readonly string[]>;

  constructor(cfg: RedactionConfig) {
    this.replacement = cfg.replacement;
    const lower = (xs: readonly string[]): Set<string> => new Set(xs.map((x) => x.toLowerCase()));
    this.#keys = new Set([...lower(cfg.redact_key_names), ...lower(cfg.redact_headers)]);
    this.#queryParams = lower(cfg.redact_query_params);
    this.#queryKeys = lower(cfg.sanitize_query_in_keys);
    this.#regexes = cfg.redact_regexes.map((p) => compileConfigRegex(p, 'g'));
    this.#pointers = cfg.redact_json_pointers.filter((p) => p !== '').map(parsePointer);
  }

  /** True when a value under this key (header name, field name, label name) is a secret. */
  isSecretKey(name: string): boolean {
    return this.#keyKind(name) === SECRET;
  }

  #keyKind(name: string): KeyKind {
    let kind = this.#keyKinds.get(name);
    if (kind === undefined) {
      const lower = name.toLowerCase();
      kind = this.#keys.has(lower) ? SECRET : this.#queryKeys.has(lower) ? URL_KEY : PLAIN;
      if (this.#keyKinds.size >= KEY_MEMO_MAX) this.#keyKinds.clear();
      this.#keyKinds.set(name, kind);
    }
    return kind;
  }

  /** A string with every `redact_regexes` match replaced (memoised for short strings). */
  redactString(s: string): string {
    if (this.#regexes.length === 0) return s;
    if (s.length > STRING_MEMO_MAX_CHARS) return this.#applyRegexes(s);
    let out = this.#strings.get(s);
    if (out === undefined) {
      out = this.#applyRegexes(s);
      if (this.#strings.size >= STRING_MEMO_MAX) this.#strings.clear();
      this.#strings.set(s, out);
    }
    return out;
  }

  /** The value of a field under `key`: unique-per-request fields skip the memo (same result). */
  redactField(key: string | undefined, s: string): string {
    return key !== undefined && UNIQUE_VALUE_KEYS.has(key) ? this.#applyRegexes(s) : this.redactString(s);
  }

  #applyRegexes(s: string): string {
    let out = s;
    for (const re of this.#regexes) {
      re.lastIndex = 0;
      if (re.test(out)) {
        re.lastIndex = 0;
        out = out.replace(re, this.replacement);
      }
    }
    return out;
  }

  /** A URL, path or query string with the listed query parameters' values replaced, then regexes. */
  redactUrl(s: string): string {
    const q = s.indexOf('?');
    if (q < 0 || this.#queryParams.size === 0) return this.redactString(s);
    const parts = s.slice(q + 1).split('&').map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // keep the raw name
      }
      return this.#queryParams.has(name.toLowerCase()) ? `${rawName}=${this.replacement}` : pair;
    });
    return this.redactString(`${s.slice(0, q + 1)}${parts.join('&')}`);
  }

  /** A Prometheus label value (§4.14): the label name against the key names, then the regexes. */
  labelValue(labelName: string, value: string): string {
    if (this.isSecretKey(labelName)) return this.replacement;
    return this.redactString(value);
  }

  /** A redacted deep copy of `value` (a JSON-like document). The input is never changed. */
  redact(value: unknown): unknown {
    const out = this.#walk(value, undefined, 0);
    if (this.#pointers.length === 0 || out === null || typeof out !== 'object') return out;
    for (const p of this.#pointers) applyPointer(out, p, this.replacement);
    return out;
  }

  /** Header map with the `redact_headers`/key-name headers replaced and regexes applied to the rest. */
  redactHeaders(headers: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name in headers) {
      const v = headers[name];
      if (v === undefined) continue;
      out[name] = this.isSecretKey(name) ? this.replacement : this.#walk(v, name, 1);
    }
    return out;
  }

  #walk(value: unknown, key: string | undefined, depth: number): unknown {
    if (typeof value === 'string') {
      if (key !== undefined && this.#keyKind(key) === URL_KEY) return this.redactUrl(value);
      return this.redactField(key, value);
    }
    if (value === null || typeof value !== 'object') return value;
    if (depth > 64) return this.replacement; // a pathological document is not worth a stack overflow
    if (Array.isArray(value)) return value.map((v) => this.#walk(v, key, depth + 1));
    if (Buffer.isBuffer(value)) return this.redactString(value.toString('utf8'));
    const out: Record<string, unknown> = {};
    for (const k in value as Record<string, unknown>) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined) continue;
      out[k] = this.#keyKind(k) === SECRET ? this.replacement : this.#walk(v, k, depth + 1);
    }
    return out;
  }
}

/** RFC 6901 pointer → unescaped reference tokens (validated at startup by `jsonPointerProblem`). */
function parsePointer(p: string): string[] {
  return p.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function applyPointer(doc: object, tokens: readonly string[], replacement: string): void {
  let cur: unknown = doc;
  for (let i = 0; i < tokens.length; i++) {
    if (cur === null || typeof cur !== 'object') return;
    const t = tokens[i] as string;
    const container = cur as Record<string, unknown>;
    if (Array.isArray(cur) && !/^(0|[1-9]\d*)$/.test(t)) return;
    if (!Object.prototype.hasOwnProperty.call(container, t)) return;
    if (i === tokens.length - 1) container[t] = replacement;
    else cur = container[t];
  }
}
