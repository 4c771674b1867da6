/**
 * Shared helpers for the client-surface tests: OpenAI SSE bodies for a mock upstream, and parsing of SSE replies.
 */
import type { ServerResponse } from 'node:http';

/** Write an OpenAI-style SSE response: one `data:` event per value, then `[DONE]`. */
export function sendSse(res: ServerResponse, events: unknown[], opts: { done?: boolean } = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const e of events) res.write(`data: ${JSON.stringify(e)}\n\n`);
  if (opts.done !== false) res.write('data: [DONE]\n\n');
  res.end();
}

/** A `chat.completion.chunk` with the given delta (and finish reason). */
export function chunk(delta: Record<string, unknown>, finish: string | null = null): Record<string, unknown> {
  return { id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1700000000, model: 'up-model', choices: [{ index: 0, delta, finish_reason: finish }] };
}

/** The usage-only final chunk. */
export function usageChunk(prompt: number, completion: number): Record<string, unknown> {
  return { id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1700000000, model: 'up-model', choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } };
}

/** A non-stream chat completion with tool calls. */
export function toolCompletion(calls: Array<{ id: string; name: string; arguments: string }>): Record<string, unknown> {
  return {
    id: 'chatcmpl-t', object: 'chat.completion', created: 1700000000, model: 'up-model',
    choices: [{
      index: 0, finish_reason: 'tool_calls',
      message: { role: 'assistant', content: null, tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) },
    }],
    usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 },
  };
}

/** Splits an SSE body into events (`event` name, parsed `data`). */
export function parseSse(text: string): Array<{ event: string | undefined; data: unknown }> {
  const out: Array<{ event: string | undefined; data: unknown }> = [];
  for (const block of text.split('\n\n')) {
    if (block.trim() === '') continue;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    out.push({ event, data: JSON.parse(data.join('\n')) as unknown });
  }
  return out;
}
