import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { RedactionSchema } from '../../src/config/observability.js';
import { createLogger, redactingLogger, type EventPayload } from '../../src/observability/logger.js';
import { Redactor } from '../../src/observability/redact.js';
import { seededRandom as rng } from '../helpers/rng.js';

// The human access line redacts only the fields it prints (src/observability/logger.ts): the line must be
// exactly the one printed from the fully redacted payload, whatever the redaction rules and the payload.

function capture(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => { text += c.toString(); });
  // Drop the timestamp: the two loggers print at different instants.
  return { stream, lines: () => text.split('\n').filter((l) => l !== '').map((l) => l.slice(l.indexOf(' ') + 1)) };
}

test('access lines from the redacted subset equal access lines from the fully redacted payload', () => {
  const configs = [
    RedactionSchema.parse({}),
    RedactionSchema.parse({ redact_key_names: ['backend', 'api_key'], redact_json_pointers: ['/model', '/extra/secret'], redact_regexes: ['gpt-[0-9]+', 'sk-[A-Za-z0-9]{10,}'] }),
    RedactionSchema.parse({ redact_key_names: ['request_id'], redact_query_params: ['path'], replacement: '***' }),
  ];
  const r = rng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const strings = ['gpt-4o', 'sk-abcdefghijklmnop', '/v1/chat/completions?api_key=sk-abcdefghijklmnop', 'Bearer tok', 'primary', 'req-1', ''];
  for (const cfg of configs) {
    const redactor = new Redactor(cfg);
    const fast = capture();
    const slow = capture();
    const viaSubset = redactingLogger(createLogger({ json: false, destination: fast.stream }), redactor, 1);
    const reference = createLogger({ json: false, destination: slow.stream });
    for (let i = 0; i < 500; i++) {
      const event = pick(['proxy.response', 'proxy.error', 'proxy.blocked', 'proxy.retry']);
      const payload: EventPayload = {};
      for (const k of ['method', 'path', 'status', 'latency_ms', 'virtual_key_id', 'model', 'backend', 'error_code', 'request_id', 'extra', 'api_key']) {
        const roll = r();
        if (roll < 0.15) continue;
        if (roll < 0.2) payload[k] = null;
        else if (roll < 0.3) payload[k] = Math.floor(r() * 1000);
        else if (roll < 0.35) payload[k] = { secret: pick(strings), other: pick(strings) };
        else payload[k] = pick(strings);
      }
      viaSubset.event(event, payload);
      reference.event(event, redactor.redact(payload) as EventPayload);
    }
    assert.deepEqual(fast.lines(), slow.lines());
    assert.equal(fast.lines().length, 500);
  }
});
