/**
 * Translation benchmark (not run in tests; issue 4 targets: ≤ 1 ms added time to first token p50, ≤ 20 µs CPU per
 * translated chunk). Part of `npm run bench` (`--no-translation` skips it); alone: `node dist/bench/translation-micro.js [--quick]`.
 *
 * 1. CPU per chunk: a recorded Anthropic (and Gemini) stream, one SSE event per network chunk, pushed through the
 *    provider decoder → IR → OpenAI encoder, bare and through the `translateStream` Transform the gateway uses.
 * 2. Time to first byte: one in-process gateway with a passthrough backend (OpenAI SSE upstream) and an `anthropic`
 *    translation backend (Anthropic SSE upstream), both sending their opening events at once and the rest 2 ms later
 *    (see `translation-upstream.ts`); samples interleaved in blocks,
 *    same client code for both, so the p50 difference is the translation's added TTFT. The upstreams and the client
 *    run in a worker thread, the gateway alone on the main thread (the full harness, `bench/run.ts`, pins processes).
 */
import { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { defaultOptions } from '../src/cli/args.js';
import { makeEnvLookup } from '../src/config/env.js';
import { loadConfigDocument } from '../src/config/load.js';
import { createLogger } from '../src/observability/logger.js';
import { PROTOCOLS, type ProtocolId } from '../src/protocols/index.js';
import { translateStream } from '../src/providers/stream.js';
import { startGateway } from '../src/server.js';
import { anthropicStreamFrames } from '../test/fixtures/providers/anthropic.js';
import { geminiStreamFrames } from '../test/fixtures/providers/gemini.js';
import { summarizeTtfb, type TtfbSummary } from './report.js';

const words = Array.from({ length: 200 }, (_, i) => `word${i} `).join('');

function anthropicChunks(): Buffer[] {
  return anthropicStreamFrames([
    { type: 'text', text: words },
    { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { query: 'benchmark translation overhead', limit: 10 } },
  ]).map((f) => Buffer.from(f));
}

function geminiChunks(): Buffer[] {
  const parts = words.split(' ').filter(Boolean).map((w) => [{ text: `${w} ` }]);
  return geminiStreamFrames(parts).map((f) => Buffer.from(f));
}

/** One CPU-per-chunk measurement. */
export interface ChunkCpu {
  name: string;
  chunks: number;
  usPerChunk: number;
}

/** What the translation scenario measured. */
export interface TranslationRun {
  cpu: ChunkCpu[];
  ttfb: { passthrough: TtfbSummary; translation: TtfbSummary };
}

function cpuPerChunk(name: string, from: ProtocolId, chunks: Buffer[], iterations: number): ChunkCpu {
  const run = (): number => {
    const dec = PROTOCOLS[from].createStreamDecoder();
    const enc = PROTOCOLS.openai.createStreamEncoder({ id: 'chatcmpl-b', model: 'm', created: 1, includeUsage: true });
    let bytes = 0;
    for (const c of chunks) for (const ev of dec.push(c)) for (const f of enc.push(ev)) bytes += f.length;
    for (const ev of dec.end()) for (const f of enc.push(ev)) bytes += f.length;
    return bytes;
  };
  for (let i = 0; i < 200; i++) run();
  const c0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) run();
  const c = process.cpuUsage(c0);
  return { name, chunks: chunks.length, usPerChunk: (c.user + c.system) / (iterations * chunks.length) };
}

async function cpuPerChunkStream(name: string, from: ProtocolId, chunks: Buffer[], iterations: number): Promise<ChunkCpu> {
  const run = async (): Promise<void> => {
    const dec = PROTOCOLS[from].createStreamDecoder();
    const enc = PROTOCOLS.openai.createStreamEncoder({ id: 'chatcmpl-b', model: 'm', created: 1, includeUsage: true });
    const out = translateStream(Readable.from(chunks, { objectMode: false }), dec, enc);
    for await (const _ of out) { /* drain */ }
  };
  for (let i = 0; i < 50; i++) await run();
  const c0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) await run();
  const c = process.cpuUsage(c0);
  return { name, chunks: chunks.length, usPerChunk: (c.user + c.system) / (iterations * chunks.length) };
}

async function ttft(samples: number): Promise<TranslationRun['ttfb']> {
  const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini' };
  const openaiFrames = [
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`,
    ...words.split(' ').filter(Boolean).map((w) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: `${w} ` }, finish_reason: null }] })}\n\n`),
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
    'data: [DONE]\n\n',
  ];
  const worker = new Worker(new URL('./translation-upstream.js', import.meta.url), {
    workerData: { openaiFrames, anthropicFrames: anthropicStreamFrames([{ type: 'text', text: words }]) },
  });
  const urls = await new Promise<{ openai: string; anthropic: string }>((resolve) => worker.once('message', resolve));
  const oa = { url: urls.openai };
  const an = { url: urls.anthropic };
  const loaded = loadConfigDocument({
    backends: [
      { name: 'pt', base_url: `${oa.url}/v1` },
      { name: 'claude', provider: 'anthropic', provider_config: { base_url: an.url } },
    ],
    virtual_keys: [{ id: 'b', token: 'sk-bench' }],
    router: { rules: [{ model_prefix: 'claude', backend: 'claude' }], default_backends: [{ backend: 'pt' }] },
  }, makeEnvLookup({ ANTHROPIC_API_KEY: 'sk-ant-bench' }));
  const sink = new Writable({ write(_c, _e, cb) { cb(); } });
  const gw = await startGateway(loaded.config, { ...defaultOptions(), listen: { host: '127.0.0.1', port: 0 } }, createLogger({ json: true, destination: sink }));
  try {
    worker.postMessage({ gateway: gw.url, samples });
    const r = await new Promise<{ passthrough: number[]; translation: number[] }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    return { passthrough: summarizeTtfb(r.passthrough), translation: summarizeTtfb(r.translation) };
  } finally {
    await gw.shutdown(0);
    await worker.terminate();
  }
}

/** Run the whole scenario: CPU per translated chunk, then interleaved time-to-first-byte samples. */
export async function measureTranslation(o: { iterations: number; samples: number; log?: (line: string) => void }): Promise<TranslationRun> {
  const cpu = [
    cpuPerChunk('anthropic → openai (decoder + encoder)', 'anthropic', anthropicChunks(), o.iterations),
    cpuPerChunk('gemini → openai (decoder + encoder)', 'gemini', geminiChunks(), o.iterations),
    await cpuPerChunkStream('anthropic → openai (translateStream)', 'anthropic', anthropicChunks(), Math.ceil(o.iterations / 3)),
  ];
  for (const c of cpu) o.log?.(`  ${c.name}: ${c.usPerChunk.toFixed(2)} µs CPU/chunk (${c.chunks} chunks)`);
  const ttfb = await ttft(o.samples);
  o.log?.(`  TTFB passthrough p50 ${ttfb.passthrough.p50Ms.toFixed(3)} ms, translation p50 ${ttfb.translation.p50Ms.toFixed(3)} ms`);
  return { cpu, ttfb };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const r = await measureTranslation({ iterations: quick ? 300 : 3000, samples: quick ? 500 : 3000, log: (l) => console.log(l) });
  const { passthrough: a, translation: b } = r.ttfb;
  console.log(`added TTFT p50 ${(b.p50Ms - a.p50Ms).toFixed(3)} ms (target ≤ 1 ms); p99 ${a.p99Ms.toFixed(3)} → ${b.p99Ms.toFixed(3)} ms`);
}
