/**
 * The fixed traffic of the benchmark: one realistic chat request (~1 KB) and the mock upstream's
 * answers. Shared by the mock (bench/mock-upstream.ts) and the runner, which checks that the gateway
 * relays these bytes unchanged before it measures anything.
 */

/** The virtual key the generated gateway config accepts; also sent on direct runs (the mock ignores it). */
export const BENCH_TOKEN = 'sk-ditto-bench-4f1c2a9e7d3b6a50c8e1';

/** The path every benchmark request uses. */
export const CHAT_PATH = '/v1/chat/completions';

const messages = [
  {
    role: 'system',
    content:
      'You are a concise assistant for an internal engineering team. Answer in plain English, prefer short ' +
      'paragraphs, and say when you are unsure. Never invent API names; if a function does not exist, say so.',
  },
  {
    role: 'user',
    content:
      'We run a Node.js service behind a reverse proxy and see p99 latency spikes every few minutes. The spikes ' +
      'line up with garbage collection pauses in our metrics. What are the first three things you would check, ' +
      'and which runtime flags or heap settings would you try before rewriting any code? Keep it under 150 words.',
  },
];

function chatRequest(stream: boolean): string {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages,
    temperature: 0.2,
    top_p: 1,
    max_tokens: 256,
    presence_penalty: 0,
    frequency_penalty: 0,
    user: 'bench-user-0001',
    metadata: { team: 'platform', purpose: 'latency-benchmark' },
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  });
}

/** The non-streaming request body (~1 KB). */
export const CHAT_BODY = chatRequest(false);
/** The streaming request body; the mock answers SSE when the body says `"stream":true`. */
export const STREAM_BODY = chatRequest(true);

/** The mock's chat.completion answer. */
export const COMPLETION_BODY = JSON.stringify({
  id: 'chatcmpl-bench0000000000000000000001',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{
    index: 0,
    message: {
      role: 'assistant',
      content:
        'Check GC logs with --trace-gc to confirm the pauses, look at heap growth between spikes for a leak or a ' +
        'large cache, and inspect allocation hot spots with a heap profile. Before changing code, try ' +
        '--max-semi-space-size to cut scavenge frequency and size --max-old-space-size to the container.',
      refusal: null,
    },
    logprobs: null,
    finish_reason: 'stop',
  }],
  usage: { prompt_tokens: 162, completion_tokens: 71, total_tokens: 233 },
  system_fingerprint: 'fp_bench0001',
});

/** Headers a real OpenAI answer carries (the gateway copies them, so their count matters). */
export const UPSTREAM_HEADERS: Readonly<Record<string, string>> = {
  'openai-organization': 'org-bench',
  'openai-processing-ms': '412',
  'openai-version': '2020-10-01',
  'x-ratelimit-limit-requests': '10000',
  'x-ratelimit-limit-tokens': '30000000',
  'x-ratelimit-remaining-requests': '9999',
  'x-ratelimit-remaining-tokens': '29999700',
  'x-ratelimit-reset-requests': '6ms',
  'x-ratelimit-reset-tokens': '0s',
  'x-request-id': 'req_bench000000000000000000000001',
};

function sseEvent(content: string | undefined, finish: string | null, usage?: Record<string, number>): string {
  const chunk = {
    id: 'chatcmpl-bench0000000000000000000002',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: usage ? [] : [{ index: 0, delta: content === undefined ? {} : { content }, logprobs: null, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** The first SSE event, sent with the headers; its arrival is what time-to-first-byte measures. */
export const SSE_FIRST = sseEvent('Check', null);
/** The rest of the stream, sent on the next turn of the mock's event loop. */
export const SSE_REST = [' GC', ' logs', ' first', ',', ' then', ' heap', ' growth', '.']
  .map((t) => sseEvent(t, null))
  .join('') + sseEvent(undefined, 'stop') + sseEvent(undefined, null, { prompt_tokens: 162, completion_tokens: 9, total_tokens: 171 }) + 'data: [DONE]\n\n';
