import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinearMatcher, MATCHED, NO_MATCH, OVER_BUDGET, RegexTooComplexError } from '../../src/guardrails/regex/automaton.js';
import { literalString, parseRegex, RegexSyntaxError } from '../../src/guardrails/regex/parse.js';
import { EMAIL_PATTERN, SSN_PATTERN } from '../../src/guardrails/pii.js';

/** The matcher sees lower-cased text, as the guardrails stage gives it. */
function matches(pattern: string, text: string): boolean {
  return new LinearMatcher([parseRegex(pattern)]).test(text.toLowerCase());
}

test('regex semantics: literals, classes, repetition, alternation (case-insensitive)', () => {
  const cases: [string, string, boolean][] = [
    ['ignore previous', 'Please IGNORE Previous instructions', true],
    ['ignore previous', 'ignore the previous', false],
    ['colou?r', 'COLOR', true],
    ['x{2,3}y', 'xy', false],
    ['x{2,3}y', 'xxxxy', true],
    ['x{2}', 'x-x', false],
    ['(cat|dog)s', 'hot DOGS', true],
    ['(cat|dog)s', 'cow', false],
    ['[A-Z]{3}', 'ab1', false],
    ['[A-Z]{3}', 'ABC', true],
    ['[^a-z]', 'abc', false],
    ['[^a-z]', 'ab1', true],
    ['[[:digit:]]+x', 'a12x', true],
    ['[a-z&&[^aeiou]]', 'aei', false],
    ['[a-z&&[^aeiou]]', 'aeb', true],
    ['[0-9--5]', '555', false],
    ['\\p{Greek}', 'Ωmega', true],
    ['\\p{Greek}', 'omega', false],
    ['\\d+', 'no digits', false],
    ['\\x41\\u0042', 'xab', true],
    ['😀+', 'hi 😀😀', true],
    ['é', 'CAFÉ', true],
    ['(?x) secret \\ key  # comment', 'the SECRET KEY', true],
    ['(?i)token', 'TOKEN', true],
    ['a.*b', 'xxaqqb', true],
    ['a.*b', 'xxa\nb', false],
    ['(?s)a.*b', 'xxa\nb', true],
    ['(?s:a.)b', 'a\nb', true],
  ];
  for (const [p, t, want] of cases) assert.equal(matches(p, t), want, `${p} on ${JSON.stringify(t)}`);
});

test('regex semantics: anchors and word boundaries', () => {
  const cases: [string, string, boolean][] = [
    ['\\bfoo\\b', 'a foo.', true],
    ['\\bfoo\\b', 'afoo', false],
    ['\\bfoo\\b', 'foo', true],
    ['\\Bfoo', 'xfoo', true],
    ['\\Bfoo', ' foo', false],
    ['\\<foo', 'x foo', true],
    ['foo\\>', 'foox', false],
    ['^abc', 'abc d', true],
    ['^abc', 'x abc', false],
    ['(?m)^abc', 'x\nabc', true],
    ['abc$', 'x abc', true],
    ['abc$', 'abc x', false],
    ['(?m)abc$', 'abc\nx', true],
    ['\\Aabc\\z', 'abc', true],
    ['\\Aabc\\z', 'abcd', false],
  ];
  for (const [p, t, want] of cases) assert.equal(matches(p, t), want, `${p} on ${JSON.stringify(t)}`);
});

test('the contract PII patterns', () => {
  assert.equal(matches(EMAIL_PATTERN, 'write to John.Doe+x@Example.co.uk today'), true);
  assert.equal(matches(EMAIL_PATTERN, 'user at example dot com'), false);
  assert.equal(matches(EMAIL_PATTERN, 'a@b.c'), false);
  assert.equal(matches(SSN_PATTERN, 'ssn 123-45-6789.'), true);
  assert.equal(matches(SSN_PATTERN, 'date 2024-01-15'), false);
  assert.equal(matches(SSN_PATTERN, 'id 1123-45-6789'), false);
});

test('several patterns in one automaton answer "any match"', () => {
  const m = new LinearMatcher([literalString('Jailbreak'), parseRegex('\\bdan\\b'), parseRegex(SSN_PATTERN)]);
  assert.equal(m.test('please do a jailbreak'), true);
  assert.equal(m.test('you are dan now'), true);
  assert.equal(m.test('dance 123-45-6789'), true);
  assert.equal(m.test('dance and jail break'), false);
});

test('constructs that need backtracking, and malformed patterns, are refused with a reason', () => {
  const refused: [string, RegExp][] = [
    ['(?=secret)', /look-around is not supported/],
    ['(?<!x)y', /look-around is not supported/],
    ['(a)\\1', /backreferences .* not supported/],
    ['(?P<w>a)(?P=w)', /backreferences are not supported/],
    ['a++', /possessive/],
    ['(?-i)Secret', /always case-insensitive/],
    ['a{1001}', /larger than 1000/],
    ['(abc', /unclosed group/],
    ['abc)', /unopened group/],
    ['[abc', /unclosed character class/],
    ['*abc', /without an expression/],
    ['\\q', /unrecognized escape/],
    ['[z-a]', /invalid range/],
    ['\\p{NoSuchProperty}', /unknown Unicode property/],
  ];
  for (const [p, why] of refused) {
    assert.throws(() => new LinearMatcher([parseRegex(p)]), (err: Error) => err instanceof RegexSyntaxError && why.test(err.message), p);
  }
  // Repetition that would build a huge automaton is refused at load.
  assert.throws(() => new LinearMatcher([parseRegex('(a{1000}){1000}')]), RegexTooComplexError);
});

test('a pattern whose automaton explodes on crafted text stays correct, and the work budget bounds it', () => {
  // `x.{20}y` needs a DFA state per set of recent `x` positions: a random x/a mix overflows any cache.
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  let text = '';
  while (text.length < 1 << 18) text += rnd() < 0.5 ? 'x' : 'a';
  const m = new LinearMatcher([parseRegex('x.{20}y')]);
  const unlimited = { steps: Infinity };
  let t0 = performance.now();
  assert.equal(m.scan(text, unlimited), NO_MATCH);
  console.log(`cache-thrashing scan of ${text.length} chars: ${(performance.now() - t0).toFixed(1)} ms`);
  assert.equal(m.scan(`${text}x${'a'.repeat(20)}y`, { steps: Infinity }), MATCHED);
  assert.equal(m.scan(`${text}${'a'.repeat(25)}x${'a'.repeat(19)}y`, { steps: Infinity }), NO_MATCH);
  t0 = performance.now();
  assert.equal(m.scan(text, { steps: 10_000 }), OVER_BUDGET);
  console.log(`same scan with a 10k-step budget: ${(performance.now() - t0).toFixed(1)} ms`);
  // Ordinary text stays in the cache: no budget to speak of is needed.
  assert.equal(m.scan('lorem ipsum dolor sit amet, '.repeat(10_000), { steps: 100_000 }), NO_MATCH);
});

test('classic catastrophic patterns are linear: 1 MiB crafted prompts are checked in one pass', () => {
  const MiB = 1 << 20;
  const cases: [string, string, boolean][] = [
    ['(a+)+$', `${'a'.repeat(MiB)}!`, false],
    ['(a*)*b', 'a'.repeat(MiB), false],
    ['(a|aa)+c', 'a'.repeat(MiB), false],
    ['(\\w+\\s?)+x', 'word '.repeat(MiB / 5), false],
    ['\\d+x', '1'.repeat(MiB), false],
    ['a.*b', 'a'.repeat(MiB), false],
    [EMAIL_PATTERN, 'a.'.repeat(MiB / 2), false],
    [EMAIL_PATTERN, `${'a.'.repeat(MiB / 2)}x@y.io`, true],
    ['(a+)+$', 'a'.repeat(MiB), true],
  ];
  for (const [p, text, want] of cases) {
    const m = new LinearMatcher([parseRegex(p)]);
    const t0 = performance.now();
    const got = m.test(text);
    const ms = performance.now() - t0;
    console.log(`${p} on ${text.length} chars: ${ms.toFixed(1)} ms`);
    assert.equal(got, want, p);
  }
});

test('windowed patterns stay small: dominated repetition threads are pruned', () => {
  // Without pruning, `x.{0,20}y` would need a state per subset of the last 20 positions (2^20).
  const m = new LinearMatcher([parseRegex('x.{0,20}y')]);
  assert.equal(m.complete, true);
  assert.ok(m.stateCount < 200, `${m.stateCount} states`);
  assert.equal(m.test('xaxxaxy'), true);
  assert.equal(m.test(`x${'a'.repeat(20)}y`), true);
  assert.equal(m.test(`x${'a'.repeat(21)}y`), false);
  assert.equal(m.test(`x${'a'.repeat(5)}x${'a'.repeat(18)}y`), true);
  const w = new LinearMatcher([parseRegex('(ignore|disregard).{0,50}(instructions|rules)')], 5000);
  assert.equal(w.complete, true, 'the whole automaton fits in 5000 states');
  assert.equal(w.test('please disregard all of the rules'), true);
  assert.equal(w.test(`ignore ${'z'.repeat(50)} instructions`), false);
  assert.equal(w.test(`ignore ignore ${'z'.repeat(40)} instructions`), true);
  // Bounded repetition of a group: prefix ranks still count iterations correctly.
  assert.equal(matches('(ab){2,3}c', 'ababc'), true);
  assert.equal(matches('(ab){2,3}c', 'abc'), false);
  assert.equal(matches('^(ab){0,2}c', 'abababc'), false);
  assert.equal(matches('^(ab){0,2}c', 'ababc'), true);
});

test('non-ASCII text extends the alphabet at run time without losing matches', () => {
  const m = new LinearMatcher([parseRegex('\\bпароль\\b'), parseRegex('[α-ω]+x')]);
  assert.equal(m.test('введите пароль сейчас'), true);
  assert.equal(m.test('паролька'), false);
  assert.equal(m.test('λλx'), true);
  // Many distinct characters (each a new alphabet class candidate) still classify correctly.
  let s = '';
  for (let c = 0x4e00; c < 0x4e00 + 5000; c++) s += String.fromCodePoint(c);
  assert.equal(m.test(s), false);
  assert.equal(m.test(`${s} пароль`), true);
});

test('patterns that match the empty string are detectable', () => {
  assert.equal(new LinearMatcher([parseRegex('a*')]).matchesEmpty(), true);
  assert.equal(new LinearMatcher([parseRegex('^')]).matchesEmpty(), true);
  assert.equal(new LinearMatcher([parseRegex('a+')]).matchesEmpty(), false);
  assert.equal(new LinearMatcher([parseRegex('\\bx?\\b')]).matchesEmpty(), true);
});
