import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';

/** Shared helpers for the governance e2e tests. */

export const TOKEN = 'sk-gov-test-key-0001';

/** A chat request body of a fixed size, and the charge_tokens the gateway computes for it (§3.3 step 6). */
export function chatBody(maxTokens = 10, extra: Record<string, unknown> = {}): { body: string; charge: number } {
  const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: maxTokens, messages: [{ role: 'user', content: 'hello governance' }], ...extra });
  return { body, charge: Math.ceil(Buffer.byteLength(body) / 4) + maxTokens };
}

/** A config with one passthrough backend and one key. */
export function govConfig(baseUrl: string, key: Record<string, unknown>, backend: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backends: [{ name: 'up', base_url: baseUrl, ...backend }],
    virtual_keys: [{ id: 'k1', token: TOKEN, enabled: true, ...key }],
    router: { default_backends: [{ backend: 'up' }] },
  };
}

/** An upstream that answers every chat request with the given usage. */
export async function usageUpstream(usage: (body: Record<string, unknown>) => Record<string, unknown>): Promise<MockUpstream> {
  const up = await startUpstream();
  up.handle((_req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    sendJson(res, 200, {
      id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: json['model'],
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: usage(json),
    });
  });
  return up;
}

/** POST a chat body through the gateway. */
export async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body,
  });
}

/** Wait until `fn` is true (polling on the event loop), or fail after `ms`. */
export async function until(fn: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
