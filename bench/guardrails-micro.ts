/**
 * Guardrails micro-benchmark (not run in tests): nanoseconds per `checkGuardrails` call on a 2 KB
 * chat prompt with 20 banned phrases, 5 banned regexes and `block_pii`, against the same request
 * with no text rules, plus the end-to-end benchmark's own request and policy; each text policy also
 * with its literal prefilter off ("automaton only"), so the prefilter's effect shows in one process.
 * Cases run in interleaved rounds (best and median round reported), so a loaded machine skews them
 * alike. Build, then: `node dist/bench/guardrails-micro.js [iterations]`.
 */
import type { GuardrailsConfig } from '../src/config/schema.js';
import { checkGuardrails, compileGuardrails, type CompiledGuardrails, type GuardrailFacts } from '../src/guardrails/index.js';
import { FULL_GUARDRAILS, GUARDRAILS_BODY } from './guardrails.js';

const BASE: GuardrailsConfig = {
  allow_models: [], deny_models: [], banned_phrases: [], banned_regexes: [], block_pii: false, validate_schema: false,
};

const phrases = [
  'ignore previous instructions', 'disregard all prior', 'you are now dan', 'developer mode enabled', 'jailbreak',
  'system prompt', 'reveal your instructions', 'bypass the filter', 'act as an unrestricted', 'no ethical guidelines',
  'confidential project falcon', 'internal use only', 'do anything now', 'pretend you have no rules', 'sudo mode',
  'leak the prompt', 'override safety', 'unfiltered response', 'forget your training', 'simulate a terminal',
];
const regexes = [
  '(ignore|disregard)\\s+(all\\s+)?(previous|prior)\\s+(instructions|rules)',
  '\\bsk-[a-z0-9]{20,}',
  'password\\s*[:=]\\s*\\S+',
  '-----begin [a-z ]*private key-----',
  '\\bakia[0-9a-z]{16}\\b',
];

const sentence = 'The quarterly report shows revenue growth of 12% across regions, with customer retention at 94 percent. ';
let prompt = '';
while (prompt.length < 2048) prompt += sentence;
prompt = prompt.slice(0, 2048);

const json = {
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a helpful analyst. Answer concisely.' },
    { role: 'user', content: prompt },
  ],
  max_tokens: 256,
};
const rawBody = Buffer.from(JSON.stringify(json));
const facts: GuardrailFacts = {
  method: 'POST', path: '/v1/chat/completions', model: json.model, json, rawBody,
  inputTokenEstimate: Math.ceil(rawBody.length / 4), contentType: 'application/json',
};

const cases: [string, GuardrailsConfig][] = [
  ['none (inactive)', BASE],
  ['models + max_input_tokens + schema', { ...BASE, allow_models: ['gpt-4o*'], deny_models: ['o1*'], max_input_tokens: 100_000, validate_schema: true }],
  ['20 phrases + 5 regexes + pii', { ...BASE, banned_phrases: phrases, banned_regexes: regexes, block_pii: true }],
  ['everything', {
    ...BASE, allow_models: ['gpt-4o*'], deny_models: ['o1*'], max_input_tokens: 100_000, validate_schema: true,
    banned_phrases: phrases, banned_regexes: regexes, block_pii: true,
  }],
];

/** The end-to-end benchmark's request and policy (bench/guardrails.ts), checked the same way. */
const benchJson = JSON.parse(GUARDRAILS_BODY) as Record<string, unknown>;
const benchRaw = Buffer.from(GUARDRAILS_BODY);
const benchFacts: GuardrailFacts = {
  method: 'POST', path: '/v1/chat/completions', model: benchJson['model'] as string, json: benchJson, rawBody: benchRaw,
  inputTokenEstimate: Math.ceil(benchRaw.length / 4), contentType: 'application/json',
};

interface Case {
  readonly name: string;
  readonly g: CompiledGuardrails;
  readonly f: GuardrailFacts;
  readonly times: number[];
}

const all: Case[] = [];
for (const [name, cfg] of cases) {
  const g = compileGuardrails(cfg, 'bench');
  all.push({ name, g, f: facts, times: [] });
  // The same policy with the literal prefilter off: every check runs the automaton pass.
  if (g.prefilter !== undefined) all.push({ name: `${name} (automaton only)`, g: { ...g, prefilter: undefined }, f: facts, times: [] });
}
const benchPolicy = compileGuardrails({ ...BASE, ...FULL_GUARDRAILS }, 'bench');
all.push({ name: 'npm run bench: every guardrail', g: benchPolicy, f: benchFacts, times: [] });
all.push({ name: 'npm run bench: every guardrail (automaton only)', g: { ...benchPolicy, prefilter: undefined }, f: benchFacts, times: [] });

const iterations = Number(process.argv[2] ?? 50_000);
const rounds = 10;
const per = Math.max(1, Math.floor(iterations / rounds));
console.log(`prompt ${prompt.length} chars, body ${rawBody.length} bytes (bench body ${benchRaw.length}); ${rounds} interleaved rounds of ${per} checks per case; best and median round`);
for (const c of all) {
  if (checkGuardrails(c.g, c.f) !== undefined) throw new Error(`${c.name}: the benchmark request must pass`);
  for (let i = 0; i < 2_000; i++) checkGuardrails(c.g, c.f); // warm-up: JIT and DFA cache
}
for (let r = 0; r < rounds; r++) {
  for (const c of all) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < per; i++) checkGuardrails(c.g, c.f);
    c.times.push(Number(process.hrtime.bigint() - t0) / per);
  }
}
for (const c of all) {
  const sorted = [...c.times].sort((a, b) => a - b);
  const best = sorted[0] as number;
  const median = sorted[sorted.length >> 1] as number;
  console.log(`${c.name.padEnd(50)} ${best.toFixed(0).padStart(8)} ns/check best ${median.toFixed(0).padStart(8)} median`);
}
