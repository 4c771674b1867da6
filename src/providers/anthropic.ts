/**
 * `provider: "anthropic"`: the Messages API (`POST /v1/messages`, `x-api-key` + `anthropic-version`; the key header is
 * set by auth resolution, see `config.ts`). Streaming is a body flag, so one endpoint serves both.
 *
 * @see https://docs.anthropic.com/en/api/messages
 * @see https://docs.anthropic.com/en/api/versioning
 */
import type { BackendConfig } from '../config/schema.js';
import { TranslationBackend, type BackendDeps, type Dialect } from './translation.js';

/** The API version sent unless `provider_config.http_headers` sets `anthropic-version`. */
export const ANTHROPIC_VERSION = '2023-06-01';

const DIALECT: Dialect = {
  protocol: 'anthropic',
  generateTarget: () => ({ path: '/v1/messages', query: '' }),
  fixedHeaders: { 'anthropic-version': ANTHROPIC_VERSION },
  clientHeaders: ['anthropic-beta'],
};

/** Create an Anthropic backend. */
export function createAnthropicBackend(config: BackendConfig, deps: BackendDeps): TranslationBackend {
  return new TranslationBackend(config, 'anthropic', DIALECT, deps);
}
