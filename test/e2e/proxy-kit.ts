/**
 * Shared fixtures for the proxy, auth, bad-input and mock end-to-end tests: a recognisable virtual
 * key, an `openai` SDK client pointed at a gateway, a raw HTTP client for exact header/byte control,
 * and a leak check over everything a mock upstream recorded.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import OpenAI from 'openai';
import type { SeenRequest } from '../helpers/upstream.js';

/** A virtual key token distinctive enough to search for in anything an upstream saw. */
export const VK_TOKEN = 'sk-vk-e2e-7f3c9a1d5b2e4f60';
export const VK_ID = 'team-e2e';

/** A minimal config: one passthrough backend `primary` at `baseUrl`, one key, default route. */
export function passthroughConfig(baseUrl: string, backend: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backends: [{ name: 'primary', base_url: baseUrl, ...backend }],
    virtual_keys: [{ id: VK_ID, token: VK_TOKEN }],
    router: { default_backends: [{ backend: 'primary' }] },
  };
}

/** The real `openai` SDK pointed at a gateway, with retries off. */
export function sdk(gatewayUrl: string, apiKey: string = VK_TOKEN, extra: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}): OpenAI {
  return new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey, maxRetries: 0, timeout: 60_000, ...extra });
}

/** A raw HTTP response. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header names and values in wire order, as received. */
  rawHeaders: string[];
  body: Buffer;
}

/**
 * One request over a fresh connection with node:http, so hop-by-hop and odd headers go out as given
 * (fetch would refuse or rewrite them).
 */
export function raw(url: string, opts: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer | string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // The path goes out exactly as written: `new URL()` would resolve `..` and `.` segments.
    const m = /^(https?:\/\/[^/?#]+)(.*)$/.exec(url);
    if (!m) throw new Error(`not an absolute URL: ${url}`);
    const origin = new URL(m[1] as string);
    const path = m[2] === '' ? '/' : (m[2] as string);
    const req = httpRequest({
      host: origin.hostname, port: origin.port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Parse a JSON response body. */
export function jsonOf(r: { body: Buffer }): Record<string, unknown> {
  return JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
}

/** The `error` object of an OpenAI-shaped error body. */
export function errorOf(r: { body: Buffer }): { message: string; type: string; code?: string; param?: string } {
  const e = jsonOf(r)['error'];
  assert.ok(e && typeof e === 'object', `expected an error body, got ${r.body.toString('utf8')}`);
  return e as { message: string; type: string; code?: string; param?: string };
}

/** Assert that no recorded upstream request carries `secret` in its URL, headers or body. */
export function assertNoLeak(requests: readonly SeenRequest[], secret: string = VK_TOKEN): void {
  assert.ok(requests.length > 0, 'expected at least one upstream request to inspect');
  for (const r of requests) {
    assert.ok(!r.url.includes(secret), `virtual key leaked in URL ${r.url}`);
    for (const [name, value] of Object.entries(r.headers)) {
      const values = Array.isArray(value) ? value : [value ?? ''];
      for (const v of values) assert.ok(!v.includes(secret), `virtual key leaked in header ${name}`);
    }
    assert.ok(!r.body.includes(Buffer.from(secret)), 'virtual key leaked in body');
  }
}

/** GET /health answers 200 `{"status":"ok"}`: the process is alive and serving. */
export async function assertHealthy(gatewayUrl: string): Promise<void> {
  const r = await raw(`${gatewayUrl}/health`);
  assert.equal(r.status, 200);
  assert.deepEqual(jsonOf(r), { status: 'ok' });
}

/** Await a promise that must reject with an instance of `cls`; returns the error. */
export async function rejectsWith<T extends Error>(p: Promise<unknown>, cls: abstract new (...args: never[]) => T): Promise<T> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    return err;
  }
  assert.fail(`expected ${cls.name} to be thrown`);
}

/**
 * Wait until `cond()` holds, checking on each timer tick (for state the gateway updates when a
 * socket closes, which no client-visible event marks). Fails after `timeoutMs`.
 */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
  }
}
