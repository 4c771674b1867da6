/**
 * Admin audit, export, ledger and reap endpoints against a real Redis (127.0.0.1:6379, a fresh key prefix
 * per run, deleted afterwards). Skips with a visible reason without Redis, except under REQUIRE_SERVICES=1.
 */
import { openRedisStore } from '../../src/store/redis.js';
import { endpointSuite } from '../admin/endpoints.js';
import { deletePrefix, describeUnlessSkipped, REDIS_URL, redisSkipReason, testPrefix } from '../store/services.js';

describeUnlessSkipped('admin endpoints on Redis', await redisSkipReason(), () => {
  endpointSuite(async () => {
    const prefix = testPrefix();
    const store = await openRedisStore(REDIS_URL, { prefix });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await deletePrefix(prefix);
      },
    };
  });
});
