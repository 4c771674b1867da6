import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VirtualKeyConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { AdminPrincipal } from './auth.js';
import { AdminError } from './http.js';

/** What the admin API needs from the running gateway. */
export interface AdminDeps {
  /** The persistent governance store, or undefined without `--sqlite`/`--redis`. */
  readonly store: Store | undefined;
  /** The virtual keys in effect now (attribution of ledgers to tenants, projects and users). */
  keys(): readonly VirtualKeyConfig[];
  /** The observability redaction applied to audit payloads on read (§4.13, §4.14). */
  redact(payload: Record<string, unknown>): Record<string, unknown>;
  /** A request id for the `x-request-id` response header. */
  requestId(): string;
}

/** One authenticated admin call. */
export interface AdminCall {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: URLSearchParams;
  readonly principal: AdminPrincipal;
  readonly deps: AdminDeps;
  /** Headers every admin response carries (request id). */
  readonly headers: Record<string, string>;
}

/** The persistent store, or 400 `not_configured` (§3.12: audit, ledgers and reap need sqlite/redis). */
export function requireStore(deps: AdminDeps): Store & { kind: 'sqlite' | 'redis' } {
  const s = deps.store;
  if (s === undefined || s.kind === 'memory') {
    throw new AdminError('not_configured', 'this endpoint needs a persistent store (--sqlite or --redis)');
  }
  return s as Store & { kind: 'sqlite' | 'redis' };
}

/** Trimmed attribution id; blank or absent → null (§4.7: blank = none). */
export function attribution(v: string | null | undefined): string | null {
  const t = v?.trim();
  return t === undefined || t === '' ? null : t;
}
