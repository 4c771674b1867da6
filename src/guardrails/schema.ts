import type { MultipartPart } from './multipart.js';

/**
 * `validate_schema` (CONTRACT §3.3 table): the minimal shape each creation endpoint needs, checked on
 * POST bodies before anything is sent upstream. Returns the 400 `invalid_request` message, or
 * undefined when the body passes or the path has no schema.
 */

type FieldRule = (v: unknown) => boolean;

const nonEmptyString: FieldRule = (v) => typeof v === 'string' && v.length > 0;
const stringOrArray: FieldRule = (v) => typeof v === 'string' || Array.isArray(v);
const stringArrayOrObject: FieldRule = (v) => typeof v === 'string' || (typeof v === 'object' && v !== null);
const array: FieldRule = (v) => Array.isArray(v);

const EXPECT: ReadonlyMap<FieldRule, string> = new Map([
  [nonEmptyString, 'a non-empty string'],
  [stringOrArray, 'a string or an array'],
  [stringArrayOrObject, 'a string, an array or an object'],
  [array, 'an array'],
]);

type JsonSchema = readonly (readonly [field: string, rule: FieldRule])[];

const MODEL = ['model', nonEmptyString] as const;
const RESPONSES: JsonSchema = [MODEL, ['input', stringArrayOrObject]];

/** JSON endpoints (exact normalised paths, POST). */
const JSON_SCHEMAS: ReadonlyMap<string, JsonSchema> = new Map<string, JsonSchema>([
  ['/v1/chat/completions', [MODEL, ['messages', array]]],
  ['/v1/responses', RESPONSES],
  ['/v1/responses/compact', RESPONSES],
  ['/v1/responses/input_tokens', RESPONSES],
  ['/v1/embeddings', [MODEL, ['input', stringOrArray]]],
  ['/v1/completions', [MODEL, ['prompt', stringOrArray]]],
  ['/v1/moderations', [['input', stringArrayOrObject]]],
  ['/v1/images/generations', [['prompt', nonEmptyString]]],
  ['/v1/audio/speech', [MODEL, ['input', nonEmptyString], ['voice', nonEmptyString]]],
  ['/v1/rerank', [['query', nonEmptyString], ['documents', array]]],
  ['/v1/batches', [['input_file_id', nonEmptyString], ['endpoint', nonEmptyString], ['completion_window', nonEmptyString]]],
]);

/** Multipart endpoints and the parts they need. */
const MULTIPART_SCHEMAS: ReadonlyMap<string, readonly string[]> = new Map([
  ['/v1/audio/transcriptions', ['file', 'model']],
  ['/v1/audio/translations', ['file', 'model']],
  ['/v1/files', ['file', 'purpose']],
]);

/** True when `path` has a schema in the table (for POST). */
export function hasSchema(method: string, path: string): boolean {
  return method === 'POST' && (JSON_SCHEMAS.has(path) || MULTIPART_SCHEMAS.has(path));
}

/** True when the endpoint's schema is a multipart one. */
export function isMultipartEndpoint(path: string): boolean {
  return MULTIPART_SCHEMAS.has(path);
}

/**
 * Check a request against the table.
 * @param json the parsed body when it was a JSON object
 * @param parts the multipart parts, or undefined when the body is not (valid) multipart
 */
export function schemaViolation(
  method: string,
  path: string,
  json: Record<string, unknown> | undefined,
  parts: readonly MultipartPart[] | undefined,
): string | undefined {
  if (method !== 'POST') return undefined;
  const needed = MULTIPART_SCHEMAS.get(path);
  if (needed !== undefined) {
    if (parts === undefined) return 'request body must be multipart/form-data';
    for (const name of needed) {
      const part = parts.find((p) => p.name === name);
      if (part === undefined) return `missing multipart part \`${name}\``;
      if (name !== 'file' && part.end <= part.start) return `multipart part \`${name}\` must not be empty`;
    }
    return undefined;
  }
  const schema = JSON_SCHEMAS.get(path);
  if (schema === undefined) return undefined;
  if (json === undefined) return 'request body must be a JSON object';
  for (const [field, rule] of schema) {
    const msg = fieldViolation(json, field, rule);
    if (msg !== undefined) return msg;
  }
  if (path === '/v1/chat/completions') return messagesViolation(json['messages'] as unknown[]);
  return undefined;
}

function fieldViolation(obj: Record<string, unknown>, field: string, rule: FieldRule, at = field): string | undefined {
  const v = obj[field];
  if (v === undefined || (v === null && rule !== stringArrayOrObject)) return `missing field \`${at}\``;
  if (!rule(v)) return `invalid field \`${at}\`: expected ${EXPECT.get(rule) ?? 'another type'}`;
  return undefined;
}

/** Chat `messages`: objects with a non-empty `role` and a `content` key (null allowed, e.g. tool calls). */
function messagesViolation(messages: readonly unknown[]): string | undefined {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return `invalid field \`messages[${i}]\`: expected an object`;
    const obj = m as Record<string, unknown>;
    const role = fieldViolation(obj, 'role', nonEmptyString, `messages[${i}].role`);
    if (role !== undefined) return role;
    if (!('content' in obj)) return `missing field \`messages[${i}].content\``;
  }
  return undefined;
}
