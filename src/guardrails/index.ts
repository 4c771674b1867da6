/**
 * Guardrails (CONTRACT §2.3, §2.4, §4.12): compile a `guardrails` object once at load, then check
 * each request synchronously in the contract's order. See README.md in this folder.
 */
export {
  compileGuardrails, validateGuardrailsConfig, GuardrailsConfigError, NO_GUARDRAILS,
  type CompiledGuardrails, type ModelPattern,
} from './compile.js';
export { checkGuardrails, type GuardrailFacts, type GuardrailRejection } from './check.js';
export { selectGuardrails } from './select.js';
