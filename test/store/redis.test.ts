import { runStoreConformance } from '../../src/store/conformance.js';
import { openRedisStore, type RedisStore } from '../../src/store/redis.js';
import { REDIS_URL, deletePrefix, redisSkipReason, testPrefix } from './services.js';

const skip = await redisSkipReason();

runStoreConformance('redis', {
  async open(clock) {
    const prefix = testPrefix();
    const opened: RedisStore[] = [await openRedisStore(REDIS_URL, { prefix, clock })];
    return {
      store: opened[0] as RedisStore,
      async replica() {
        const s = await openRedisStore(REDIS_URL, { prefix, clock });
        opened.push(s);
        return s;
      },
      async cleanup() {
        for (const s of opened) await s.close();
        await deletePrefix(prefix);
      },
    };
  },
}, skip === undefined ? {} : { skip });
