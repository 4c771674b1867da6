import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGuardrails } from '../../src/guardrails/compile.js';
import { checkGuardrails } from '../../src/guardrails/check.js';
import { containsCardNumber, luhnValid } from '../../src/guardrails/pii.js';
import type { GuardrailsConfig } from '../../src/config/schema.js';

const PII: GuardrailsConfig = {
  allow_models: [], deny_models: [], banned_phrases: [], banned_regexes: [], block_pii: true, validate_schema: false,
};
const g = compileGuardrails(PII, 'virtual_keys[0].guardrails');

/** The reason a chat request with this user text is refused for, or undefined. */
function piiReason(text: string): string | undefined {
  const json = { model: 'm', messages: [{ role: 'user', content: text }] };
  return checkGuardrails(g, { method: 'POST', path: '/v1/chat/completions', model: 'm', json })?.reason;
}

test('Luhn checksum', () => {
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(luhnValid('4111111111111112'), false);
  assert.equal(luhnValid('378282246310005'), true);
});

test('payment cards: the standard test numbers are found in their printed layouts', () => {
  const cards = [
    '4111 1111 1111 1111',
    '4111-1111-1111-1111',
    '4111111111111111',
    '5500-0000-0000-0004',
    '5500 0000 0000 0004',
    '378282246310005',
    '3782 822463 10005',
    '6011111111111117',
    '2223000048400011',
    '4111111111111111110', // 19-digit Visa
  ];
  for (const c of cards) {
    assert.equal(containsCardNumber(`my card is ${c}, thanks`), true, c);
    assert.equal(piiReason(`pay with ${c}`), 'pii:card', c);
  }
  // Followed by CVV / expiry groups, or at the very start and end of the text.
  assert.equal(containsCardNumber('card 4111 1111 1111 1111 123 exp 12/27'), true);
  assert.equal(containsCardNumber('4111111111111111'), true);
  assert.equal(containsCardNumber('(4111-1111-1111-1111)'), true);
});

test('payment cards: no false positives on ordinary numbers', () => {
  assert.equal(luhnValid('8111111111111112') && luhnValid('2019202020212020'), true, 'the look-alikes below do pass Luhn');
  const ordinary = [
    'the meeting is on 2024-01-15 at 10:30',
    'dates 2024-01-15 2024-01-16 2024-01-17',
    'call +1 (415) 555-2671 or +44 20 7946 0958',
    'call 1-800-555-0199 ext 1234',
    'order #A4111111111111111 shipped', // glued to a letter: an identifier
    'order id 4111111111111112', // 16 digits, fails Luhn
    'invoice 5500000000000001',
    'version 1.2.3 and 10.4.1111111111111111', // part of a dotted version
    'pi is 3.1415926535897932384',
    'total 12345678901234567890123', // more than 19 digits
    'years 2019 2020 2021 2020 2023', // the first four groups pass Luhn: the 20xx prefix is no card network
    'uuid 123e4567-e89b-12d3-a456-426614174000',
    'amount 1,234,567,890.12',
    'ssn-like 123-45-6789 is not a card',
    'iban DE89 3704 0044 0532 0130 00',
    'tracking 9400 1000 0000 0000 0000 00',
    'isbn 978-3-16-148410-0',
    '8111 1111 1111 1112', // Luhn-valid but not a card network prefix
  ];
  for (const t of ordinary) assert.equal(containsCardNumber(t), false, t);
});

test('block_pii: emails and SSNs are found, ordinary text is not', () => {
  assert.equal(piiReason('reach me at Jane.Doe@Example.com please'), 'pii:email');
  assert.equal(piiReason('my ssn is 078-05-1120'), 'pii:ssn');
  for (const t of [
    'the build 2024-01-15 passed 12 of 13 tests in 4.5 s',
    'phone 415-555-2671, ticket 12-345-6789',
    'mention @someone on example.com',
    'version v1.2.3-beta.4, port 8080, ip 192.168.1.10',
    'order 12345678 costs $1,299.00',
  ]) assert.equal(piiReason(t), undefined, t);
});

test('block_pii off: nothing is flagged', () => {
  const off = compileGuardrails({ ...PII, block_pii: false }, 'k');
  const json = { model: 'm', messages: [{ role: 'user', content: 'jane@example.com 078-05-1120 4111 1111 1111 1111' }] };
  assert.equal(checkGuardrails(off, { method: 'POST', path: '/v1/chat/completions', model: 'm', json }), undefined);
});
