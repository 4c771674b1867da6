/**
 * Shared helpers for the guardrails end-to-end tests: an SDK call that returns either the answer or
 * the gateway's refusal, the `/metrics` counter, and the `proxy.blocked` events written so far.
 */
import assert from 'node:assert/strict';
import { APIError } from 'openai';
import type OpenAI from 'openai';
import type { TestGateway } from '../helpers/gateway.js';

/** What a refused SDK call carried. */
export interface Refusal {
  status: number;
  code: string | null | undefined;
  type: string | undefined;
  message: string;
}

/** Run an SDK call; return `ok` or the refusal's status, code, type and message. */
export async function outcome(call: () => Promise<unknown>): Promise<'ok' | Refusal> {
  try {
    await call();
    return 'ok';
  } catch (err) {
    if (!(err instanceof APIError)) throw err;
    const body = err.error as { message?: string; type?: string } | undefined;
    return { status: err.status ?? 0, code: err.code, type: body?.type, message: body?.message ?? '' };
  }
}

/** Assert a 403 `guardrail_rejected` refusal with `guardrail rejected: <reason>`. */
export function assertRejected(r: 'ok' | Refusal, reason: string): void {
  assert.notEqual(r, 'ok', `expected a refusal with ${reason}`);
  assert.deepEqual(r, { status: 403, code: 'guardrail_rejected', type: 'policy_error', message: `guardrail rejected: ${reason}` });
}

/** A chat call with one user message. */
export function chat(client: OpenAI, content: string, model = 'gpt-4o-mini'): () => Promise<unknown> {
  return () => client.chat.completions.create({ model, messages: [{ role: 'user', content }] });
}

/** `guardrail_blocked` from `GET /metrics`. */
export async function blockedCount(gw: TestGateway): Promise<number> {
  const res = await fetch(`${gw.url}/metrics`);
  const m = (await res.json()) as Record<string, number>;
  return m['guardrail_blocked'] ?? Number.NaN;
}

/** Wait (bounded) until a `proxy.blocked` event for `reason` has been logged, and return it. */
export async function blockedEvent(gw: TestGateway, reason: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const e = gw.events().find((x) => x.event === 'proxy.blocked' && x.payload['reason'] === reason);
    if (e) return e.payload;
    if (Date.now() > deadline) assert.fail(`no proxy.blocked event with reason ${reason}`);
    await new Promise((r) => setImmediate(r));
  }
}
