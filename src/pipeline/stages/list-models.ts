import { GatewayError } from '../../errors/gateway-error.js';
import { orderCandidates } from '../../routing/router.js';
import { PassthroughBackend } from '../../upstream/passthrough.js';
import type { Backend, ModelEntry } from '../../upstream/types.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../run.js';

const LIST_TIMEOUT_MS = 10_000;
const LIST_MAX_BYTES = 4 * 1024 * 1024;

/**
 * `GET /v1/models` (CONTRACT §3.4): every passthrough backend the key may use is asked concurrently;
 * failures are skipped, lists merged by id (first wins); translation backends add the models the
 * router would send them for this key. Sorted by id.
 */
export const listModels: Stage = {
  name: 'list_models',
  async run(ctx: RequestContext): Promise<void> {
    const gw = ctx.gw;
    const pinned = ctx.key?.config.route ?? undefined;
    const backends: Backend[] = pinned ? [gw.backends.get(pinned)].filter((b): b is Backend => b !== undefined) : [...gw.backends.values()];
    if (pinned && backends.length === 0) throw new GatewayError('backend_not_found', `route backend "${pinned}" not found`);
    const proxies = backends.filter((b): b is PassthroughBackend => b instanceof PassthroughBackend);
    const lists = await Promise.all(proxies.map((b) => fetchModels(ctx, b)));
    const byId = new Map<string, Record<string, unknown>>();
    for (const list of lists) for (const m of list ?? []) if (!byId.has(m['id'] as string)) byId.set(m['id'] as string, m);
    for (const b of backends) {
      if (b.kind !== 'translation') continue;
      for (const id of translationModels(b)) {
        if (byId.has(id)) continue;
        if (pinned || reachable(ctx, id, b.name)) byId.set(id, { id, object: 'model', created: 0, owned_by: b.name } satisfies ModelEntry);
      }
    }
    if (byId.size === 0) {
      if (proxies.length === 0) throw new GatewayError('backend_not_found', 'no backend lists models for this key');
      throw new GatewayError('backend_error', 'all upstream /v1/models requests failed');
    }
    const data = [...byId.values()].sort((a, b) => ((a['id'] as string) < (b['id'] as string) ? -1 : 1));
    const body = JSON.stringify({ object: 'list', data });
    ctx.status = 200;
    ctx.outcome = 'relayed';
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-ditto-request-id': ctx.id,
      'x-request-id': ctx.id,
    };
    // CONTRACT §3.6: a list served by one translation backend names it (the backend name, not the provider id).
    if (pinned && backends[0]?.kind === 'translation') headers['x-ditto-translation'] = pinned;
    ctx.res.writeHead(200, headers);
    ctx.res.end(body);
  },
};

function translationModels(b: Backend): string[] {
  const own = b.ownModels?.() ?? [];
  const mapped = Object.keys(b.modelMap).filter((k) => k !== '*');
  return [...mapped, ...own, ...own.map((m) => `${b.name}/${m}`)];
}

function reachable(ctx: RequestContext, model: string, backend: string): boolean {
  const m = ctx.gw.router.match(model);
  return orderCandidates(m.candidates, model).includes(backend);
}

async function fetchModels(ctx: RequestContext, b: PassthroughBackend): Promise<Array<Record<string, unknown>> | undefined> {
  const signal = AbortSignal.any([ctx.abort.signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]);
  try {
    ctx.gw.counters.backend_calls++;
    const res = await b.send({
      method: 'GET', path: '/v1/models', query: '', headers: {}, body: undefined, json: undefined,
      requestId: ctx.id, signal, contentLength: undefined,
    });
    if (Buffer.isBuffer(res.body)) return parseList(res.status, res.body);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res.body) {
      size += (c as Buffer).length;
      if (size > LIST_MAX_BYTES) {
        res.body.destroy();
        return undefined;
      }
      chunks.push(c as Buffer);
    }
    return parseList(res.status, Buffer.concat(chunks));
  } catch {
    return undefined;
  }
}

function parseList(status: number, body: Buffer): Array<Record<string, unknown>> | undefined {
  if (status < 200 || status >= 300) return undefined;
  try {
    const v = JSON.parse(body.toString('utf8')) as { data?: unknown };
    if (!Array.isArray(v.data)) return undefined;
    return v.data.filter((m): m is Record<string, unknown> => !!m && typeof m === 'object' && typeof (m as { id?: unknown }).id === 'string');
  } catch {
    return undefined;
  }
}
