/** Admin token flags (CONTRACT §1.2, §1.3): parsing, exclusions, env and secret:// resolution, and the token check. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AdminAuth, presentedAdminToken } from '../../src/admin/auth.js';
import { resolveAdminTokens } from '../../src/admin/tokens.js';
import { FlagError, parseArgs } from '../../src/cli/args.js';
import { makeEnvLookup } from '../../src/config/env.js';

function resolve(argv: string[], env: NodeJS.ProcessEnv, dotenv = new Map<string, string>()) {
  return resolveAdminTokens(parseArgs(['gw.json', ...argv]), makeEnvLookup(env, dotenv), env);
}

test('admin token flags parse, tenant flags repeat, values trimmed', () => {
  const o = parseArgs(['gw.json', '--admin-token', 'w', '--admin-read-token-env', 'R', '--admin-tenant-token', ' acme = t1 ',
    '--admin-tenant-token', 'beta=t2', '--admin-tenant-read-token-env', 'acme=ENV_A', '--admin-tenant-read-token=beta=t3']);
  assert.equal(o.adminToken, 'w');
  assert.equal(o.adminReadTokenEnv, 'R');
  assert.deepEqual(o.adminTenantTokens, [{ tenant: 'acme', token: 't1' }, { tenant: 'beta', token: 't2' }]);
  assert.deepEqual(o.adminTenantReadTokenEnvs, [{ tenant: 'acme', env: 'ENV_A' }]);
  assert.deepEqual(o.adminTenantReadTokens, [{ tenant: 'beta', token: 't3' }]);
});

test('exclusions and tenant specs are fatal with the contract messages', () => {
  const fails = (argv: string[], msg: string) => assert.throws(() => parseArgs(['gw.json', ...argv]), (e: unknown) => e instanceof FlagError && e.message === msg);
  fails(['--admin-token', 'a', '--admin-token-env', 'X'], '--admin-token cannot be combined with --admin-token-env');
  fails(['--admin-read-token-env', 'X', '--admin-read-token', 'a'], '--admin-read-token cannot be combined with --admin-read-token-env');
  fails(['--admin-tenant-token', 'acme'], '--admin-tenant-token must be TENANT_ID=TOKEN');
  fails(['--admin-tenant-token', '=tok'], '--admin-tenant-token must be TENANT_ID=TOKEN');
  fails(['--admin-tenant-read-token-env', 'acme='], '--admin-tenant-read-token-env must be TENANT_ID=TOKEN');
  fails(['--admin-tenant-token', 'acme=a', '--admin-tenant-token-env', 'acme=X'], 'duplicate tenant for --admin-tenant-token: acme');
  fails(['--admin-tenant-read-token', 'b=a', '--admin-tenant-read-token', 'b=c'], 'duplicate tenant for --admin-tenant-read-token: b');
  // The same tenant may hold a write and a read token (different families).
  assert.doesNotThrow(() => parseArgs(['gw.json', '--admin-tenant-token', 'acme=a', '--admin-tenant-read-token', 'acme=b']));
});

test('env flags resolve (dotenv first), missing and blank vars are fatal, secret:// values resolve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'admin-tokens-'));
  try {
    const file = join(dir, 'tok');
    writeFileSync(file, 'from-file\n');
    const r = resolve(['--admin-token-env', 'ADM', '--admin-read-token', `secret://file?path=${file}`,
      '--admin-tenant-token-env', 'acme=TEN', '--admin-tenant-read-token', 'acme=secret://env/TEN_R'],
    { ADM: 'process-value', TEN: 'tenant-w', TEN_R: 'tenant-r' }, new Map([['ADM', 'dotenv-value']]));
    assert.deepEqual(r, {
      adminToken: 'dotenv-value',
      adminReadToken: 'from-file',
      adminTenantTokens: [{ tenant: 'acme', token: 'tenant-w' }],
      adminTenantReadTokens: [{ tenant: 'acme', token: 'tenant-r' }],
    });
    assert.throws(() => resolve(['--admin-token-env', 'NOPE'], {}), { message: 'missing env var for --admin-token-env: NOPE' });
    assert.throws(() => resolve(['--admin-token-env', 'BLANK'], { BLANK: '  ' }), { message: '--admin-token-env is empty: BLANK' });
    assert.throws(() => resolve(['--admin-tenant-read-token-env', 'a=NOPE'], {}), { message: 'missing env var for --admin-tenant-read-token-env: NOPE' });
    assert.throws(() => resolve(['--admin-token', '  '], {}), { message: '--admin-token resolved to an empty value' });
    assert.throws(() => resolve(['--admin-token', 'secret://env/MISSING'], {}), { message: 'missing env var: MISSING' });
    assert.throws(() => resolve(['--admin-token', 'secret://vault/x'], {}), /failed to resolve secret for --admin-token/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('AdminAuth: each token maps to its access; unknown, empty and missing tokens do not', () => {
  const auth = new AdminAuth({
    adminToken: 'W', adminReadToken: 'R',
    adminTenantTokens: [{ tenant: 'acme', token: 'AW' }], adminTenantReadTokens: [{ tenant: 'acme', token: 'AR' }],
  });
  assert.ok(auth.enabled && auth.writeCapable);
  assert.deepEqual(auth.verify('W'), { write: true, tenant: undefined });
  assert.deepEqual(auth.verify('R'), { write: false, tenant: undefined });
  assert.deepEqual(auth.verify('AW'), { write: true, tenant: 'acme' });
  assert.deepEqual(auth.verify('AR'), { write: false, tenant: 'acme' });
  assert.equal(auth.verify('w'), undefined);
  assert.equal(auth.verify('WW'), undefined);
  assert.equal(auth.verify(undefined), undefined);
  assert.equal(new AdminAuth({}).enabled, false);
  assert.equal(new AdminAuth({ adminReadToken: 'R' }).writeCapable, false);
  assert.equal(presentedAdminToken({ authorization: 'Bearer  abc ' }), 'abc');
  assert.equal(presentedAdminToken({ authorization: 'bearer abc', 'x-admin-token': 'other' }), 'abc');
  assert.equal(presentedAdminToken({ 'x-admin-token': ' xyz ' }), 'xyz');
  assert.equal(presentedAdminToken({ authorization: 'Basic abc' }), undefined);
  assert.equal(presentedAdminToken({ authorization: 'Bearer ' }), undefined);
});
