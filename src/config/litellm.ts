import type { EnvLookup } from './env.js';

/**
 * LiteLLM `proxy_config.yaml` ingestion (CONTRACT §2.9): a document with top-level `model_list`
 * and none of `backends`/`router`/`virtual_keys` is converted into a ditto config document.
 */
export function isLitellmConfig(doc: unknown): doc is Record<string, unknown> {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return false;
  const d = doc as Record<string, unknown>;
  return 'model_list' in d && !('backends' in d) && !('router' in d) && !('virtual_keys' in d);
}

/** Convert a LiteLLM proxy config into a ditto config document (placeholders left for expansion). */
export function convertLitellmConfig(_doc: Record<string, unknown>, _lookup: EnvLookup): unknown {
  throw new Error('LiteLLM config ingestion is not implemented yet');
}
