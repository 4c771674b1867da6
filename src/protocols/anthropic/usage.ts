/**
 * Anthropic `usage` ⇄ IR usage. Anthropic's `input_tokens` excludes cache reads and writes, which it reports
 * separately; the IR total includes them. Anthropic does not split reasoning out of `output_tokens`.
 *
 * @see https://docs.anthropic.com/en/api/messages#response-usage
 * @see https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance
 */
import type { IrUsage } from '../ir.js';
import { compact, inputTotal, num, outputTotal, type JsonObject } from '../util.js';

/** Converts an Anthropic usage object to the IR, keeping `raw`. */
export function convertUsageToIr(raw: JsonObject): IrUsage {
  const input = num(raw['input_tokens']);
  const cacheRead = num(raw['cache_read_input_tokens']);
  const cacheWrite = num(raw['cache_creation_input_tokens']);
  const output = num(raw['output_tokens']);
  const total = input === undefined && cacheRead === undefined && cacheWrite === undefined
    ? undefined
    : (input ?? 0) + (cacheRead ?? 0) + (cacheWrite ?? 0);
  return {
    inputTokens: compact({ total, noCache: input, cacheRead, cacheWrite }),
    outputTokens: compact({ total: output }),
    raw,
  };
}

/** Merges a `message_delta` usage (cumulative; may omit the input side) over the `message_start` usage. */
export function mergeUsage(start: JsonObject | undefined, delta: JsonObject): JsonObject {
  const out: JsonObject = { ...start };
  for (const [k, v] of Object.entries(delta)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

/** Renders IR usage as Anthropic `usage`. */
export function convertUsageFromIr(u: IrUsage): JsonObject {
  const i = u.inputTokens;
  const cacheRead = i.cacheRead ?? 0;
  const cacheWrite = i.cacheWrite ?? 0;
  const noCache = i.noCache ?? Math.max(0, inputTotal(u) - cacheRead - cacheWrite);
  return {
    input_tokens: noCache,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    output_tokens: outputTotal(u),
  };
}
