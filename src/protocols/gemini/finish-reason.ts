/**
 * Gemini `finishReason` ⇄ IR finish reason. Gemini reports `STOP` even when the turn ends in function calls, so the
 * caller says whether calls were made. IR → Gemini follows CONTRACT §3.8 (`stop`→`STOP`, `length`→`MAX_TOKENS`,
 * `content_filter`→`SAFETY`, else `STOP`); a Gemini value round-trips exactly through `native`.
 *
 * @see https://ai.google.dev/api/generate-content#FinishReason
 */
import type { IrFinish, IrFinishReason } from '../ir.js';
import { own } from '../util.js';

const TO_IR: Readonly<Record<string, IrFinishReason>> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
  MALFORMED_FUNCTION_CALL: 'error',
  UNEXPECTED_TOOL_CALL: 'error',
  LANGUAGE: 'other',
  OTHER: 'other',
  FINISH_REASON_UNSPECIFIED: 'other',
};

const FROM_IR: Readonly<Record<IrFinishReason, string>> = {
  stop: 'STOP',
  length: 'MAX_TOKENS',
  content_filter: 'SAFETY',
  tool_calls: 'STOP',
  error: 'STOP',
  other: 'STOP',
};

/** Maps a Gemini `finishReason` to the IR; `STOP` with function calls becomes `tool_calls`. */
export function mapFinishReasonToIr(value: string | undefined, hasToolCalls: boolean): IrFinish {
  const v = value ?? 'STOP';
  const reason = own(TO_IR, v) ?? 'other';
  return { reason: reason === 'stop' && hasToolCalls ? 'tool_calls' : reason, native: { protocol: 'gemini', value: v } };
}

/** Maps a prompt-level `promptFeedback.blockReason` (no candidates at all) to the IR. */
export function mapBlockReasonToIr(blockReason: string): IrFinish {
  return { reason: 'content_filter', native: { protocol: 'gemini', value: blockReason === 'SAFETY' ? 'SAFETY' : 'OTHER' } };
}

/** Maps an IR finish to Gemini's `finishReason`. */
export function mapFinishReasonFromIr(finish: IrFinish): string {
  if (finish.native?.protocol === 'gemini') return finish.native.value;
  return FROM_IR[finish.reason];
}
