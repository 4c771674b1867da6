/**
 * Anthropic `stop_reason` ⇄ IR finish reason. IR → Anthropic follows CONTRACT §3.7
 * (`content_filter` → `content_filtered`); an Anthropic value round-trips exactly through `native`.
 *
 * @see https://docs.anthropic.com/en/api/messages#response-stop-reason
 * @see https://docs.anthropic.com/en/api/handling-stop-reasons
 */
import type { IrFinish, IrFinishReason } from '../ir.js';
import { own } from '../util.js';

const TO_IR: Readonly<Record<string, IrFinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'other',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

const FROM_IR: Readonly<Record<IrFinishReason, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'content_filtered',
  error: 'end_turn',
  other: 'end_turn',
};

/** Maps Anthropic `stop_reason` (+ `stop_sequence`) to the IR, keeping the exact value. */
export function mapFinishReasonToIr(stopReason: string | null | undefined, stopSequence?: string | null): IrFinish {
  const v = stopReason ?? 'end_turn';
  const f: IrFinish = { reason: own(TO_IR, v) ?? 'other', native: { protocol: 'anthropic', value: v } };
  if (typeof stopSequence === 'string') f.stopSequence = stopSequence;
  return f;
}

/** Maps an IR finish to Anthropic's `stop_reason` and `stop_sequence`. */
export function mapFinishReasonFromIr(finish: IrFinish): { stopReason: string; stopSequence: string | null } {
  const stopSequence = finish.stopSequence ?? null;
  if (finish.native?.protocol === 'anthropic') return { stopReason: finish.native.value, stopSequence };
  if (finish.reason === 'stop' && stopSequence !== null) return { stopReason: 'stop_sequence', stopSequence };
  return { stopReason: FROM_IR[finish.reason], stopSequence };
}
