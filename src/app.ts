import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from './errors/gateway-error.js';
import { renderError } from './errors/render.js';
import type { Gateway } from './gateway.js';
import { adminHandlerFor } from './admin/index.js';
import type { ProxyMetrics } from './observability/prometheus.js';
import { RequestContext } from './pipeline/context.js';
import { runPipeline } from './pipeline/run.js';
import { anthropicStages, countTokensStages, finalizers, geminiStages, modelsStages, proxyStages } from './pipeline/stages/index.js';
import { parseGeminiPath } from './surfaces/gemini.js';

/** Paths served without `/v1` and rewritten to `/v1` + path (CONTRACT §3.3). */
const ALIASES = new Set([
  '/chat/completions', '/completions', '/embeddings', '/moderations', '/images/generations',
  '/audio/transcriptions', '/audio/translations', '/audio/speech', '/rerank', '/responses', '/responses/compact',
  '/files', '/batches',
]);
const ALIAS_PREFIXES = ['/files/', '/batches/', '/models/', '/responses/'];

/** Map a request path to its `/v1` proxy path, or undefined when it is not a proxy route. */
export function proxyPath(path: string): string | undefined {
  if (path === '/v1' || path.startsWith('/v1/')) return path;
  if (ALIASES.has(path)) return `/v1${path}`;
  for (const p of ALIAS_PREFIXES) if (path.startsWith(p)) return `/v1${path}`;
  return undefined;
}

/** True when a path has a `.` or `..` segment (raw or percent-encoded): never relayed upstream. */
export function hasDotSegment(path: string): boolean {
  if (!path.includes('/.') && !/%2e/i.test(path)) return false;
  return path.split('/').some((seg) => {
    const s = seg.toLowerCase().replaceAll('%2e', '.');
    return s === '.' || s === '..';
  });
}

/**
 * The route table (CONTRACT §3.1): health and metrics, `GET /v1/models`, and the `/v1/*` proxy.
 * Wiring only; the work happens in the pipeline stages.
 */
export function createHandler(gw: Gateway): (req: IncomingMessage, res: ServerResponse) => void {
  // The admin API exists only when some admin token is set (§3.12); else /admin/* is the plain 404.
  const admin = adminHandlerFor(gw);
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q);
    const method = req.method ?? 'GET';
    switch (path) {
      case '/health':
        if (method === 'GET' || method === 'HEAD') return sendJson(res, 200, { status: 'ok' });
        break;
      case '/ready':
        if (method === 'GET' || method === 'HEAD') return ready(gw, res);
        break;
      case '/metrics':
        if (method === 'GET' || method === 'HEAD') return sendJson(res, 200, gw.counters.snapshot());
        break;
      case '/metrics/prometheus':
        if (method === 'GET') {
          if (gw.telemetry.metrics) return sendPrometheus(gw.telemetry.metrics, res);
          return sendError(gw, req, res, new GatewayError('not_configured', 'prometheus metrics not enabled'), 'ditto');
        }
        break;
      case '/v1/models':
      case '/models':
        if (method === 'GET') {
          return runPipeline(new RequestContext(gw, req, res, '/v1/models', query, 'openai'), modelsStages, finalizers);
        }
        break;
      case '/v1/messages':
      case '/messages':
        if (method === 'POST') {
          return runPipeline(new RequestContext(gw, req, res, '/v1/chat/completions', query, 'anthropic'), anthropicStages, finalizers);
        }
        break;
      case '/v1/messages/count_tokens':
      case '/messages/count_tokens':
        if (method === 'POST') {
          return runPipeline(new RequestContext(gw, req, res, '/v1/messages/count_tokens', query, 'anthropic'), countTokensStages, finalizers);
        }
        break;
    }
    if (method === 'POST' && (path.startsWith('/v1beta/') || path.startsWith('/v1internal:'))) {
      const g = parseGeminiPath(path);
      if (g !== undefined) return runPipeline(new RequestContext(gw, req, res, '/v1/chat/completions', query, 'gemini'), geminiStages(g), finalizers);
    }
    if (admin !== undefined && (path === '/admin' || path.startsWith('/admin/'))) return admin(req, res, path, query);
    const proxy = proxyPath(path);
    if (proxy !== undefined) {
      if (hasDotSegment(proxy)) {
        return sendError(gw, req, res, new GatewayError('invalid_request', 'path may not contain "." or ".." segments'), 'openai');
      }
      return runPipeline(new RequestContext(gw, req, res, proxy, query, 'openai'), proxyStages, finalizers);
    }
    sendError(gw, req, res, new GatewayError('route_not_found', `no route for ${method} ${path}`), 'openai');
  };
}

/** True when the request announced a body that has not been read to the end. */
function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const cl = req.headers['content-length'];
  return (cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function ready(gw: Gateway, res: ServerResponse): void {
  const checks = gw.health?.readyChecks() ?? [];
  const store = gw.store;
  if (store !== undefined) {
    // The governance store answers within its own bounded timeouts (Redis: 1 s).
    store.ping().then(
      () => readyReply(res, [...checks, { name: `store.${store.kind}`, status: 'ok' }]),
      (err: unknown) => readyReply(res, [...checks, { name: `store.${store.kind}`, status: 'error', detail: (err as Error).message }]),
    );
    return;
  }
  readyReply(res, checks);
}

function readyReply(res: ServerResponse, checks: Array<{ name: string; status: 'ok' | 'error'; detail?: string }>): void {
  if (res.destroyed) return;
  // One unhealthy fallback backend must not pull every replica out of rotation: not ready only
  // when no probed backend is healthy, or when the governance store is down.
  const backendChecks = checks.filter((c) => c.name.startsWith('backend.'));
  const ok = (backendChecks.length === 0 || backendChecks.some((c) => c.status === 'ok'))
    && checks.every((c) => !c.name.startsWith('store.') || c.status === 'ok');
  const body: Record<string, unknown> = { status: ok ? 'ready' : 'not_ready' };
  if (checks.length > 0) body['checks'] = checks;
  sendJson(res, ok ? 200 : 503, body);
}

/** The Prometheus exposition (CONTRACT §3.2), text format 0.0.4. */
function sendPrometheus(metrics: ProxyMetrics, res: ServerResponse): void {
  metrics.render().then((text) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }, (err: unknown) => {
    const body = JSON.stringify({ error: { code: 'encode_error', message: `metrics unavailable: ${(err as Error)?.message ?? String(err)}` } });
    res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A local reply outside the pipeline; like every gateway answer it carries the request id (§4.3). */
function sendError(gw: Gateway, req: IncomingMessage, res: ServerResponse, err: GatewayError, surface: 'openai' | 'ditto'): void {
  const r = renderError(err, surface);
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && given.trim() !== '' ? given.trim() : gw.nextRequestId();
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(r.body),
    'x-ditto-request-id': id,
    'x-request-id': id,
    ...r.headers,
  };
  // A body is never read here; close rather than drain it on a keep-alive socket.
  if (hasUnreadBody(req)) headers['connection'] = 'close';
  res.writeHead(r.status, headers);
  res.end(r.body);
}
