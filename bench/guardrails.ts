/**
 * Guardrails benchmark (issue 6): one gateway, two virtual keys, the same 2 KB chat request — one key
 * with no guardrails, one with every guardrail on (model allow and deny lists, an input-token cap,
 * the request schema, 20 banned phrases, 5 banned regexes and PII detection) — measured in
 * interleaved windows of the same run. The request passes every check, so each guarded request pays
 * for the whole policy. Target: the guarded key keeps ≥ 90 % of the unguarded key's throughput.
 *
 * Part of `npm run bench` (see bench/run.ts) and runnable alone:
 *
 *   node dist/bench/guardrails.js [--quick] [--duration S] [--rounds N] [--connections N]
 *
 * Layout as `bench/run.ts`: the gateway on core 0; mock upstream, load generator and runner on core 1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { hasTaskset, pinSelf, startService, stopAll } from './children.js';
import { BENCH_TOKEN, CHAT_PATH } from './fixtures.js';
import { LoadGenerator, pickGenerator } from './load.js';
import { coreBusy, coreTimes, cpuSeconds, machineSummary } from './proc.js';
import { summarize, type Cell } from './report.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const GATEWAY_BIN = join(ROOT, 'bin', 'ditto-gateway.js');
const MOCK_JS = fileURLToPath(new URL('./mock-upstream.js', import.meta.url));

/** The guarded key's token; the unguarded key is the usual bench key. */
export const GUARDED_TOKEN = 'sk-ditto-bench-guarded-7e2d41c9a0b35f68';
/** Largest acceptable throughput cost of the full policy (issue 6). */
export const GUARDRAILS_TARGET_COST = 0.1;

/** 20 prompt-injection and data-leak phrases, as a platform team would list them. */
const PHRASES = [
  'ignore previous instructions', 'ignore all previous instructions', 'disregard the system prompt',
  'reveal your system prompt', 'print your instructions', 'you are now dan', 'developer mode enabled',
  'jailbreak mode', 'pretend you have no restrictions', 'act as an unfiltered model', 'bypass your safety',
  'without any ethical guidelines', 'internal use only', 'confidential - do not distribute', 'project bluebird',
  'customer export file', 'production database password', 'root credentials', 'private signing key',
  'do anything now',
];

/** 5 regexes: API keys, cloud keys, private keys, password assignments, an injection window. */
const REGEXES = [
  '\\bsk-[a-z0-9]{20,}',
  '\\bAKIA[0-9A-Z]{16}\\b',
  '-----BEGIN (RSA |EC |OPENSSH )?PRIVATE KEY-----',
  '\\bpassword\\s*[:=]\\s*\\S+',
  '(ignore|disregard|forget).{0,40}(instructions|rules|guidelines)',
];

/** Every guardrail on. */
export const FULL_GUARDRAILS = {
  allow_models: ['gpt-4o-mini', 'gpt-4o', 'claude-3*'],
  deny_models: ['o1*', 'gpt-4-32k*'],
  max_input_tokens: 8000,
  validate_schema: true,
  banned_phrases: PHRASES,
  banned_regexes: REGEXES,
  block_pii: true,
};

const PARAGRAPH =
  'Our checkout service runs on Node.js behind a reverse proxy. Since the last release, p99 latency ' +
  'climbs from 180 ms to about 900 ms for a few seconds every five minutes, while p50 stays flat. ' +
  'The spikes line up with garbage collection pauses and with a cron job that rebuilds the product ' +
  'search index. CPU is at 35 percent on average and memory is stable at 1.4 GB per instance. ';

/** A realistic ~2 KB chat request that passes every guardrail above. */
export const GUARDRAILS_BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a concise assistant for an internal engineering team. Answer in plain English, prefer short paragraphs, and say when you are unsure.' },
    { role: 'user', content: `${PARAGRAPH.repeat(4)}What would you check first, and which runtime settings would you try before changing code? Name the exact Node.js flags and say briefly why each one could help with these pauses. Keep it under 150 words.` },
  ],
  temperature: 0.2,
  max_tokens: 256,
  user: 'bench-user-0001',
});

/** Gateway config: the bench key without guardrails and the guarded key, one mock backend. */
export function guardrailsConfig(mockUrl: string): string {
  return JSON.stringify({
    backends: [{ name: 'bench-upstream', base_url: `${mockUrl}/v1` }],
    virtual_keys: [
      { id: 'bench', token: BENCH_TOKEN, enabled: true },
      { id: 'bench-guarded', token: GUARDED_TOKEN, enabled: true, guardrails: FULL_GUARDRAILS },
    ],
    router: { default_backends: [{ backend: 'bench-upstream', weight: 1 }] },
  });
}

const headersFor = (token: string): Record<string, string> => ({ 'content-type': 'application/json', authorization: `Bearer ${token}` });

/** Both sides, same gateway, same run. */
export interface GuardrailsRun {
  connections: number;
  none: Cell;
  all: Cell;
}

export interface GuardrailsBenchDeps {
  load: LoadGenerator;
  connections: number;
  rounds: number;
  durationS: number;
  warmupS: number;
  /** The gateway's URL and pid (started from {@link guardrailsConfig}). */
  gatewayUrl: string;
  gatewayPid: number;
  log: (msg: string) => void;
}

/** Fail fast unless the guarded key really is guarded and the benchmark request passes it. */
async function checkPolicy(url: string): Promise<void> {
  const post = async (token: string, body: string): Promise<Response> => {
    const r = await fetch(url + CHAT_PATH, { method: 'POST', headers: headersFor(token), body });
    await r.arrayBuffer();
    return r;
  };
  for (const token of [BENCH_TOKEN, GUARDED_TOKEN]) {
    const r = await post(token, GUARDRAILS_BODY);
    if (r.status !== 200) throw new Error(`the benchmark request was answered ${r.status} for ${token === BENCH_TOKEN ? 'the plain' : 'the guarded'} key`);
  }
  const refused = await post(GUARDED_TOKEN, GUARDRAILS_BODY.replace('What would you check first', 'Mail jane@example.com: what would you check first'));
  if (refused.status !== 403) throw new Error(`the guarded key let a prompt with an email address through (status ${refused.status}): guardrails are not on`);
}

/** Interleaved windows: no guardrails vs every guardrail, same gateway, same body. */
export async function measureGuardrails(d: GuardrailsBenchDeps): Promise<GuardrailsRun> {
  await checkPolicy(d.gatewayUrl);
  const spec = (token: string, durationS: number): Parameters<LoadGenerator['run']>[0] => ({
    url: d.gatewayUrl + CHAT_PATH, connections: d.connections, durationS, body: GUARDRAILS_BODY, headers: headersFor(token),
  });
  d.log(`guardrails: 2 KB prompt, no guardrails vs every guardrail (20 phrases, 5 regexes, PII, model lists, schema); warm-up ${d.warmupS} s each`);
  await d.load.run(spec(BENCH_TOKEN, d.warmupS));
  await d.load.run(spec(GUARDED_TOKEN, d.warmupS));
  const run: GuardrailsRun = {
    connections: d.connections,
    none: { target: 'gateway-guardrails-none', connections: d.connections, runs: [], coreBusy: [], cpuS: 0 },
    all: { target: 'gateway-guardrails-all', connections: d.connections, runs: [], coreBusy: [], cpuS: 0 },
  };
  for (let round = 0; round < d.rounds; round++) {
    const order: Array<'none' | 'all'> = round % 2 === 0 ? ['none', 'all'] : ['all', 'none'];
    for (const side of order) {
      const cell = run[side];
      const cpu0 = cpuSeconds(d.gatewayPid) ?? 0;
      const cores0 = coreTimes();
      const r = await d.load.run(spec(side === 'none' ? BENCH_TOKEN : GUARDED_TOKEN, d.durationS));
      cell.cpuS = (cell.cpuS ?? 0) + (cpuSeconds(d.gatewayPid) ?? 0) - cpu0;
      const busy = coreBusy(cores0, coreTimes());
      if (busy) cell.coreBusy.push(busy);
      cell.runs.push(r);
      d.log(`  c=${d.connections} guardrails ${side.padEnd(4)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms${r.errors ? `  ERRORS ${r.errors}` : ''}`);
    }
  }
  return run;
}

/** A markdown table of the run, with the throughput cost against the target. */
export function guardrailsTable(run: GuardrailsRun): string {
  const none = summarize(run.none);
  const all = summarize(run.all);
  const cost = 1 - all.rps / none.rps;
  const row = (label: string, x: ReturnType<typeof summarize>): string =>
    `| ${label} | ${x.rps.toFixed(0)} | ${x.p50Ms.toFixed(3)} | ${x.p99Ms.toFixed(3)} | ${x.cpuUsPerReq?.toFixed(0) ?? '—'} | ${x.errors} |`;
  return [
    `| Key (c=${run.connections}, 2 KB prompt) | req/s | p50 ms | p99 ms | gateway CPU µs/req | errors |`,
    '|---|---:|---:|---:|---:|---:|',
    row('no guardrails', none),
    row('every guardrail', all),
    '',
    `Throughput cost of the full policy: ${(cost * 100).toFixed(1)}% (target ≤ ${GUARDRAILS_TARGET_COST * 100}%) ${cost <= GUARDRAILS_TARGET_COST ? '✓' : '✗'}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
    },
  });
  const quick = values.quick === true;
  const durationS = Number(values.duration ?? (quick ? 2 : 8));
  const rounds = Number(values.rounds ?? (quick ? 1 : 3));
  const connections = Number(values.connections ?? 16);
  const canPin = hasTaskset() && cpus().length >= 2;
  const [gwCore, loadCore] = canPin ? [0, 1] : [undefined, undefined];
  if (canPin) pinSelf(1);
  const dir = mkdtempSync(join(tmpdir(), 'ditto-bench-gr-'));
  const load = new LoadGenerator(pickGenerator(undefined), dir, loadCore);
  const log = (m: string): void => { process.stdout.write(`${m}\n`); };
  log(`guardrails benchmark: ${machineSummary()}, Node ${process.version}, ${load.name}, ${connections} connections, ${rounds} × ${durationS} s windows`);
  try {
    const mock = await startService('mock upstream', loadCore, process.execPath, [MOCK_JS], /^\{"port":\d+\}$/, join(dir, 'mock.log'));
    const mockUrl = `http://127.0.0.1:${(JSON.parse(mock.readyLine) as { port: number }).port}`;
    const cfg = join(dir, 'guardrails.json');
    writeFileSync(cfg, guardrailsConfig(mockUrl));
    const svc = await startService('gateway', gwCore, process.execPath, [GATEWAY_BIN, cfg, '--listen', '127.0.0.1:0'], /listening on /, join(dir, 'gateway.log'));
    const url = `http://${/listening on (\S+)/.exec(svc.readyLine)?.[1] ?? ''}`;
    const run = await measureGuardrails({ load, connections, rounds, durationS, warmupS: quick ? 1 : 3, gatewayUrl: url, gatewayPid: svc.pid, log });
    await svc.stop();
    await mock.stop();
    log(`\n${guardrailsTable(run)}`);
    if ([...run.none.runs, ...run.all.runs].some((r) => r.errors > 0)) process.exitCode = 1;
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.on('SIGINT', () => { void stopAll().then(() => process.exit(130)); });
  main().catch(async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll();
    process.exit(1);
  });
}
