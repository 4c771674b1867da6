import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultOptions, FLAGS, FlagError, parseArgs, parseCodes, parseListen, usage, UsageError } from '../../src/cli/args.js';

function fails(argv: string[], kind: typeof UsageError | typeof FlagError, message: string | RegExp): void {
  assert.throws(() => parseArgs(argv), (err: unknown) => {
    assert.ok(err instanceof kind, `expected ${kind.name}, got ${String(err)}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

test('parseListen: HOST:PORT, [v6]:PORT, :PORT; rejects the rest', () => {
  assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseListen('[::1]:9000'), { host: '::1', port: 9000 });
  assert.deepEqual(parseListen(':7000'), { host: '0.0.0.0', port: 7000 });
  assert.deepEqual(parseListen('0.0.0.0:65535'), { host: '0.0.0.0', port: 65535 });
  for (const bad of ['8080', 'host', 'host:', 'host:65536', 'host:-1', 'host:80a', '[::1]9000', '[::1', 'host:123456']) {
    assert.equal(parseListen(bad), undefined, bad);
  }
});

test('parseCodes: trimmed, de-duplicated, sorted; empty, non-integer or out-of-range is invalid', () => {
  assert.deepEqual(parseCodes('503, 429,500,429'), [429, 500, 503]);
  assert.deepEqual(parseCodes(' 404 '), [404]);
  assert.deepEqual(parseCodes('500,'), [500]);
  for (const bad of ['', ' ', ',', 'abc', '500,x', '5.5', '42', '1000', '700', '-500']) assert.equal(parseCodes(bad), undefined, bad);
});

test('defaults match the contract', () => {
  const o = parseArgs(['cfg.json']);
  assert.equal(o.configPath, 'cfg.json');
  assert.deepEqual(o.listen, { host: '127.0.0.1', port: 8080 });
  assert.equal(o.maxInFlight, 256);
  assert.equal(o.maxBodyBytes, 67108864);
  assert.deepEqual(o.retryStatusCodes, [429, 500, 502, 503, 504]);
  assert.equal(o.networkErrorAction, 'fallback');
  assert.equal(o.timeoutErrorAction, 'fallback');
  assert.equal(o.cbFailureThreshold, 3);
  assert.equal(o.healthCheckPath, '/v1/models');
  assert.equal(o.shutdownGraceSecs, 30);
  assert.deepEqual({ ...o, configPath: undefined }, defaultOptions());
});

test('values: next argument or --flag=value; --addr is an alias; --upstream repeats', () => {
  const o = parseArgs([
    '--listen=127.0.0.1:0', 'cfg.yaml', '--proxy-max-in-flight', '8', '--proxy-retry-status-codes=502,500',
    '--upstream', 'a=http://127.0.0.1:1/v1', '--upstream=b=https://b.example/v1', '--proxy-timeout-error-action', 'none',
  ]);
  assert.equal(o.configPath, 'cfg.yaml');
  assert.deepEqual(o.listen, { host: '127.0.0.1', port: 0 });
  assert.equal(o.maxInFlight, 8);
  assert.deepEqual(o.retryStatusCodes, [500, 502]);
  assert.equal(o.retry, true, 'sub-flag implies --proxy-retry');
  assert.deepEqual(o.upstreams, [{ name: 'a', url: 'http://127.0.0.1:1/v1' }, { name: 'b', url: 'https://b.example/v1' }]);
  assert.equal(o.timeoutErrorAction, 'none');
  assert.deepEqual(parseArgs(['--addr', '[::1]:5', 'c.json']).listen, { host: '::1', port: 5 });
});

test('sub-flags imply their feature; floors apply', () => {
  const o = parseArgs(['c.json', '--proxy-cb-no-server-errors', '--proxy-health-check-interval-secs', '0', '--proxy-cb-failure-threshold', '0']);
  assert.equal(o.circuitBreaker, true);
  assert.equal(o.cbServerErrors, false);
  assert.equal(o.healthChecks, true);
  assert.equal(o.healthCheckIntervalSecs, 1);
  assert.equal(o.cbFailureThreshold, 1);
  assert.equal(parseArgs(['c.json', '--proxy-health-check-path', 'healthz']).healthCheckPath, '/healthz');
});

test('--help and --version win anywhere in argv', () => {
  assert.equal(parseArgs(['--nope', '--help']).help, true);
  assert.equal(parseArgs(['c.json', '-h']).help, true);
  assert.equal(parseArgs(['--listen', 'bad', '-V']).version, true);
  assert.equal(parseArgs(['--version']).version, true);
});

test('usage errors: unknown arg, missing value, repeated flag, extra positional, value on a switch', () => {
  fails(['c.json', '--nope'], UsageError, 'unknown arg: --nope');
  fails(['c.json', '--nope=1'], UsageError, 'unknown arg: --nope=1');
  fails(['c.json', '-x'], UsageError, 'unknown arg: -x');
  fails(['c.json', '--listen'], UsageError, 'missing value for --listen');
  fails(['c.json', '--proxy-max-in-flight'], UsageError, 'missing value for --proxy-max-in-flight');
  fails(['c.json', '--listen', ':1', '--addr', ':2'], UsageError, '--listen given more than once');
  fails(['a.json', 'b.json'], UsageError, 'unexpected extra argument: b.json');
  fails(['c.json', '--check=yes'], UsageError, '--check takes no value');
});

test('flag errors: invalid values name the flag', () => {
  fails(['c.json', '--proxy-max-in-flight', 'lots'], FlagError, /^invalid --proxy-max-in-flight/);
  fails(['c.json', '--proxy-max-in-flight', '1.5'], FlagError, /^invalid --proxy-max-in-flight/);
  fails(['c.json', '--proxy-max-in-flight', '-3'], FlagError, /^invalid --proxy-max-in-flight/);
  fails(['c.json', '--proxy-max-in-flight', '0'], FlagError, '--proxy-max-in-flight must be > 0');
  fails(['c.json', '--proxy-max-body-bytes=0'], FlagError, '--proxy-max-body-bytes must be > 0');
  fails(['c.json', '--listen', 'nowhere'], FlagError, /^invalid --listen/);
  fails(['c.json', '--addr', 'h:99999'], FlagError, /^invalid --addr/);
  fails(['c.json', '--proxy-retry-status-codes', '500,abc'], FlagError, /^invalid --proxy-retry-status-codes/);
  fails(['c.json', '--proxy-fallback-status-codes', ''], FlagError, /^invalid --proxy-fallback-status-codes/);
  fails(['c.json', '--proxy-network-error-action', 'explode'], FlagError, /^invalid --proxy-network-error-action/);
  fails(['c.json', '--upstream', 'noequals'], FlagError, /^--upstream must be NAME=BASE_URL/);
  fails(['c.json', '--upstream', 'a=ftp://x'], FlagError, /^invalid --upstream/);
  fails(['c.json', '--proxy-health-check-path', ' '], FlagError, '--proxy-health-check-path cannot be empty');
});

test('--help text lists every flag name of the table', () => {
  const text = usage();
  for (const f of FLAGS) for (const n of f.names) assert.ok(text.includes(n), `${n} missing from --help`);
});

test('contract flags not implemented yet are rejected as unknown, never silently ignored', () => {
  const contractFlags = [
    '--admin-token', '--admin-token-env', '--admin-read-token', '--admin-read-token-env', '--admin-tenant-token',
    '--admin-tenant-token-env', '--admin-tenant-read-token', '--admin-tenant-read-token-env', '--state', '--sqlite', '--pg',
    '--postgres', '--pg-env', '--postgres-env', '--mysql', '--mysql-env', '--redis', '--redis-env', '--redis-prefix',
    '--audit-retention-secs', '--db-doctor', '--proxy-cache', '--proxy-cache-ttl', '--proxy-cache-max-entries',
    '--proxy-cache-max-body-bytes', '--proxy-cache-max-total-body-bytes', '--proxy-cache-max-stream-body-bytes',
    '--proxy-cache-streaming', '--proxy-usage-max-body-bytes', '--pricing-litellm', '--prometheus-metrics',
    '--prometheus-max-key-series', '--prometheus-max-model-series', '--prometheus-max-backend-series',
    '--prometheus-max-path-series', '--otel', '--otel-endpoint', '--otel-json', '--devtools', '--backend',
  ];
  const known = new Set(FLAGS.flatMap((f) => f.names));
  for (const flag of contractFlags.filter((f) => !known.has(f))) fails(['c.json', flag, 'x'], UsageError, `unknown arg: ${flag}`);
});
