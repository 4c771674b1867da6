/**
 * Guardrails micro-benchmark (not run in tests): nanoseconds per `checkGuardrails` call on a 2 KB
 * chat prompt with 20 banned phrases, 5 banned regexes and `block_pii`, against the same request
 * with no text rules. Build, then: `node dist/bench/guardrails-micro.js [iterations]`.
 */
import type { GuardrailsConfig } from '../src/config/schema.js';
import { checkGuardrails, compileGuardrails, type GuardrailFacts } from '../src/guardrails/index.js';

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

const iterations = Number(process.argv[2] ?? 50_000);
console.log(`prompt ${prompt.length} chars, body ${rawBody.length} bytes, ${iterations} iterations per case`);
for (const [name, cfg] of cases) {
  const g = compileGuardrails(cfg, 'bench');
  if (checkGuardrails(g, facts) !== undefined) throw new Error(`${name}: the benchmark request must pass`);
  for (let i = 0; i < 2_000; i++) checkGuardrails(g, facts); // warm-up: JIT and DFA cache
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) checkGuardrails(g, facts);
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  console.log(`${name.padEnd(40)} ${ns.toFixed(0).padStart(8)} ns/check`);
}
