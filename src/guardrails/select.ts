import type { CompiledGuardrails } from './compile.js';

/**
 * The guardrails that apply to one request (CONTRACT §2.4): a matching router rule's `guardrails`
 * (when the rule has the object, even `{}`) replace the key's; a key pinned with `route` skips rules,
 * so its own guardrails apply.
 * @param key the key's compiled guardrails, if it has the object
 * @param rule the matching rule's compiled guardrails, if a rule matched and has the object
 * @param pinned true when the key has a `route` pin
 */
export function selectGuardrails(
  key: CompiledGuardrails | undefined,
  rule: CompiledGuardrails | undefined,
  pinned: boolean,
): CompiledGuardrails | undefined {
  if (pinned) return key;
  return rule ?? key;
}
