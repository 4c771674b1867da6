// `npm run bench`: the proxy benchmark (bench/run.ts, writes docs/BENCHMARKS.md), then the governance
// benchmark (bench/governance.ts: memory, SQLite and Redis stores vs the plain proxy). Arguments go to
// the first; `--quick` also goes to the second. `--no-governance` skips it.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const skipGovernance = args.includes('--no-governance');
const runArgs = args.filter((a) => a !== '--no-governance');
const run = (script, argv) => {
  const r = spawnSync(process.execPath, [script, ...argv], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('dist/bench/run.js', runArgs);
if (runArgs.includes('--help')) process.exit(0);
if (!skipGovernance) run('dist/bench/governance.js', args.includes('--quick') ? ['--quick'] : []);
