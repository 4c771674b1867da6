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

/** Client headers minus the stripped ones; the base every attempt's headers start from. */
export function sanitizeRequestHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (STRIP_REQUEST.has(name)) continue;
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

/** Upstream response headers minus hop-by-hop ones, ready for the client. */
export function relayResponseHeaders(headers: HeaderMap): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (STRIP_RESPONSE.has(name)) continue;
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}
