import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, errors as UndiciErrors } from 'undici';

/**
 * The parts of undici the gateway uses, loaded from their own modules. undici's index also loads
 * fetch, WebSocket, EventSource, the HTTP cache and the mock agent, which the gateway never uses: about
 * 3 MiB of heap and 9 MiB resident in every gateway (issue 2: ≤ 100 MiB peak RSS). undici has no
 * `exports` map, so these paths are reachable. What the index does to them is done here too: it puts
 * the request APIs (`request`, `stream`, `pipeline`, `connect`, `upgrade`) on `Dispatcher.prototype`.
 * test/unit/undici-parts.test.ts checks, in a process that never loads the index, that these are the
 * very objects the index exports and that an Agent can make a request (a renamed file fails there).
 */
const require = createRequire(import.meta.url);

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
export type Agent = UndiciAgent;
export const errors = require('undici/lib/core/errors.js') as typeof UndiciErrors;

const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as { prototype: Record<string, unknown> };
if (typeof Dispatcher.prototype['request'] !== 'function') {
  Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js') as Record<string, unknown>);
}
