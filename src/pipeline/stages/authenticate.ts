import { AUTH_MESSAGES, presentedToken } from '../../auth/keys.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { geminiToken } from '../../surfaces/gemini.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../run.js';

/**
 * Virtual-key authentication (CONTRACT §4.1). Fail closed: with no keys configured every request is
 * 401. Runs before the body is read, so an unauthenticated client cannot make the gateway buffer.
 */
export const authenticate: Stage = {
  name: 'authenticate',
  run(ctx: RequestContext): void {
    const token = ctx.surface === 'gemini' ? geminiToken(ctx.req.headers, ctx.query) : presentedToken(ctx.req.headers);
    if (ctx.gw.keys.size === 0 && (ctx.surface === 'anthropic' || ctx.surface === 'gemini')) {
      // CONTRACT §3.7/§3.8, §4.1: the one exception to fail-closed. With no keys configured these surfaces
      // forward the client's own credential (backend headers still override it); none at all is still a 401.
      if (token === undefined) throw new GatewayError('invalid_api_key', AUTH_MESSAGES.missing);
      ctx.forwardedCredential = token;
      ctx.gw.counters.requests++;
      return;
    }
    const result = ctx.gw.keys.verify(token);
    if (typeof result === 'string') throw new GatewayError('invalid_api_key', AUTH_MESSAGES[result]);
    ctx.key = result;
    ctx.gw.counters.requests++;
  },
};
