/**
 * Moving a Mosquitto deployment: files written by the real mosquitto_passwd are
 * imported over HTTP and with `dakkio mosquitto import`, then devices connect to
 * dakkio with the real mosquitto_pub / mosquitto_sub and those username/passwords,
 * with the acl_file's rights (a denied publish is acknowledged and dropped).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOSQUITTO_PASSWD_BIN, mosquittoPasswd, requireBinary } from '../mosquitto-compat/testing/mosquitto-binaries.ts';
import { type CompatDakkio, startCompatDakkio } from './harness/mosquitto-dakkio.ts';
import { messageLines, mosquittoClientsMissing, mosquittoPub, mosquittoSub } from './mosquitto-clients.ts';

const missing = mosquittoClientsMissing() ?? (requireBinary(MOSQUITTO_PASSWD_BIN).available ? null : 'mosquitto_passwd missing');
if (missing) console.warn(`skipping mosquitto import tests: ${missing}`);

const ACL = `user meter1
topic write plant/meter1/#
topic read plant/cmd/#

user meter2
topic read plant/#

user legacy6
topic readwrite legacy/#

pattern readwrite devices/%u/#
`;

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'dakkio.mjs'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(missing !== null)('importing Mosquitto files, then devices connect with them', () => {
  let env: CompatDakkio;
  let dir: string;
  let passwordFile: string;
  const conn = (username: string, password: string, clientId: string) => ({
    port: env.d.dakkio.ports.mqtt,
    username,
    password,
    clientId,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dakkio-import-'));
    const pw = join(dir, 'passwords');
    // both formats Debian's Mosquitto 2.0 writes, and several iteration counts
    mosquittoPasswd(pw, 'meter1', 'secret-1', { create: true });
    mosquittoPasswd(pw, 'meter2', 'secret-2', { iterations: 1000 });
    mosquittoPasswd(pw, 'legacy6', 'secret-6', { algorithm: 'sha512' });
    passwordFile = readFileSync(pw, 'utf8');
    env = await startCompatDakkio({ email: 'import@example.com' });
  });
  afterAll(async () => {
    await env?.d.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a file with a bad line as a whole (400, the lines in details) and imports nothing', async () => {
    const r = await env.api('POST', '/api/mqtt/import', {
      token: env.token,
      body: { passwordFile: `${passwordFile}broken-line-without-hash\n`, aclFile: ACL },
    });
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.details).toEqual([expect.objectContaining({ path: 'passwordFile', line: 4 })]);
    expect((await env.call('GET', '/api/mqtt/credentials')).items).toEqual([]);
  });

  it('imports over HTTP; devices publish and subscribe with their old username/password and rights', async () => {
    const r = await env.call('POST', '/api/mqtt/import', { passwordFile, aclFile: ACL }, 200);
    expect(r.imported.credentials).toBe(3);
    expect(r.rejected).toEqual([]);
    const list = (await env.call('GET', '/api/mqtt/credentials')).items;
    expect(list.map((c: { username: string; passwordFormat: string }) => [c.username, c.passwordFormat]).sort()).toEqual([
      ['legacy6', 'mosquitto-sha512'],
      ['meter1', 'mosquitto-pbkdf2'],
      ['meter2', 'mosquitto-pbkdf2'],
    ]);

    // meter2 reads plant/#; meter1 may write only under plant/meter1/
    const sub = mosquittoSub(conn('meter2', 'secret-2', 'm2-sub'), 'plant/#', 1);
    await sub.ready;
    const denied = await mosquittoPub(conn('meter1', 'secret-1', 'm1-a'), 'plant/meter2/power', 'forged', 1);
    expect(denied.code, `denied publish is acknowledged, not refused: ${denied.stderr}`).toBe(0);
    const allowed = await mosquittoPub(conn('meter1', 'secret-1', 'm1-b'), 'plant/meter1/power', '42', 1);
    expect(allowed.code, allowed.stderr).toBe(0);
    // -C 1: the first message it got must be the allowed one (the forged one was dropped before it)
    expect(messageLines((await sub.done).stdout)).toEqual(['42']);

    const six = await mosquittoPub(conn('legacy6', 'secret-6', 'l6'), 'legacy/x', 'ok', 1);
    expect(six.code, six.stderr).toBe(0);
    const pattern = await mosquittoPub(conn('legacy6', 'secret-6', 'l6p'), 'devices/legacy6/t', 'ok', 1);
    expect(pattern.code, pattern.stderr).toBe(0);

    const wrong = await mosquittoPub(conn('meter1', 'not-the-password', 'm1-x'), 'plant/meter1/power', '1', 1);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr.toLowerCase()).toContain('bad user name or password');
  });

  it('imports with `dakkio mosquitto import` into the running dakkio; devices connect', async () => {
    await env.api('POST', '/api/auth/register', { body: { email: 'cli@example.com', password: 'correct horse battery' } });
    const pw = join(dir, 'cli-passwords');
    mosquittoPasswd(pw, 'cli-dev', 'cli-secret', { create: true, iterations: 500 });
    const aclPath = join(dir, 'cli-acl');
    writeFileSync(aclPath, 'user cli-dev\ntopic readwrite cli/#\n');
    const out = await runCli(['mosquitto', 'import', '--password-file', pw, '--acl-file', aclPath, '--owner', 'cli@example.com'], {
      DAKKIO_DATA_DIR: env.d.dataDir,
      DAKKIO_LOG_LEVEL: 'silent',
    });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/cli-dev/);

    const sub = mosquittoSub(conn('cli-dev', 'cli-secret', 'cli-sub'), 'cli/#', 1);
    await sub.ready;
    const pub = await mosquittoPub(conn('cli-dev', 'cli-secret', 'cli-pub'), 'cli/hello', 'hi', 1);
    expect(pub.code, pub.stderr).toBe(0);
    expect(messageLines((await sub.done).stdout)).toEqual(['hi']);
    // the other owner's import left the first owner's credentials alone
    expect((await env.call('GET', '/api/mqtt/credentials')).items).toHaveLength(3);
  });
});
