import type { Gateway } from '../gateway.js';
import { createAdminHandler, type AdminHandler } from './router.js';

export { createAdminHandler, type AdminHandler } from './router.js';

/**
 * The admin API of a gateway: tokens from its options, its store, its keys (the config's, or the store's
 * when it held some: §1.4) and its observability redaction; undefined when no admin token is set.
 */
export function adminHandlerFor(gw: Gateway): AdminHandler | undefined {
  const redactor = gw.telemetry.redactor;
  return createAdminHandler(gw.options, {
    store: gw.store,
    keys: () => gw.config.virtual_keys,
    redact: (p) => redactor.redact(p) as Record<string, unknown>,
    requestId: () => gw.nextRequestId(),
  });
}
