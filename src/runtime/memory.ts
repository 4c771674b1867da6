/**
 * The gateway process's memory profile: V8 settings that keep a busy gateway near its live set
 * instead of letting the heap balloon (issue 2: ≤ 100 MiB peak RSS under load). Applied by the CLI
 * entry point (bin/ditto-gateway.js) before anything else is loaded; never by the library or tests.
 *
 * What grows a default Node 20 process under load, measured on the benchmark (docs/BENCHMARKS.md):
 * - undici's HTTP parser is WebAssembly (llhttp); V8 compiles it a second time with its optimizing
 *   tier, which takes ~20-35 MiB of compiler memory at the first upstream requests (a VmHWM spike
 *   that is freed right after). `--liftoff-only` keeps the baseline tier: the spike is gone.
 * - the young generation doubles up to 2 × 16 MiB while requests are in flight; capped here at
 *   2 × `SEMI_SPACE_MIB` by switching V8's growth factor to 1 once it reaches the cap (V8 reads that
 *   flag at each resize; the maximum itself can only be set on the node command line);
 * - the old generation is let grow to ~4× its live size between full collections; here 1 +
 *   `HEAP_GROWING_PERCENT`/100.
 *
 * `DITTO_GATEWAY_MEMORY=default` keeps V8's own defaults (e.g. to compare, or with custom
 * `node --max-semi-space-size=…` flags).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

export const SEMI_SPACE_MIB = 4;
export const HEAP_GROWING_PERCENT = 25;

export interface MemoryProfile {
  readonly name: 'lean' | 'default';
  readonly semiSpaceMiB: number | undefined;
}

let applied: MemoryProfile | undefined;

/** Apply the profile named by `DITTO_GATEWAY_MEMORY` (`lean`, the default, or `default`); idempotent. */
export function applyMemoryProfile(env: NodeJS.ProcessEnv = process.env): MemoryProfile {
  if (applied !== undefined) return applied;
  const want = (env['DITTO_GATEWAY_MEMORY'] ?? 'lean').trim().toLowerCase();
  if (want === 'default') return (applied = { name: 'default', semiSpaceMiB: undefined });
  v8.setFlagsFromString('--liftoff-only');
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  capYoungGeneration(SEMI_SPACE_MIB);
  return (applied = { name: 'lean', semiSpaceMiB: SEMI_SPACE_MIB });
}

/** Hold the young generation at `semiMiB` per semi-space: growth factor 1 at the cap, V8's 2 below it. */
function capYoungGeneration(semiMiB: number): void {
  const cap = 2 * semiMiB * 1024 * 1024; // new_space's size counts both semi-spaces
  let capped = false;
  const check = (): void => {
    let size = 0;
    for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') size = s.space_size;
    const atCap = size >= cap;
    if (atCap !== capped) {
      capped = atCap;
      v8.setFlagsFromString(`--semi-space-growth-factor=${atCap ? 1 : 2}`);
    }
  };
  check();
  new PerformanceObserver(check).observe({ entryTypes: ['gc'] });
}
