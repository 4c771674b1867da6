/**
 * OpenAI `finish_reason` ⇄ IR finish reason.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
 */
import type { IrFinish, IrFinishReason } from '../ir.js';
import { own } from '../util.js';

const TO_IR: Readonly<Record<string, IrFinishReason>> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
};

const FROM_IR: Readonly<Record<IrFinishReason, string>> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  content_filter: 'content_filter',
  error: 'stop',
  other: 'stop',
};

/** Maps an OpenAI `finish_reason` to the IR, keeping the exact value. */
export function mapFinishReasonToIr(value: string | null | undefined): IrFinish {
  const v = value ?? 'stop';
  return { reason: own(TO_IR, v) ?? 'other', native: { protocol: 'openai', value: v } };
}

/** Maps an IR finish to OpenAI's `finish_reason` (the exact value when it came from OpenAI). */
export function mapFinishReasonFromIr(finish: IrFinish): string {
  if (finish.native?.protocol === 'openai') return finish.native.value;
  return FROM_IR[finish.reason];
}
