import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdminAuth, presentedAdminToken, type AdminTokenConfig } from './auth.js';
import { listAudit } from './audit.js';
import type { AdminCall, AdminDeps } from './context.js';
import { exportAudit } from './export.js';
import { AdminError, sendJson, toAdminError } from './http.js';
import { listLedgers } from './ledgers.js';
import { reapReservations } from './reap.js';

/** One admin endpoint (§3.12). `write` routes exist only when some token may write; `global` ones refuse tenant tokens. */
interface AdminRoute {
  method: 'GET' | 'POST';
  path: string;
  write: boolean;
  global: boolean;
  handle(c: AdminCall): Promise<void>;
}

const read = (path: string, handle: (c: AdminCall) => Promise<void>): AdminRoute => ({ method: 'GET', path, write: false, global: false, handle });

/** The admin route table. Keys, config, backends and purge arrive with the rest of the admin API. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  read('/admin/audit', listAudit),
  read('/admin/audit/export', exportAudit),
  read('/admin/budgets', (c) => listLedgers(c, 'tokens', 'keys')),
  read('/admin/budgets/tenants', (c) => listLedgers(c, 'tokens', 'tenants')),
  read('/admin/budgets/projects', (c) => listLedgers(c, 'tokens', 'projects')),
  read('/admin/budgets/users', (c) => listLedgers(c, 'tokens', 'users')),
  read('/admin/costs', (c) => listLedgers(c, 'usd', 'keys')),
  read('/admin/costs/tenants', (c) => listLedgers(c, 'usd', 'tenants')),
  read('/admin/costs/projects', (c) => listLedgers(c, 'usd', 'projects')),
  read('/admin/costs/users', (c) => listLedgers(c, 'usd', 'users')),
  { method: 'POST', path: '/admin/reservations/reap', write: true, global: true, handle: reapReservations },
];

/** Handles one `/admin/*` request; `path` is without the query, `query` with its `?` (or empty). */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse, path: string, query: string) => void;

/**
 * The admin API, or undefined when no admin token is configured (then `/admin/*` is a plain 404, §3.12).
 * Order of checks: route (404, or 405 when the path exists for another method), then token (401
 * `invalid admin token`), read-only token on a write route (401), tenant token on a global route (403).
 * Write routes are not mounted at all unless some token may write.
 */
export function createAdminHandler(tokens: AdminTokenConfig, deps: AdminDeps): AdminHandler | undefined {
  const auth = new AdminAuth(tokens);
  if (!auth.enabled) return undefined;
  const routes = ADMIN_ROUTES.filter((r) => !r.write || auth.writeCapable);
  return (req, res, path, query) => {
    const id = requestId(req, deps);
    const headers = { 'x-ditto-request-id': id, 'x-request-id': id };
    const fail = (err: AdminError): void => {
      const h: Record<string, string> = { ...headers, ...err.headers };
      // A body we never read must not be drained on a keep-alive socket.
      if (!req.complete && ((req.headers['content-length'] ?? '0') !== '0' || req.headers['transfer-encoding'] !== undefined)) {
        h['connection'] = 'close';
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, err.status, { error: { code: err.code, message: err.message } }, h);
    };
    const normalized = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const onPath = routes.filter((r) => r.path === normalized);
    const method = req.method === 'HEAD' ? 'GET' : req.method ?? 'GET';
    const route = onPath.find((r) => r.method === method);
    if (!route) {
      if (onPath.length === 0) return fail(new AdminError('not_found', `no admin route for ${req.method ?? 'GET'} ${path}`));
      return fail(new AdminError('method_not_allowed', `method ${req.method ?? 'GET'} not allowed on ${path}`, { allow: onPath.map((r) => r.method).join(', ') }));
    }
    const principal = auth.verify(presentedAdminToken(req.headers));
    if (!principal) return fail(new AdminError('unauthorized', 'invalid admin token'));
    if (route.write && !principal.write) return fail(new AdminError('unauthorized', 'admin token is read-only'));
    if (route.global && principal.tenant !== undefined) {
      return fail(new AdminError('forbidden', 'tenant admin tokens cannot use this endpoint'));
    }
    const call: AdminCall = { req, res, params: new URLSearchParams(query), principal, deps, headers };
    route.handle(call).catch((err: unknown) => fail(toAdminError(err)));
  };
}

function requestId(req: IncomingMessage, deps: AdminDeps): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && given.trim() !== '' ? given.trim() : deps.requestId();
}
