import type { RequestContext } from '../context.js';
import type { Finalizer } from '../run.js';

/** Releases every permit the request took (global in-flight, later per-key parallelism). */
export const releasePermits: Finalizer = {
  name: 'release_permits',
  run(ctx: RequestContext): void {
    for (const release of ctx.releases) release();
    ctx.releases.length = 0;
  },
};
