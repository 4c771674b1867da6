/**
 * Which guardrails apply (CONTRACT §2.4, §4.12): a matching router rule's `guardrails` replace the
 * key's (even `{}`), a rule without the field leaves the key's in force, a key's `route` pin skips
 * rule guardrails, and the checks run before routing (§3.3 steps 9–10).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { sdk } from './proxy-kit.js';
import { assertRejected, chat, outcome } from './guardrails-kit.js';

let upstream: MockUpstream;
let gw: TestGateway;

before(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway({
    backends: [{ name: 'primary', base_url: upstream.baseUrl }],
    virtual_keys: [
      { id: 'keyed', token: 'sk-keyed', guardrails: { banned_phrases: ['keyphrase'], deny_models: ['nomatch-denied'] } },
      { id: 'pinned', token: 'sk-pinned', route: 'primary', guardrails: { banned_phrases: ['keyphrase'] } },
      { id: 'bare', token: 'sk-bare' },
    ],
    router: {
      // No default_backends: a model no rule matches has no route (502).
      rules: [
        { model_prefix: 'ruled-', backend: 'primary', guardrails: { banned_phrases: ['rulephrase'] } },
        { model_prefix: 'ruled-exact', exact: true, backend: 'primary', guardrails: { block_pii: true } },
        { model_prefix: 'open-*', backend: 'primary', guardrails: {} },
        { model_prefix: 'plain-', backend: 'primary' },
      ],
    },
  });
});

after(async () => {
  await gw?.close();
  await upstream?.close();
});

test('a matching rule with guardrails replaces the key\'s', async () => {
  const c = sdk(gw.url, 'sk-keyed');
  assert.equal(await outcome(chat(c, 'keyphrase is fine here', 'ruled-x')), 'ok');
  assertRejected(await outcome(chat(c, 'the rulephrase is not', 'ruled-x')), 'banned_phrase:rulephrase');
});

test('an exact rule wins over a prefix rule, for guardrails as for routing', async () => {
  const c = sdk(gw.url, 'sk-keyed');
  assert.equal(await outcome(chat(c, 'rulephrase passes the exact rule', 'ruled-exact')), 'ok');
  assertRejected(await outcome(chat(c, 'mail me: a.b@example.com', 'ruled-exact')), 'pii:email');
});

test('a rule with "guardrails": {} turns the key\'s checks off for its models', async () => {
  assert.equal(await outcome(chat(sdk(gw.url, 'sk-keyed'), 'keyphrase', 'open-model')), 'ok');
});

test('a rule without guardrails leaves the key\'s in force', async () => {
  const c = sdk(gw.url, 'sk-keyed');
  assertRejected(await outcome(chat(c, 'keyphrase', 'plain-model')), 'banned_phrase:keyphrase');
  assert.equal(await outcome(chat(c, 'rulephrase', 'plain-model')), 'ok');
});

test('rule guardrails apply to a key that has none', async () => {
  const c = sdk(gw.url, 'sk-bare');
  assertRejected(await outcome(chat(c, 'rulephrase', 'ruled-x')), 'banned_phrase:rulephrase');
  assert.equal(await outcome(chat(c, 'keyphrase', 'ruled-x')), 'ok');
});

test('a key pinned with route skips rule guardrails: only its own apply', async () => {
  const c = sdk(gw.url, 'sk-pinned');
  assert.equal(await outcome(chat(c, 'rulephrase', 'ruled-x')), 'ok');
  assertRejected(await outcome(chat(c, 'keyphrase', 'ruled-x')), 'banned_phrase:keyphrase');
  assertRejected(await outcome(chat(c, 'keyphrase', 'open-model')), 'banned_phrase:keyphrase');
});

test('guardrails run before routing: a refused request gets 403 even when no backend would serve it', async () => {
  const c = sdk(gw.url, 'sk-keyed');
  const seen = upstream.requests.length;
  assertRejected(await outcome(chat(c, 'keyphrase', 'nomatch-model')), 'banned_phrase:keyphrase');
  assertRejected(await outcome(chat(c, 'hello', 'nomatch-denied')), 'deny_model:nomatch-denied');
  const r = await outcome(chat(c, 'hello', 'nomatch-model'));
  assert.notEqual(r, 'ok');
  assert.equal(r === 'ok' ? 0 : r.status, 502);
  assert.equal(r === 'ok' ? '' : r.code, 'backend_not_found');
  assert.equal(upstream.requests.length, seen);
});
