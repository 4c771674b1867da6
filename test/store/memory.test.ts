import { runStoreConformance } from '../../src/store/conformance.js';
import { MemoryStore } from '../../src/store/memory.js';

runStoreConformance('memory', {
  open(clock) {
    const store = new MemoryStore({ clock });
    return Promise.resolve({ store, replica: () => Promise.resolve(store), cleanup: () => store.close() });
  },
});
