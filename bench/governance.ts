/**
 * Governance benchmark: the plain proxy vs the same proxy with governance on — a key with rpm + tpm
 * limits, a token budget and a USD budget (priced by `--pricing-litellm`), audit on with a persistent
 * store — on the memory, SQLite and Redis stores, measured in the same run with interleaved windows.
 * Limits are set high enough never to refuse: every request pays for one admission and one settlement.
 *
 *   node dist/bench/governance.js [--quick] [--duration S] [--rounds N] [--connections N] [--redis URL] [--no-write]
 *
 * Writes its table into the "Governance" section of docs/BENCHMARKS.md (not with --quick, unless --write).
 * Windows are short and many (4 rounds × 5 s), every variant once per round, the order reversed each
 * round: a slow stretch of a noisy host then lands on every variant, not on one. The per-round column
 * shows each variant against the plain proxy's window of the same round.
 *
 * Targets (issue 3): memory ≥ 85 %, SQLite ≥ 60 %, Redis ≥ 50 % of the plain proxy's req/s.
 * Layout as `bench/run.ts`: gateways on core 0, mock upstream, load generator and runner on core 1.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { hasTaskset, pinSelf, startService, stopAll, type Service } from './children.js';
import { BENCH_TOKEN, CHAT_BODY, CHAT_PATH } from './fixtures.js';
import { LoadGenerator, pickGenerator, type LoadResult } from './load.js';
import { cpuSeconds, loadAverage, machineSummary } from './proc.js';
import { GOVERNANCE_END, GOVERNANCE_START } from './report.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const GATEWAY_BIN = join(ROOT, 'bin', 'ditto-gateway.js');
const MOCK_JS = fileURLToPath(new URL('./mock-upstream.js', import.meta.url));
const PRICES = join(ROOT, '..', 'shared', 'data', 'litellm', 'model_prices_and_context_window.json');
const DOC_PATH = join(ROOT, 'docs', 'BENCHMARKS.md');
const HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` };

type Variant = 'plain' | 'memory' | 'sqlite' | 'redis';
const TARGET: Record<Variant, number> = { plain: 1, memory: 0.85, sqlite: 0.6, redis: 0.5 };

function config(mockUrl: string, governed: boolean): string {
  const key: Record<string, unknown> = { id: 'bench', token: BENCH_TOKEN, enabled: true };
  if (governed) {
    key['limits'] = { rpm: 4_000_000_000, tpm: 4_000_000_000 };
    key['budget'] = { total_tokens: Number.MAX_SAFE_INTEGER, total_usd_micros: Number.MAX_SAFE_INTEGER };
  }
  return JSON.stringify({
    backends: [{ name: 'bench-upstream', base_url: `${mockUrl}/v1` }],
    virtual_keys: [key],
    router: { default_backends: [{ backend: 'bench-upstream', weight: 1 }] },
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      'no-redis': { type: 'boolean', default: false },
      write: { type: 'boolean' },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const quick = values.quick === true;
  const durationS = Number(values.duration ?? (quick ? 2 : 5));
  const rounds = Number(values.rounds ?? (quick ? 1 : 4));
  const write = values['no-write'] ? false : values.write ?? !quick;
  const started = Date.now();
  const load0 = loadAverage();
  const connections = Number(values.connections ?? 16);
  const canPin = hasTaskset() && cpus().length >= 2;
  const [gwCore, loadCore] = canPin ? [0, 1] : [undefined, undefined];
  if (canPin) pinSelf(1);
  const dir = mkdtempSync(join(tmpdir(), 'ditto-bench-gov-'));
  const load = new LoadGenerator(pickGenerator(undefined), dir, loadCore);
  const log = (m: string): void => { process.stdout.write(`${m}\n`); };
  log(`governance benchmark: ${machineSummary()}, Node ${process.version}, ${load.name}, ${connections} connections, ${rounds} × ${durationS} s windows`);

  const mock = await startService('mock upstream', loadCore, process.execPath, [MOCK_JS], /^\{"port":\d+\}$/, join(dir, 'mock.log'));
  const mockUrl = `http://127.0.0.1:${(JSON.parse(mock.readyLine) as { port: number }).port}`;
  const plainCfg = join(dir, 'plain.json');
  const govCfg = join(dir, 'gov.json');
  writeFileSync(plainCfg, config(mockUrl, false));
  writeFileSync(govCfg, config(mockUrl, true));
  const prefix = `ditto-bench-${randomBytes(4).toString('hex')}`;
  const variants: Array<{ v: Variant; args: string[] }> = [
    { v: 'plain', args: [plainCfg] },
    { v: 'memory', args: [govCfg, '--pricing-litellm', PRICES] },
    { v: 'sqlite', args: [govCfg, '--pricing-litellm', PRICES, '--sqlite', join(dir, 'gov.db')] },
  ];
  if (!values['no-redis']) variants.push({ v: 'redis', args: [govCfg, '--pricing-litellm', PRICES, '--redis', values.redis, '--redis-prefix', prefix] });

  const gws = new Map<Variant, { svc: Service; url: string }>();
  const results = new Map<Variant, { runs: LoadResult[]; cpuS: number }>();
  try {
    for (const { v, args } of variants) {
      const svc = await startService(`gateway ${v}`, gwCore, process.execPath, [GATEWAY_BIN, ...args, '--listen', '127.0.0.1:0'], /listening on /, join(dir, `${v}.log`));
      const url = `http://${/listening on (\S+)/.exec(svc.readyLine)?.[1] ?? ''}`;
      const check = await fetch(url + CHAT_PATH, { method: 'POST', headers: HEADERS, body: CHAT_BODY });
      await check.arrayBuffer();
      if (check.status !== 200) throw new Error(`gateway ${v} answered ${check.status}`);
      if (v !== 'plain' && check.headers.get('x-ditto-response-cost-usd') === null) throw new Error(`gateway ${v}: no cost header, governance not on`);
      gws.set(v, { svc, url });
      results.set(v, { runs: [], cpuS: 0 });
      await load.run({ url: url + CHAT_PATH, connections, durationS: quick ? 1 : 3, body: CHAT_BODY, headers: HEADERS });
    }
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      for (const { v } of order) {
        const g = gws.get(v) as { svc: Service; url: string };
        const cpu0 = cpuSeconds(g.svc.pid) ?? 0;
        const res = await load.run({ url: g.url + CHAT_PATH, connections, durationS, body: CHAT_BODY, headers: HEADERS });
        const cell = results.get(v) as { runs: LoadResult[]; cpuS: number };
        cell.runs.push(res);
        cell.cpuS += (cpuSeconds(g.svc.pid) ?? 0) - cpu0;
        log(`  round ${r + 1} ${v.padEnd(7)} ${res.rps.toFixed(0).padStart(7)} req/s  p50 ${res.p50Ms.toFixed(3)} ms  p99 ${res.p99Ms.toFixed(3)} ms${res.errors ? `  ERRORS ${res.errors}` : ''}`);
      }
    }
  } finally {
    for (const g of gws.values()) await g.svc.stop();
    await mock.stop();
    if (!values['no-redis']) {
      const c = new Redis(values.redis, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
      try {
        await c.connect();
        let cursor = '0';
        do {
          const [next, keys] = await c.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await c.del(...keys);
        } while (cursor !== '0');
      } catch {
        // best effort
      } finally {
        c.disconnect();
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const rps = (v: Variant): number => {
    const c = results.get(v);
    if (!c || c.runs.length === 0) return 0;
    const total = c.runs.reduce((a, r) => a + r.requests, 0);
    return total / c.runs.reduce((a, r) => a + r.durationS, 0);
  };
  const plain = rps('plain');
  const plainRuns = results.get('plain')?.runs ?? [];
  const table = [
    '| Variant | req/s | % of plain | per-round % of plain | target | gateway CPU µs/req | errors |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  let errors = 0;
  for (const { v } of variants) {
    const c = results.get(v) as { runs: LoadResult[]; cpuS: number };
    const reqs = c.runs.reduce((a, r) => a + r.requests, 0);
    const e = c.runs.reduce((a, r) => a + r.errors, 0);
    errors += e;
    const pct = plain > 0 ? (rps(v) / plain) * 100 : 0;
    const mark = v === 'plain' ? '' : pct >= TARGET[v] * 100 ? ' ✓' : ' ✗';
    const perRound = v === 'plain' ? '—' : c.runs.map((r, i) => {
      const p = plainRuns[i];
      return p && p.rps > 0 ? `${((r.rps / p.rps) * 100).toFixed(0)}%` : '—';
    }).join(', ');
    table.push(`| ${v === 'plain' ? 'plain proxy' : `governance, ${v} store`} | ${rps(v).toFixed(0)} | ${pct.toFixed(1)}%${mark} | ${perRound} | ${v === 'plain' ? '—' : `≥ ${TARGET[v] * 100}%`} | ${reqs > 0 ? ((c.cpuS * 1e6) / reqs).toFixed(0) : '—'} | ${e} |`);
  }
  log(`\n${table.join('\n')}`);
  if (write) {
    const load1 = loadAverage();
    const section = [
      `Recorded ${new Date(started).toISOString().replace(/\.\d+Z$/, 'Z')} by \`node dist/bench/governance.js\`${quick ? ' (**--quick smoke run**)' : ''}: ${machineSummary()}, Node ${process.version}, ${load.name},`,
      `${connections} connections, ${rounds} round(s) × ${durationS} s windows per variant, variants interleaved (order reversed every round); whole run ${Math.round((Date.now() - started) / 1000)} s;`,
      `1-minute load average ${load0?.toFixed(2) ?? 'n/a'} before, ${load1?.toFixed(2) ?? 'n/a'} after.`,
      'The key has rpm + tpm limits, a token budget and a USD budget priced by `--pricing-litellm` (the real LiteLLM table);',
      'the SQLite and Redis stores also write an audit record per request. Limits never refuse: every request pays for one',
      'admission and one settlement. Layout as the proxy benchmark: gateways on core 0; mock, load generator and runner on core 1.',
      '',
      ...table,
    ].join('\n');
    const doc = existsSync(DOC_PATH) ? readFileSync(DOC_PATH, 'utf8') : '';
    const a = doc.indexOf(GOVERNANCE_START);
    const b = doc.indexOf(GOVERNANCE_END);
    let next: string;
    if (a >= 0 && b > a) next = `${doc.slice(0, a + GOVERNANCE_START.length)}\n${section}\n${doc.slice(b)}`;
    else {
      const notes = doc.indexOf('\n## Notes');
      const block = `\n## Governance\n\n${GOVERNANCE_START}\n${section}\n${GOVERNANCE_END}\n`;
      next = notes >= 0 ? `${doc.slice(0, notes)}${block}${doc.slice(notes)}` : `${doc}${block}`;
    }
    writeFileSync(DOC_PATH, next);
    log(`wrote the governance section of ${DOC_PATH}`);
  }
  if (errors > 0) process.exitCode = 1;
}

process.on('SIGINT', () => { void stopAll().then(() => process.exit(130)); });
main().catch(async (err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
