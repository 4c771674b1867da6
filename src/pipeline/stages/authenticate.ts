import { AUTH_MESSAGES, presentedToken } from '../../auth/keys.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../run.js';

/**
 * Virtual-key authentication (CONTRACT §4.1). Fail closed: with no keys configured every request is
 * 401. Runs before the body is read, so an unauthenticated client cannot make the gateway buffer.
 */
export const authenticate: Stage = {
  name: 'authenticate',
  run(ctx: RequestContext): void {
    const result = ctx.gw.keys.verify(presentedToken(ctx.req.headers));
    if (typeof result === 'string') throw new GatewayError('invalid_api_key', AUTH_MESSAGES[result]);
    ctx.key = result;
    ctx.gw.counters.requests++;
  },
};
