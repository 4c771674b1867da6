/**
 * Guardrails on the Anthropic Messages and Google GenAI surfaces (CONTRACT §3.7, §3.8, §4.12): the
 * same policy applies whatever protocol the client speaks, with the refusal in that protocol's error
 * shape, and the upstream is never called. Clients are the official SDKs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Anthropic, { PermissionDeniedError } from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { chatCompletion, sendJson, startUpstream, type MockUpstream } from '../helpers/upstream.js';
import { blockedCount } from './guardrails-kit.js';

let up: MockUpstream;
let gw: TestGateway;
const TOKEN = 'sk-gr-surfaces';

before(async () => {
  up = await startUpstream();
  up.handle((_req, res) => sendJson(res, 200, chatCompletion('fine', 'up-model')));
  gw = await startTestGateway({
    backends: [{ name: 'primary', base_url: up.baseUrl }],
    virtual_keys: [{
      id: 'surfaces', token: TOKEN,
      guardrails: { deny_models: ['claude-3-opus*', 'gemini-ultra*'], banned_phrases: ['project bluebird'], block_pii: true },
    }],
    router: { default_backends: [{ backend: 'primary' }] },
  });
});

after(async () => {
  await gw?.close();
  await up?.close();
});

function anthropic(): Anthropic {
  return new Anthropic({ apiKey: TOKEN, baseURL: gw.url, maxRetries: 0, timeout: 60_000 });
}

function genai(): GoogleGenAI {
  return new GoogleGenAI({ apiKey: TOKEN, httpOptions: { baseUrl: gw.url } });
}

async function anthropicRefusal(params: Anthropic.MessageCreateParamsNonStreaming): Promise<string> {
  try {
    await anthropic().messages.create(params);
  } catch (err) {
    assert.ok(err instanceof PermissionDeniedError, String(err));
    assert.equal(err.status, 403);
    const body = err.error as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'permission_error');
    return body.error.message;
  }
  return assert.fail('expected a refusal');
}

async function geminiRefusal(model: string, contents: string, system?: string): Promise<string> {
  try {
    await genai().models.generateContent({ model, contents, ...(system === undefined ? {} : { config: { systemInstruction: system } }) });
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, 403);
    const body = JSON.parse(err.message.slice(err.message.indexOf('{'))) as { error: { code: number; message: string; status: string } };
    assert.equal(body.error.status, 'PERMISSION_DENIED');
    return body.error.message;
  }
  return assert.fail('expected a refusal');
}

test('Anthropic Messages: model, phrase and PII rules apply (system and tool results included); clean requests pass', async () => {
  const seen = up.requests.length;
  const blocked = await blockedCount(gw);
  assert.equal(await anthropicRefusal({ model: 'claude-3-opus-latest', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }), 'guardrail rejected: deny_model:claude-3-opus*');
  assert.equal(await anthropicRefusal({
    model: 'claude-3-5-haiku', max_tokens: 10, system: 'Context: Project Bluebird launch', messages: [{ role: 'user', content: 'summarise' }],
  }), 'guardrail rejected: banned_phrase:project bluebird');
  assert.equal(await anthropicRefusal({
    model: 'claude-3-5-haiku', max_tokens: 10,
    messages: [
      { role: 'user', content: 'look up the customer' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'lookup', input: { q: 'customer' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ssn on file: 078-05-1120' }] },
    ],
  }), 'guardrail rejected: pii:ssn');
  assert.equal(up.requests.length, seen, 'no refused request reached the upstream');
  assert.equal(await blockedCount(gw), blocked + 3);
  const ok = await anthropic().messages.create({ model: 'claude-3-5-haiku', max_tokens: 10, messages: [{ role: 'user', content: 'hello there' }] });
  assert.equal(ok.type, 'message');
  assert.equal(up.requests.length, seen + 1);
});

test('Gemini generateContent: the model in the path and the prompt text are checked; clean requests pass', async () => {
  const seen = up.requests.length;
  assert.equal(await geminiRefusal('gemini-ultra-1', 'hi'), 'guardrail rejected: deny_model:gemini-ultra*');
  assert.equal(await geminiRefusal('gemini-1.5-flash', 'what is new on project BLUEBIRD?'), 'guardrail rejected: banned_phrase:project bluebird');
  assert.equal(await geminiRefusal('gemini-1.5-flash', 'reply in one line', 'The user is jane@example.com'), 'guardrail rejected: pii:email');
  assert.equal(up.requests.length, seen);
  const ok = await genai().models.generateContent({ model: 'gemini-1.5-flash', contents: 'hello there' });
  assert.equal(ok.text, 'fine');
  assert.equal(up.requests.length, seen + 1);
});
