import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderMap } from './types.js';

/**
 * Client headers never sent upstream (CONTRACT §3.3): credentials, hop-by-hop, gateway controls,
 * plus `host` (the upstream's own is used) and `expect` (undici refuses it).
 */
const STRIP_REQUEST = new Set([
  'authorization', 'x-api-key', 'x-litellm-api-key', 'proxy-authorization', 'x-forwarded-authorization',
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'x-ditto-virtual-key', 'x-ditto-protocol', 'x-ditto-cache-bypass', 'x-ditto-bypass-cache', 'x-ditto-skip-mcp',
  'content-length', 'host', 'expect', 'x-request-id',
]);

/** Response headers not relayed to the client (hop-by-hop). */
const STRIP_RESPONSE = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/**
 * Header names a `Connection` header lists as hop-by-hop for this connection (RFC 9110 §7.6.1); a
 * proxy removes them too. Undefined when it lists nothing beyond `keep-alive`/`close`, the common case.
 */
function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  // The common values, without splitting: what HTTP/1.1 clients and upstreams send on every request.
  if (typeof value === 'string') {
    const v = value.length <= 10 ? value.toLowerCase() : '';
    if (v === 'keep-alive' || v === 'close') return undefined;
  }
  let listed: Set<string> | undefined;
  for (const v of Array.isArray(value) ? value : [value]) {
    for (const token of v.split(',')) {
      const name = token.trim().toLowerCase();
      if (name === '' || name === 'keep-alive' || name === 'close') continue;
      (listed ??= new Set()).add(name);
    }
  }
  return listed;
}

/** Client headers minus the stripped ones; the base every attempt's headers start from. */
export function sanitizeRequestHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = connectionListed(headers['connection']);
  for (const name in headers) {
    if (STRIP_REQUEST.has(name) || listed?.has(name)) continue;
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** The headers of one attempt: sanitised client headers, backend headers (overwrite), `x-request-id`. */
export function attemptHeaders(
  base: Record<string, string | string[]>,
  backendHeaders: Readonly<Record<string, string>>,
  requestId: string,
): Record<string, string | string[]> {
  const out = { ...base };
  for (const name in backendHeaders) out[name] = backendHeaders[name] as string;
  out['x-request-id'] = requestId;
  return out;
}

/** Upstream response headers minus hop-by-hop ones (fixed and `Connection`-listed), ready for the client. */
export function relayResponseHeaders(headers: HeaderMap): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = connectionListed(headers['connection']);
  for (const name in headers) {
    if (STRIP_RESPONSE.has(name) || listed?.has(name)) continue;
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}
