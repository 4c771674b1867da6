import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GuardrailsConfig } from '../../src/config/schema.js';
import { checkGuardrails, compileGuardrails, type CompiledGuardrails, type GuardrailFacts } from '../../src/guardrails/index.js';
import { CARD_PREFILTER_PATTERN, EMAIL_PATTERN, SSN_PATTERN } from '../../src/guardrails/pii.js';
import { hasDigitRun, LiteralPrefilter, piiMayMatch, requiredLiterals } from '../../src/guardrails/prefilter.js';
import { LinearMatcher, NO_MATCH } from '../../src/guardrails/regex/automaton.js';
import { parseRegex } from '../../src/guardrails/regex/parse.js';
import { seededRandom as rng } from '../helpers/rng.js';

const BASE: GuardrailsConfig = {
  allow_models: [], deny_models: [], banned_phrases: [], banned_regexes: [], block_pii: false, validate_schema: false,
};

test('required literals: what every match of a regex must contain', () => {
  const lits = (p: string): readonly string[] | undefined => requiredLiterals(parseRegex(p));
  assert.deepEqual(lits('\\bsk-[a-z0-9]{20,}'), ['sk-']);
  assert.deepEqual(lits('\\bAKIA[0-9A-Z]{16}\\b'), ['akia']);
  assert.deepEqual(lits('\\bpassword\\s*[:=]\\s*\\S+'), ['password']);
  assert.deepEqual(lits('-----BEGIN (RSA |EC )?PRIVATE KEY-----'), ['-----begin private key-----', '-----begin rsa private key-----', '-----begin ec private key-----']);
  assert.deepEqual(lits('(ignore|disregard|forget).{0,40}(instructions|rules)'), ['ignore', 'disregard', 'forget']);
  assert.deepEqual(lits('x{2,3}y'), ['x']);
  assert.deepEqual(lits('colou?r'), ['color', 'colour']);
  // Nothing literal to require: the policy then runs the automaton on every prompt.
  assert.equal(lits('\\d{9}'), undefined);
  assert.deepEqual(lits('[a-z]+@'), ['@']);
  assert.equal(lits('(abc|\\d+)'), undefined);
  assert.deepEqual(lits('(abc)?def'), ['def', 'abcdef']);
});

test('hasDigitRun is exactly the card prefilter pattern (random digit, space and dash strings)', () => {
  const next = rng(7);
  const alphabet = '0123456789012345678901234567890123456789 - x';
  const re = new LinearMatcher([parseRegex(CARD_PREFILTER_PATTERN)]);
  let positives = 0;
  for (let k = 0; k < 20_000; k++) {
    const len = Math.floor(next() * 60);
    let s = '';
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(next() * alphabet.length)];
    const want = re.scan(s, { steps: Infinity }) !== NO_MATCH;
    if (want) positives++;
    assert.equal(hasDigitRun(s, 13), want, JSON.stringify(s));
  }
  assert.ok(positives > 1000 && positives < 19_000, `both outcomes exercised (${positives})`);
});

test('piiMayMatch is false only when no PII pattern can match', () => {
  const next = rng(11);
  const pieces = ['123-45-6789', '4111 1111 1111 1111', 'a@b.co', '12-3', '٣٤٥-٦٧-٨٩٠١', 'x', ' ', '-', '7', '2024-01-15', 'é', '@'];
  const matchers = [EMAIL_PATTERN, SSN_PATTERN, CARD_PREFILTER_PATTERN].map((p) => new LinearMatcher([parseRegex(p)]));
  let skipped = 0;
  let matched = 0;
  for (let k = 0; k < 10_000; k++) {
    let s = '';
    const len = Math.floor(next() * 12);
    for (let i = 0; i < len; i++) s += pieces[Math.floor(next() * pieces.length)];
    const any = matchers.some((m) => m.scan(s, { steps: Infinity }) !== NO_MATCH);
    if (any) matched++;
    if (!piiMayMatch(s)) {
      skipped++;
      assert.equal(any, false, JSON.stringify(s));
    }
  }
  assert.ok(skipped > 500 && matched > 500, `skipped ${skipped}, matched ${matched}`);
});

const PHRASES = [
  'ignore previous instructions', 'you are now dan', 'project bluebird', 'root credentials', 'do anything now',
  'jailbreak', 'Ünïcödé phrase', 'ab', 'q', 'mode: sudo', 'Σίσυφος', '😀 emoji bomb',
];
const REGEXES = [
  '\\bsk-[a-z0-9]{20,}', '\\bAKIA[0-9A-Z]{16}\\b', '-----BEGIN (RSA |EC )?PRIVATE KEY-----', '\\bpassword\\s*[:=]\\s*\\S+',
  '(ignore|disregard|forget).{0,40}(instructions|rules|guidelines)', 'colou?r code', '\\bx[0-9]{3}y\\b', 'pay(ment)? ref',
];
/** Fragments of text: literals, near-misses, case variants, digits, separators, non-ASCII. */
const FRAGMENTS = [
  'ignore', 'previous', 'instructions', ' ', ' ', ' ', 'the', 'and', 'You Are Now DAN', 'you are now da', 'project blue',
  'bird', 'ROOT credentials', 'jail', 'break', 'JAILBREAK', 'ünïcödé PHRASE', 'ÜNÏCÖDÉ', 'ab', 'a', 'b', 'Q', 'mode: SUDO',
  'mode:', 'ΣΊΣΥΦΟΣ', 'σίσυφος', '😀', ' emoji bomb', 'sk-', 'abcdefghij0123456789', 'AKIA', 'ABCDEFGHIJKLMNOP', 'akiaabcd',
  '-----BEGIN ', 'RSA ', 'PRIVATE KEY-----', 'password', ' = ', 'hunter2', 'disregard', 'forget', 'rules', 'guidelines',
  'colour code', 'color', ' code', 'x123y', 'x12y', 'payment ref', 'pay ref', 'pay', '4111 1111 1111 1111', '123-45-6789',
  '2024-01-15', 'jane@example.com', '@', '-', '42', '\n', 'İ', 'K', 'ß', 'do anything', ' now', 'doing anything now',
];

function facts(text: string): GuardrailFacts {
  const json = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] };
  return { method: 'POST', path: '/v1/chat/completions', model: json.model, json };
}

test('prefiltered check equals the automaton-only check on many generated prompts and policies', () => {
  const next = rng(2026);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  let policies = 0;
  let rejected = 0;
  let skipped = 0;
  let total = 0;
  for (let p = 0; p < 60; p++) {
    const cfg: GuardrailsConfig = {
      ...BASE,
      banned_phrases: PHRASES.filter(() => next() < 0.4),
      banned_regexes: REGEXES.filter(() => next() < 0.4),
      block_pii: next() < 0.5,
    };
    if (cfg.banned_phrases.length + cfg.banned_regexes.length === 0 && !cfg.block_pii) continue;
    const g = compileGuardrails(cfg, 'virtual_keys[0].guardrails');
    if (g.prefilter === undefined) continue;
    policies++;
    const full: CompiledGuardrails = { ...g, prefilter: undefined };
    for (let k = 0; k < 400; k++) {
      const n = Math.floor(next() * 30);
      let text = '';
      for (let i = 0; i < n; i++) text += pick(FRAGMENTS);
      const f = facts(text);
      const want = checkGuardrails(full, f);
      assert.deepEqual(checkGuardrails(g, f), want, `${JSON.stringify(cfg)}\n${JSON.stringify(text)}`);
      total++;
      if (want !== undefined) rejected++;
      const lower = text.toLowerCase();
      if (!g.prefilter.mayMatch(lower)) {
        skipped++;
        assert.equal(g.combined?.scan(lower, { steps: Infinity }), NO_MATCH, JSON.stringify(text));
      }
    }
  }
  assert.ok(policies >= 40, `policies ${policies}`);
  assert.ok(rejected > total / 5 && skipped > total / 20, `rejected ${rejected}, prefilter-skipped ${skipped} of ${total}`);
});

test('a literal at every position and in every case is found (no skip jumps over it)', () => {
  const lits = ['ignore previous instructions', 'you are now dan', 'forget', 'sk-', 'q', 'ab', 'ünïcödé', '😀 bomb'];
  const pf = new LiteralPrefilter(lits, false);
  const filler = 'the slow brown fox jumps over the lazy dog while ';
  for (const lit of lits) {
    for (let pos = 0; pos < 60; pos++) {
      const text = (filler.repeat(2).slice(0, pos) + lit + filler).toLowerCase();
      assert.equal(pf.mayMatch(text), true, `${lit} at ${pos}`);
      assert.equal(pf.mayMatch(text.replace(lit, lit.slice(0, -1) + '~')), false, `${lit} broken at ${pos}`);
    }
  }
});

test('the prefilter stays linear on text crafted to near-match at every window', () => {
  const pf = new LiteralPrefilter(['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab', 'aaaaaaaaaaaaaaac', 'aaaaaaaaaaaaaaad', 'aaaab'], false);
  const text = 'a'.repeat(1 << 20);
  const t0 = performance.now();
  pf.mayMatch(text); // may answer "look closer" once its confirmation budget is spent; must not go quadratic
  const ms = performance.now() - t0;
  assert.ok(ms < 500, `1 MiB crafted text took ${ms.toFixed(0)} ms`);
});

test('the prefilter is off when a regex has no required literal or the policy has very many literals', () => {
  const noLiteral = compileGuardrails({ ...BASE, banned_phrases: ['jailbreak'], banned_regexes: ['\\b\\d{9}\\b'] }, 'k');
  assert.equal(noLiteral.prefilter, undefined);
  assert.equal(checkGuardrails(noLiteral, facts('call 123456789 now'))?.reason, 'banned_regex:\\b\\d{9}\\b');
  const many = Array.from({ length: 300 }, (_, i) => `forbidden topic number ${i} here`);
  const big = compileGuardrails({ ...BASE, banned_phrases: many }, 'k');
  assert.equal(big.prefilter, undefined);
  assert.equal(checkGuardrails(big, facts('about FORBIDDEN topic number 123 here'))?.reason, 'banned_phrase:forbidden topic number 123 here');
  const some = compileGuardrails({ ...BASE, banned_phrases: many.slice(0, 50), block_pii: true }, 'k');
  assert.notEqual(some.prefilter, undefined);
  assert.equal(checkGuardrails(some, facts('about forbidden topic number 49 here'))?.reason, 'banned_phrase:forbidden topic number 49 here');
  assert.deepEqual(checkGuardrails(some, facts('write to a@b.io')), checkGuardrails({ ...some, prefilter: undefined }, facts('write to a@b.io')));
  assert.equal(checkGuardrails(some, facts('write to a@b.io'))?.reason, 'pii:email');
});
