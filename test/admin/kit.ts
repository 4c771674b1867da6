import { Writable } from 'node:stream';
import { defaultOptions, type CliOptions } from '../../src/cli/args.js';
import { makeEnvLookup } from '../../src/config/env.js';
import { loadConfigDocument } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import type { Store } from '../../src/store/store.js';

/** Admin tokens used by the admin tests. */
export const WRITE = 'adm-write-token';
export const READ = 'adm-read-token';
export const ACME_WRITE = 'adm-acme-write';
export const ACME_READ = 'adm-acme-read';

/** Every kind of admin token, acme as the tenant. */
export const ALL_TOKENS: Partial<CliOptions> = {
  adminToken: WRITE,
  adminReadToken: READ,
  adminTenantTokens: [{ tenant: 'acme', token: ACME_WRITE }],
  adminTenantReadTokens: [{ tenant: 'acme', token: ACME_READ }],
};

/** Three keys: two of tenant acme (projects web and api), one of tenant beta. */
export const CONFIG = {
  backends: [{ name: 'mocky', provider: 'mock' }],
  virtual_keys: [
    { id: 'k1', token: 'sk-k1-token', tenant_id: 'acme', project_id: 'web', user_id: 'u1' },
    { id: 'k2', token: 'sk-k2-token', tenant_id: 'acme', project_id: 'api', user_id: 'u1' },
    { id: 'k3', token: 'sk-k3-token', tenant_id: 'beta', project_id: 'web' },
  ],
  router: { default_backends: [{ backend: 'mocky' }] },
};

/** A gateway on 127.0.0.1:0 with the given store and options; logs are discarded. */
export async function startAdminGateway(store: Store | undefined, overrides: Partial<CliOptions>, config: unknown = CONFIG): Promise<RunningGateway & { close(): Promise<void> }> {
  const loaded = loadConfigDocument(config, makeEnvLookup(process.env), { upstreams: [] });
  const options: CliOptions = { ...defaultOptions(), listen: { host: '127.0.0.1', port: 0 }, ...overrides };
  const sink = new Writable({ write(_c, _e, cb) { cb(); } });
  const running = await startGateway(loaded.config, options, createLogger({ json: true, destination: sink }), { store });
  return { ...running, close: () => running.shutdown(0) };
}

/** One admin request; returns status, headers and the parsed (or raw) body. */
export async function call(url: string, path: string, init: { token?: string; header?: 'authorization' | 'x-admin-token'; method?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) {
    if (init.header === 'x-admin-token') headers['x-admin-token'] = init.token;
    else headers['authorization'] = `Bearer ${init.token}`;
  }
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json: json as never };
}
