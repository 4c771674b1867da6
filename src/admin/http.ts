import type { IncomingMessage, ServerResponse } from 'node:http';
import { StoreError, isStoreUnavailable } from '../store/errors.js';

/**
 * Admin API errors, in Ditto's wire format `{"error":{"code","message"}}` (CONTRACT §3.12). They live
 * here rather than in `errors/catalog.ts` because the admin surface gives some codes other statuses
 * than the proxy does (`not_configured` is 400 here, 404 on `/metrics/prometheus`).
 */
export const ADMIN_ERRORS = {
  invalid_request: 400,
  not_configured: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  storage_error: 500,
  store_unavailable: 503,
} as const;

export type AdminErrorCode = keyof typeof ADMIN_ERRORS;

/** A local admin reply: thrown by handlers, rendered by the router. */
export class AdminError extends Error {
  readonly code: AdminErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(code: AdminErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'AdminError';
    this.code = code;
    this.status = ADMIN_ERRORS[code];
    this.headers = headers;
  }
}

/**
 * Map any handler failure to an admin error: store outages are 503 `store_unavailable` naming the store,
 * other store failures 500 `storage_error`; anything else is a bug and says nothing about internals.
 */
export function toAdminError(err: unknown): AdminError {
  if (err instanceof AdminError) return err;
  if (isStoreUnavailable(err)) return new AdminError('store_unavailable', err.message);
  if (err instanceof StoreError) return new AdminError('storage_error', `${err.store} store error`);
  return new AdminError('storage_error', 'internal error');
}

/** Send a JSON body. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON.stringify(value), { 'content-type': 'application/json', ...headers });
}

/** Send a complete text body with its length. */
export function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** An optional integer query parameter within [min, max]; absent → `def`; anything else → 400. */
export function intParam(params: URLSearchParams, name: string, def: number | undefined, min: number, max: number): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw.trim() === '') return def;
  const t = raw.trim();
  const n = Number(t);
  if (!/^-?\d+$/.test(t) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new AdminError('invalid_request', `invalid ${name}: expected an integer between ${min} and ${max}`);
  }
  return n;
}

/** Largest admin request body read (reap takes three fields). */
const MAX_BODY_BYTES = 64 * 1024;

/** Read a JSON object body; empty → `{}`; unparseable, oversized or not an object → 400. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AdminError('invalid_request', `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AdminError('invalid_request', 'request body is not valid JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new AdminError('invalid_request', 'request body must be a JSON object');
  return v as Record<string, unknown>;
}
