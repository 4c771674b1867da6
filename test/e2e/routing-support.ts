import { createServer } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { orderCandidates } from '../../src/routing/router.js';
import type { TestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream, type SeenRequest } from '../helpers/upstream.js';

/** The virtual key every routing/resilience test uses. */
export const TOKEN = 'sk-test-routing-key';
export const KEY = { id: 'k1', token: TOKEN };

/** How one named backend of a {@link Fleet} answers. */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, body: Buffer, seen: SeenRequest) => void | Promise<void>;

/**
 * Several backends served by one mock upstream, told apart by the first path segment
 * (`base_url = <url>/<name>/v1`), so a test can count the hits per backend and program each one.
 */
export interface Fleet {
  readonly up: MockUpstream;
  /** `base_url` for a backend name. */
  base(name: string): string;
  /** Passthrough backend config for a name (extra fields merged in). */
  backend(name: string, extra?: Record<string, unknown>): Record<string, unknown>;
  /** Requests this backend received (optionally only those whose path ends with `suffix`). */
  hits(name: string, suffix?: string): SeenRequest[];
  /** The backend names in the order the upstream saw requests. */
  order(): string[];
  behave(name: string, fn: Behaviour): void;
  close(): Promise<void>;
}

/** Start a {@link Fleet}; every backend answers a chat completion naming itself until told otherwise. */
export async function startFleet(): Promise<Fleet> {
  const up = await startUpstream();
  const behaviours = new Map<string, Behaviour>();
  const nameOf = (url: string): string => url.split('/')[1] ?? '';
  up.handle((req, res, body, seen) => {
    const name = nameOf(seen.url);
    const fn = behaviours.get(name);
    if (fn) return fn(req, res, body, seen);
    sendJson(res, 200, chatCompletion(`hello from ${name}`));
    return undefined;
  });
  return {
    up,
    base: (name) => `${up.url}/${name}/v1`,
    backend: (name, extra = {}) => ({ name, base_url: `${up.url}/${name}/v1`, ...extra }),
    hits: (name, suffix) => up.requests.filter((r) => nameOf(r.url) === name && (suffix === undefined || r.url.split('?')[0]?.endsWith(suffix))),
    order: () => up.requests.map((r) => nameOf(r.url)),
    behave: (name, fn) => { behaviours.set(name, fn); },
    close: () => up.close(),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** The first request id `<prefix>-<n>` whose §4.4 order puts `primary` first. */
export function idForPrimary(cands: ReadonlyArray<{ backend: string; weight: number }>, primary: string, prefix = 'rid'): string {
  for (let i = 0; i < 10_000; i++) {
    const id = `${prefix}-${i}`;
    if (orderCandidates(cands, id)[0] === primary) return id;
  }
  throw new Error(`no request id makes ${primary} the primary`);
}

/** A parsed gateway answer. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json(): { error?: { code?: string; message?: string; type?: string } } & Record<string, unknown>;
}

/** POST a chat completion through the gateway with the test key. */
export async function chat(gw: TestGateway, model: string, headers: Record<string, string> = {}, method = 'POST'): Promise<Answer> {
  const init: RequestInit = {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
  };
  if (method !== 'GET' && method !== 'HEAD') init.body = JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });
  const path = method === 'GET' ? `/v1/models/${encodeURIComponent(model)}` : '/v1/chat/completions';
  const r = await fetch(`${gw.url}${path}`, init);
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) as ReturnType<Answer['json']> };
}

/** Resolves after `ms` (only for waits that no event can replace, e.g. a breaker cooldown). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `check` every 20 ms until it returns true; rejects after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A gate: `wait()` resolves once `open()` was called. */
export function gate(): { wait: () => Promise<void>; open: () => void } {
  let open!: () => void;
  const p = new Promise<void>((resolve) => { open = resolve; });
  return { wait: () => p, open };
}

/** A gateway log event. */
export type LogEvent = ReturnType<TestGateway['events']>[number];

/**
 * The first log event named `name` for request `id`, waiting for it: the access event is written by a
 * finalizer when the response closes, which can be after the client already has the whole response.
 */
export async function eventFor(gw: TestGateway, name: string, id: string | null, timeoutMs = 5000): Promise<LogEvent> {
  const find = (): LogEvent | undefined => gw.events().find((e) => e.event === name && e.payload['request_id'] === id);
  await until(() => find() !== undefined, timeoutMs, `${name} for ${id}`);
  return find() as LogEvent;
}
