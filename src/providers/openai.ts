/**
 * `provider: "openai"` and `"openai-compatible"`: the provider speaks the client's protocol, so OpenAI clients are
 * relayed natively on every `/v1/*` endpoint (no IR round trip), with `provider_config` auth, base URL, extra headers
 * and query parameters, `default_model` and `model_whitelist` applied. Other client protocols (Anthropic, Gemini
 * surfaces) reach `/chat/completions` through the IR (`sendIr`).
 *
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
import type { BackendConfig } from '../config/schema.js';
import { TranslationBackend, type BackendDeps, type Dialect } from './translation.js';

const DIALECT: Dialect = {
  protocol: 'openai',
  generateTarget: () => ({ path: '/v1/chat/completions', query: '' }),
  fixedHeaders: {},
  clientHeaders: [],
};

/** Create an `openai` or `openai-compatible` backend. */
export function createOpenAiBackend(config: BackendConfig, deps: BackendDeps, provider: 'openai' | 'openai-compatible'): TranslationBackend {
  return new TranslationBackend(config, provider, DIALECT, deps);
}
