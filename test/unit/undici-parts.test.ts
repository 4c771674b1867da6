import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import * as undici from 'undici';
import { Agent, errors } from '../../src/upstream/undici.js';

test('undici parts loaded from their own modules are the very objects undici exports', () => {
  assert.equal(Agent, undici.Agent);
  assert.equal(errors, undici.errors);
  assert.equal(errors.HeadersTimeoutError, undici.errors.HeadersTimeoutError);
  const a = new Agent({ connections: 1 });
  assert.ok(a instanceof undici.Dispatcher);
  return a.close();
});

test('without undici\'s index, an Agent still makes requests and the index stays unloaded', () => {
  const mod = new URL('../../src/upstream/undici.js', import.meta.url).href;
  const script = `
    import { createServer } from 'node:http';
    import { createRequire } from 'node:module';
    const { Agent, errors } = await import(${JSON.stringify(mod)});
    const server = createServer((req, res) => res.end('ok ' + req.method + ' ' + req.url));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const agent = new Agent();
    const res = await agent.request({ origin: 'http://127.0.0.1:' + server.address().port, path: '/v1/models', method: 'GET' });
    const text = await res.body.text();
    await agent.close();
    server.close();
    const require = createRequire(import.meta.url);
    const index = Object.keys(require.cache).filter((f) => /undici[\\\\/]index\\.js$/.test(f));
    console.log(JSON.stringify({ status: res.statusCode, text, index, timeoutError: typeof errors.HeadersTimeoutError }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out.trim()), { status: 200, text: 'ok GET /v1/models', index: [], timeoutError: 'function' });
});
