/**
 * Gemini `usageMetadata` ⇄ IR usage. `promptTokenCount` includes `cachedContentTokenCount`;
 * `candidatesTokenCount` excludes `thoughtsTokenCount`; `toolUsePromptTokenCount` is billed as input.
 *
 * @see https://ai.google.dev/api/generate-content#UsageMetadata
 */
import type { IrUsage } from '../ir.js';
import { compact, inputTotal, num, outputTotal, type JsonObject } from '../util.js';

/** Converts Gemini `usageMetadata` to the IR, keeping `raw`. */
export function convertUsageToIr(raw: JsonObject): IrUsage {
  const prompt = num(raw['promptTokenCount']);
  const toolUse = num(raw['toolUsePromptTokenCount']);
  const cached = num(raw['cachedContentTokenCount']);
  const candidates = num(raw['candidatesTokenCount']);
  const thoughts = num(raw['thoughtsTokenCount']);
  const input = prompt === undefined && toolUse === undefined ? undefined : (prompt ?? 0) + (toolUse ?? 0);
  const output = candidates === undefined && thoughts === undefined ? undefined : (candidates ?? 0) + (thoughts ?? 0);
  return {
    inputTokens: compact({ total: input, noCache: input !== undefined ? input - (cached ?? 0) : undefined, cacheRead: cached }),
    outputTokens: compact({ total: output, text: candidates ?? (output !== undefined ? output - (thoughts ?? 0) : undefined), reasoning: thoughts }),
    raw,
  };
}

/** Renders IR usage as Gemini `usageMetadata`. */
export function convertUsageFromIr(u: IrUsage): JsonObject {
  const input = inputTotal(u);
  const output = outputTotal(u);
  const reasoning = u.outputTokens.reasoning;
  const out: JsonObject = {
    promptTokenCount: input,
    candidatesTokenCount: u.outputTokens.text ?? output - (reasoning ?? 0),
    totalTokenCount: input + output,
  };
  if (u.inputTokens.cacheRead !== undefined) out['cachedContentTokenCount'] = u.inputTokens.cacheRead;
  if (reasoning !== undefined) out['thoughtsTokenCount'] = reasoning;
  return out;
}
