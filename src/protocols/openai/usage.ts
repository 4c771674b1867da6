/**
 * OpenAI `usage` ⇄ IR usage. `prompt_tokens` includes `prompt_tokens_details.cached_tokens`;
 * `completion_tokens` includes `completion_tokens_details.reasoning_tokens`.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage
 */
import type { IrUsage } from '../ir.js';
import { compact, inputTotal, isRecord, num, outputTotal, type JsonObject } from '../util.js';

/** Converts an OpenAI usage object (already known to be an object) to the IR, keeping `raw`. */
export function convertUsageToIr(raw: JsonObject): IrUsage {
  const prompt = num(raw['prompt_tokens']);
  const completion = num(raw['completion_tokens']);
  const pd = raw['prompt_tokens_details'];
  const cd = raw['completion_tokens_details'];
  const cached = isRecord(pd) ? num(pd['cached_tokens']) : undefined;
  const reasoning = isRecord(cd) ? num(cd['reasoning_tokens']) : undefined;
  return {
    inputTokens: compact({
      total: prompt,
      noCache: prompt !== undefined ? prompt - (cached ?? 0) : undefined,
      cacheRead: cached,
    }),
    outputTokens: compact({
      total: completion,
      text: completion !== undefined ? completion - (reasoning ?? 0) : undefined,
      reasoning,
    }),
    raw,
  };
}

/** Renders IR usage as OpenAI `usage`. Cache writes are counted in `prompt_tokens` and, when any, in `cache_creation_input_tokens`. */
export function convertUsageFromIr(u: IrUsage): JsonObject {
  const prompt = inputTotal(u);
  const completion = outputTotal(u);
  const out: JsonObject = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (u.inputTokens.cacheRead !== undefined) out['prompt_tokens_details'] = { cached_tokens: u.inputTokens.cacheRead };
  if (u.outputTokens.reasoning !== undefined) out['completion_tokens_details'] = { reasoning_tokens: u.outputTokens.reasoning };
  // Prompt-cache writes have no OpenAI field; LiteLLM's `cache_creation_input_tokens` extension carries them, so cost
  // settlement (CONTRACT §4.9) can price them at the cache-write rate.
  const w = u.inputTokens.cacheWrite;
  if (w !== undefined && w > 0) out['cache_creation_input_tokens'] = w;
  return out;
}
