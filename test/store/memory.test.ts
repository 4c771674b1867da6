import { runStoreConformance } from '../../src/store/conformance.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store, SyncGovernance } from '../../src/store/store.js';

runStoreConformance('memory', {
  open(clock) {
    const store = new MemoryStore({ clock });
    return Promise.resolve({ store, replica: () => Promise.resolve(store), cleanup: () => store.close() });
  },
});

/**
 * The request path calls the memory store's synchronous `sync.admit/settle/release` directly: the same
 * suite again, with those three answered through them (a thrown error becomes the rejection).
 */
function throughSync(store: MemoryStore): Store {
  const sync: SyncGovernance = store.sync;
  const call = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const own: Partial<Record<keyof Store, unknown>> = {
    admit: (req: Parameters<SyncGovernance['admit']>[0]) => call(() => sync.admit(req)),
    settle: (...a: Parameters<SyncGovernance['settle']>) => call(() => sync.settle(...a)),
    release: (...a: Parameters<SyncGovernance['release']>) => call(() => sync.release(...a)),
  };
  return new Proxy(store, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in own) return own[prop as keyof Store];
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}

runStoreConformance('memory (synchronous request path)', {
  open(clock) {
    const store = new MemoryStore({ clock });
    const facade = throughSync(store);
    return Promise.resolve({ store: facade, replica: () => Promise.resolve(facade), cleanup: () => store.close() });
  },
});
