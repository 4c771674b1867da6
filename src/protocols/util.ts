/**
 * Small helpers shared by the protocol folders: JSON guards, data URLs, zod error → {@link TranslationError},
 * and a warning collector. Pure; no I/O.
 */
import type { z } from 'zod';
import { TranslationError } from './ir.js';
import type { IrCacheControl, IrErrorKind, IrReasoningEffort, IrUsage } from './ir.js';

/** A plain JSON object. */
export type JsonObject = Record<string, unknown>;

/** True for a non-null, non-array object. */
export function isRecord(x: unknown): x is JsonObject {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** `JSON.parse` that returns `undefined` instead of throwing. */
export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Splits a `data:<media type>;base64,<data>` URL; undefined for anything else. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  if (!url.startsWith('data:')) return undefined;
  const comma = url.indexOf(',');
  if (comma < 0) return undefined;
  const meta = url.slice(5, comma);
  if (!meta.endsWith(';base64')) return undefined;
  return { mediaType: meta.slice(0, -7) || 'application/octet-stream', data: url.slice(comma + 1) };
}

/** Builds a base64 data URL. */
export function toDataUrl(mediaType: string, data: string): string {
  return `data:${mediaType};base64,${data}`;
}

/** Formats a zod issue path the way clients write parameters: `messages[0].content[1].type`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/** Parses `body` with `schema`, or throws a {@link TranslationError} naming the first failing parameter. */
export function parseOrThrow<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const first = r.error.issues[0];
  const issue = first ? deepestIssue(first, []) : undefined;
  const param = issue ? formatPath(issue.path) : '';
  const detail = issue ? issue.message : 'invalid';
  throw new TranslationError(param || 'body', `invalid ${what}${param ? ` at ${param}` : ''}: ${detail}`);
}

/** The zod issue shape this module reads (v4 `invalid_union` issues nest one issue list per branch). */
interface ZodIssueLike {
  path: ReadonlyArray<PropertyKey>;
  message: string;
  errors?: ReadonlyArray<ReadonlyArray<ZodIssueLike>>;
}

/** For a union failure, the most specific issue of the branch that got furthest (`content[0].type`, not `content`). */
function deepestIssue(issue: ZodIssueLike, prefix: ReadonlyArray<PropertyKey>): { path: PropertyKey[]; message: string } {
  const path = [...prefix, ...issue.path];
  let best = { path, message: issue.message };
  for (const branch of issue.errors ?? []) {
    for (const sub of branch) {
      const cand = deepestIssue(sub, path);
      if (cand.path.length > best.path.length) best = cand;
    }
  }
  return best;
}

/** Collects warnings once each, in first-seen order. */
export class Warnings {
  readonly #seen = new Set<string>();
  add(message: string): void {
    this.#seen.add(message);
  }
  list(): string[] {
    return [...this.#seen];
  }
}

/** Reads an Anthropic-style `cache_control` value into the IR (only `ephemeral` exists). */
export function readCacheControl(x: unknown): IrCacheControl | undefined {
  if (!isRecord(x) || x['type'] !== 'ephemeral') return undefined;
  return typeof x['ttl'] === 'string' ? { type: 'ephemeral', ttl: x['ttl'] } : { type: 'ephemeral' };
}

/** Writes an IR cache-control hint in Anthropic's shape. */
export function writeCacheControl(c: IrCacheControl): JsonObject {
  return c.ttl === undefined ? { type: 'ephemeral' } : { type: 'ephemeral', ttl: c.ttl };
}

/** A number field, or undefined. */
export function num(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

/** A string field, or undefined. */
export function str(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}

/** `T` with every property that may be `undefined` turned into an optional property without `undefined`. */
export type Compact<T> =
  & { [K in keyof T as undefined extends T[K] ? never : K]: T[K] }
  & { [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined> };

/** Copies `obj` without the keys whose value is `undefined` (keeps golden JSON and exactOptionalPropertyTypes clean). */
export function compact<T extends object>(obj: T): Compact<T> {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out as Compact<T>;
}

/** Total input tokens of an IR usage, derived from the parts when the total is missing. */
export function inputTotal(u: IrUsage): number {
  const i = u.inputTokens;
  return i.total ?? (i.noCache ?? 0) + (i.cacheRead ?? 0) + (i.cacheWrite ?? 0);
}

/** Total output tokens of an IR usage, derived from the parts when the total is missing. */
export function outputTotal(u: IrUsage): number {
  const o = u.outputTokens;
  return o.total ?? (o.text ?? 0) + (o.reasoning ?? 0);
}

/** The keys of `body` not in `known`, as an `extra` bag (undefined when empty). */
export function extraFields(body: JsonObject, known: ReadonlySet<string>): JsonObject | undefined {
  let out: JsonObject | undefined;
  for (const k of Object.keys(body)) {
    if (known.has(k) || body[k] === undefined) continue;
    (out ??= {})[k] = body[k];
  }
  return out;
}

/** The error class an HTTP status implies. */
export function errorKindFromStatus(status: number): IrErrorKind {
  switch (status) {
    case 400: case 422: return 'invalid_request';
    case 401: return 'authentication';
    case 403: return 'permission';
    case 404: return 'not_found';
    case 413: return 'request_too_large';
    case 429: return 'rate_limit';
    case 408: case 504: return 'timeout';
    case 503: case 529: return 'overloaded';
    default: return status >= 500 || status < 400 ? 'server' : 'invalid_request';
  }
}

/** The HTTP status an error class implies, for errors that arrive without one (in-stream errors). */
export const STATUS_OF_KIND: Readonly<Record<IrErrorKind, number>> = {
  invalid_request: 400, authentication: 401, permission: 403, not_found: 404, request_too_large: 413,
  rate_limit: 429, timeout: 504, overloaded: 529, server: 500,
};

/** A short, client-safe message from a non-JSON error body. */
export function messageFromText(status: number, text: string): string {
  const t = text.trim();
  if (t === '' || t.startsWith('<')) return `upstream returned HTTP ${status}`;
  return t.length > 500 ? `${t.slice(0, 500)}…` : t;
}

/**
 * Thinking-token budget for an OpenAI-style effort level, for providers that take a budget (Anthropic, Gemini 2.5).
 * The low/medium/high values are the ones Google's OpenAI-compatible endpoint documents; 1024 is Anthropic's minimum.
 * @see https://ai.google.dev/gemini-api/docs/openai#thinking
 */
export const EFFORT_BUDGET: Readonly<Record<IrReasoningEffort, number>> = { minimal: 1024, low: 1024, medium: 8192, high: 24576 };

/** Decodes standard base64 into UTF-8 text. */
export function base64ToText(data: string): string {
  const bin = atob(data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** `table[key]` for a key from the wire, ignoring inherited properties (`"constructor"`, `"__proto__"`, …). */
export function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** Extra fields that hold the unmapped remainder of a nested object; warnings name their inner keys. */
const NESTED_EXTRA: ReadonlySet<string> = new Set(['generationConfig', 'output_config']);

/** Adds a "dropped" warning for each extra field of another protocol (naming inner keys of nested remainders). */
export function warnDroppedExtra(fields: JsonObject, target: string, w: Warnings): void {
  for (const [k, v] of Object.entries(fields)) {
    if (NESTED_EXTRA.has(k) && isRecord(v)) for (const sub of Object.keys(v)) w.add(`${k}.${sub}: not supported by ${target}, dropped`);
    else w.add(`${k}: not supported by ${target}, dropped`);
  }
}
