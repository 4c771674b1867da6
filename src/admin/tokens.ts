import { expandValue, ExpandError, type EnvLookup } from '../config/env.js';
import type { AdminTokenConfig } from './auth.js';

/** Admin token flags as parsed, before env and secret resolution (CONTRACT §1.2). */
export interface AdminTokenFlags {
  adminToken: string | undefined;
  adminTokenEnv: string | undefined;
  adminReadToken: string | undefined;
  adminReadTokenEnv: string | undefined;
  adminTenantTokens: ReadonlyArray<{ tenant: string; token: string }>;
  adminTenantTokenEnvs: ReadonlyArray<{ tenant: string; env: string }>;
  adminTenantReadTokens: ReadonlyArray<{ tenant: string; token: string }>;
  adminTenantReadTokenEnvs: ReadonlyArray<{ tenant: string; env: string }>;
}

/** A fatal admin token problem; the message is the contract's (§1.3). */
export class AdminTokenError extends Error {}

/**
 * Resolve the admin token flags (startup step "`*-env` + `secret://` flag values", §1.4): `*-env` flags
 * read the named variable (dotenv first, then the process env), and any value may be a `secret://`
 * reference. `rawEnv` tells a blank variable (`<flag> is empty: ENV`) from a missing one.
 */
export function resolveAdminTokens(f: AdminTokenFlags, lookup: EnvLookup, rawEnv: NodeJS.ProcessEnv): Required<AdminTokenConfig> {
  const fromEnv = (flag: string, name: string): string => {
    const v = lookup(name);
    if (v === undefined) {
      if (rawEnv[name] !== undefined) throw new AdminTokenError(`${flag} is empty: ${name}`);
      throw new AdminTokenError(`missing env var for ${flag}: ${name}`);
    }
    return secret(flag, v);
  };
  const secret = (flag: string, value: string): string => {
    let v = value;
    if (value.trim().startsWith('secret://')) {
      try {
        v = expandValue(value, flag, lookup);
      } catch (err) {
        if (err instanceof ExpandError) throw new AdminTokenError(err.message);
        throw err;
      }
    }
    const t = v.trim();
    if (t === '') throw new AdminTokenError(`${flag} resolved to an empty value`);
    return t;
  };
  const one = (flag: string, value: string | undefined, envFlag: string, env: string | undefined): string | undefined => {
    if (value !== undefined) return secret(flag, value);
    if (env !== undefined) return fromEnv(envFlag, env);
    return undefined;
  };
  return {
    adminToken: one('--admin-token', f.adminToken, '--admin-token-env', f.adminTokenEnv),
    adminReadToken: one('--admin-read-token', f.adminReadToken, '--admin-read-token-env', f.adminReadTokenEnv),
    adminTenantTokens: [
      ...f.adminTenantTokens.map((t) => ({ tenant: t.tenant, token: secret('--admin-tenant-token', t.token) })),
      ...f.adminTenantTokenEnvs.map((t) => ({ tenant: t.tenant, token: fromEnv('--admin-tenant-token-env', t.env) })),
    ],
    adminTenantReadTokens: [
      ...f.adminTenantReadTokens.map((t) => ({ tenant: t.tenant, token: secret('--admin-tenant-read-token', t.token) })),
      ...f.adminTenantReadTokenEnvs.map((t) => ({ tenant: t.tenant, token: fromEnv('--admin-tenant-read-token-env', t.env) })),
    ],
  };
}
