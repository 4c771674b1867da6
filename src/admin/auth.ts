import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The admin tokens in effect, already resolved from `*-env` and `secret://` (CONTRACT §1.2, §1.4). */
export interface AdminTokenConfig {
  adminToken?: string | undefined;
  adminReadToken?: string | undefined;
  adminTenantTokens?: ReadonlyArray<{ tenant: string; token: string }> | undefined;
  adminTenantReadTokens?: ReadonlyArray<{ tenant: string; token: string }> | undefined;
}

/** Who is calling: a global or tenant token, with write access or read-only. */
export interface AdminPrincipal {
  write: boolean;
  /** Set for tenant tokens: they see only records and keys of this tenant. */
  tenant: string | undefined;
}

interface Entry extends AdminPrincipal {
  digest: Buffer;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Admin token check (§3.12): the presented token's SHA-256 is compared with every configured token's
 * SHA-256 in constant time, and every entry is compared whatever matched, so timing reveals neither
 * which token matched nor how much of a guess was right. Precedence when one token is configured twice:
 * global write, global read, tenant write, tenant read.
 */
export class AdminAuth {
  readonly #entries: Entry[] = [];

  constructor(c: AdminTokenConfig) {
    const add = (token: string | undefined, write: boolean, tenant: string | undefined): void => {
      if (token !== undefined && token !== '') this.#entries.push({ digest: digest(token), write, tenant });
    };
    add(c.adminToken, true, undefined);
    add(c.adminReadToken, false, undefined);
    for (const t of c.adminTenantTokens ?? []) add(t.token, true, t.tenant);
    for (const t of c.adminTenantReadTokens ?? []) add(t.token, false, t.tenant);
  }

  /** True when at least one admin token is configured (the admin API is mounted). */
  get enabled(): boolean {
    return this.#entries.length > 0;
  }

  /** True when some token may write (global or tenant): write routes are mounted. */
  get writeCapable(): boolean {
    return this.#entries.some((e) => e.write);
  }

  /** The caller for a presented token, or undefined when it matches no configured token. */
  verify(token: string | undefined): AdminPrincipal | undefined {
    if (token === undefined) return undefined;
    const d = digest(token);
    let found: Entry | undefined;
    for (const e of this.#entries) {
      if (timingSafeEqual(d, e.digest) && found === undefined) found = e;
    }
    return found && { write: found.write, tenant: found.tenant };
  }
}

/** The presented admin token: `Authorization: Bearer <t>`, else `x-admin-token`. Empty counts as absent. */
export function presentedAdminToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization?.trim();
  if (auth !== undefined && /^bearer\s/i.test(auth)) {
    const t = auth.slice(7).trim();
    if (t !== '') return t;
  }
  const x = headers['x-admin-token'];
  const v = (Array.isArray(x) ? x[0] : x)?.trim();
  return v === undefined || v === '' ? undefined : v;
}
