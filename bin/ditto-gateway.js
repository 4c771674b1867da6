#!/usr/bin/env node
// The published entry point: runs the compiled CLI (`npm ci` builds dist/ through the `prepare` script).
// The memory profile is imported first, so that its V8 settings are in place before anything else loads
// (src/runtime/memory.ts; DITTO_GATEWAY_MEMORY=default turns it off).
import '../dist/src/runtime/apply-memory-profile.js';
import { main } from '../dist/src/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.stack ?? err.message : String(err)); process.exit(1); },
);
