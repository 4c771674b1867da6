/**
 * Provider id → backend factory: the only place that names a vendor module (STYLE §3.1). The id list itself lives in
 * `config.ts` (`PROVIDER_IDS`, used by config validation); the `Record` type below keeps the two in step.
 */
import type { BackendConfig } from '../config/schema.js';
import type { Backend } from '../upstream/types.js';
import { createAnthropicBackend } from './anthropic.js';
import type { ProviderId } from './config.js';
import { createGoogleBackend } from './google.js';
import { MockBackend } from './mock.js';
import { createOpenAiBackend } from './openai.js';
import { TranslationBackend, type BackendDeps } from './translation.js';

export { PROVIDER_IDS, isProviderId, type ProviderId } from './config.js';
export type { BackendDeps, IrSendOptions, NativeSendOptions } from './translation.js';
export { TranslationBackend } from './translation.js';

/** Builds one translation backend from its config. */
export type ProviderFactory = (config: BackendConfig, deps: BackendDeps) => Backend;

/** Every provider this build serves. */
export const PROVIDERS: Readonly<Record<ProviderId, ProviderFactory>> = {
  mock: (config) => new MockBackend(config),
  anthropic: createAnthropicBackend,
  google: createGoogleBackend,
  openai: (config, deps) => createOpenAiBackend(config, deps, 'openai'),
  'openai-compatible': (config, deps) => createOpenAiBackend(config, deps, 'openai-compatible'),
};

/** The translation backend for a config with a known `provider` (validation has rejected unknown ones). */
export function createTranslationBackend(config: BackendConfig, deps: BackendDeps): Backend {
  const id = config.provider ?? '';
  if (!Object.hasOwn(PROVIDERS, id)) throw new Error(`unsupported provider "${id}"`);
  return (PROVIDERS[id as ProviderId])(config, deps);
}

/** True for an HTTP translation backend (`anthropic`, `google`, `openai`, `openai-compatible`): it offers `sendIr`/`sendNative`. */
export function isTranslationBackend(b: Backend): b is TranslationBackend {
  return b instanceof TranslationBackend;
}
