import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

// The CLI's memory profile (src/runtime/memory.ts): run in a child process, since V8 flags are
// process-wide. An allocation pattern like the gateway's under load (short-lived garbage plus
// objects that survive a few collections) grows the young generation to 2 × 16 MiB by default;
// the lean profile holds it at 2 × SEMI_SPACE_MIB.

const MEMORY_JS = new URL('../../src/runtime/memory.js', import.meta.url).href;

function run(profile: string): { profile: string; newSpaceMiB: number } {
  const script = `
    import v8 from 'node:v8';
    const { applyMemoryProfile } = await import(${JSON.stringify(MEMORY_JS)});
    const p = applyMemoryProfile(process.env);
    let inFlight = [];
    let sink = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 1200) {
      for (let i = 0; i < 2000; i++) { const o = { i, s: 'x'.repeat(i % 64), a: [i, i + 1] }; inFlight.push(o); sink += o.a.length; }
      if (inFlight.length > 60000) inFlight = inFlight.slice(30000);
      await new Promise((r) => setImmediate(r));
    }
    const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    console.log(JSON.stringify({ profile: p.name, newSpaceMiB: ns.space_size / 1048576, sink }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, DITTO_GATEWAY_MEMORY: profile }, encoding: 'utf8',
  });
  const r = JSON.parse(out.trim().split('\n').at(-1) as string) as { profile: string; newSpaceMiB: number };
  return r;
}

test('lean profile (the default) caps the young generation; DITTO_GATEWAY_MEMORY=default leaves V8 alone', { timeout: 60_000 }, () => {
  const lean = run('');
  assert.equal(lean.profile, 'lean');
  assert.ok(lean.newSpaceMiB <= 8, `young generation ${lean.newSpaceMiB} MiB under the lean profile (cap 2 × 4 MiB)`);
  const dflt = run('default');
  assert.equal(dflt.profile, 'default');
  assert.ok(dflt.newSpaceMiB > 8, `V8's own young generation grows past the cap (${dflt.newSpaceMiB} MiB): the test load is heavy enough`);
});
