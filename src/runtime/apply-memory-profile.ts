// Side-effect module for bin/ditto-gateway.js: applies the process memory profile when evaluated,
// which ESM does before the modules imported after it (src/runtime/memory.ts says what and why).
import { applyMemoryProfile } from './memory.js';

applyMemoryProfile();
