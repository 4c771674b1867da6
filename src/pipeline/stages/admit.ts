import { GatewayError } from '../../errors/gateway-error.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../run.js';

/** Global in-flight permit (CONTRACT §4.6), held until the response ends (streams too). */
export const admit: Stage = {
  name: 'admit',
  run(ctx: RequestContext): void {
    const gw = ctx.gw;
    if (gw.inFlight >= gw.options.maxInFlight) {
      throw new GatewayError('inflight_limit', 'too many in-flight proxy requests', { headers: { 'retry-after': '1' } });
    }
    gw.inFlight++;
    ctx.releases.push(() => { gw.inFlight--; });
  },
};
