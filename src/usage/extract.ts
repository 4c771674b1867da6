import type { TokenUsage } from '../pricing/table.js';

/**
 * Read a response's `usage` object (CONTRACT §4.8): OpenAI chat/completions/embeddings
 * (`prompt_tokens`, `completion_tokens`, `total_tokens`, `prompt_tokens_details.cached_tokens`),
 * Responses API (`input_tokens`, `output_tokens`, `input_tokens_details.cached_tokens`) and
 * Anthropic-style cache fields (`cache_read_input_tokens`, `cache_creation_input_tokens`). Returns
 * undefined when there is no usable usage.
 */
export function usageFromObject(u: unknown): TokenUsage | undefined {
  if (u === null || typeof u !== 'object' || Array.isArray(u)) return undefined;
  const o = u as Record<string, unknown>;
  const input = int(o['prompt_tokens']) ?? int(o['input_tokens']);
  const output = int(o['completion_tokens']) ?? int(o['output_tokens']);
  const total = int(o['total_tokens']);
  if (input === undefined && output === undefined && total === undefined) return undefined;
  const details = (o['prompt_tokens_details'] ?? o['input_tokens_details']) as Record<string, unknown> | null | undefined;
  const cached = int(details && typeof details === 'object' ? details['cached_tokens'] : undefined) ?? int(o['cache_read_input_tokens']) ?? 0;
  const creation = int(o['cache_creation_input_tokens']) ?? 0;
  const i = input ?? 0;
  const out = output ?? 0;
  return { input: i, output: out, cachedInput: cached, cacheCreation: creation, total: total ?? i + out };
}

const USAGE_KEY = Buffer.from('"usage"');

/** Usage from a complete JSON response body (`{"usage":{…}}`), or undefined. */
export function usageFromJsonBody(body: Buffer): TokenUsage | undefined {
  // Cheap pre-check: most bodies without usage (files, models) need no parse at all.
  const at = body.lastIndexOf(USAGE_KEY); // a Buffer needle: no string→bytes conversion per call
  if (at < 0) return undefined;
  const fast = topLevelTailUsage(body, at);
  if (fast !== undefined) return fast;
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (v === null || typeof v !== 'object') return undefined;
    const o = v as Record<string, unknown>;
    // Responses API wraps the response in some stream events; plain bodies have usage at the top.
    return usageFromObject(o['usage']) ?? usageFromObject((o['response'] as Record<string, unknown> | undefined)?.['usage']);
  } catch {
    return undefined;
  }
}

/**
 * The fast path for a body whose last `"usage"` is a top-level member (every OpenAI-style answer puts it
 * near the end): parse `{` + the body from there instead of the whole body. Exact: that text is valid JSON
 * only when the match is a key at depth 1 (deeper, the tail holds more closing brackets than the one
 * added opener; inside a string the quote before `usage` would be escaped), and a later duplicate key
 * would have been found first, as `JSON.parse` keeps the last one. Anything else takes the full parse.
 */
function topLevelTailUsage(body: Buffer, at: number): TokenUsage | undefined {
  try {
    const tail = JSON.parse(`{${body.toString('utf8', at)}`) as Record<string, unknown>;
    return usageFromObject(tail['usage']);
  } catch {
    return undefined;
  }
}

function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}
