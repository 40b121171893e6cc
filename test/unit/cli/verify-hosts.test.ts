/**
 * `hcb verify` for the hosts target (cli/commands/verify-hosts.ts hostsVerifyChoice, on the shared
 * parser cli/options.ts): option choices as usage errors, and a host that refuses SSH gives an error finding naming it (exit 1), never a pass.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { command } from '../../../cli/commands/verify';

jest.setTimeout(180_000);

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await command.run(args), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-verify-hosts-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'host', '-f', path.join(dir, 'host')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'user', '-f', path.join(dir, 'user')]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('hcb verify on hosts', () => {
  test('usage errors: --host needs --host-key and --ssh-key; --state-dir and --stack together; --ssh-key alone', async () => {
    expect(await run(['--host', '127.0.0.1:47401', '--ssh-key', path.join(dir, 'user')])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--host needs --host-key/),
    });
    expect(await run(['--host', '127.0.0.1:47401', '--host-key', path.join(dir, 'host.pub')])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--host needs --ssh-key/),
    });
    expect(await run(['--stack', 'x', '--state-dir', dir])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--state-dir names a local cluster/),
    });
    expect(await run(['--stack', 'x', '--host', '127.0.0.1'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/exactly one of/),
    });
    expect(await run(['--ssh-key', path.join(dir, 'user')])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--ssh-key goes with/),
    });
    // A --host that is not [USER@]ADDRESS[:PORT] is a usage error too (before any connection).
    const bad = await run([
      '--host',
      'root@127.0.0.1:99999',
      '--host-key',
      path.join(dir, 'host.pub'),
      '--ssh-key',
      path.join(dir, 'user'),
    ]);
    expect(bad).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^hcb verify: --host "root@127.0.0.1:99999" is not/),
    });
    expect(bad.err).toMatch(/usage: hcb verify/);
    // The shared parser's messages: a repeated option, an option without its value.
    expect(await run(['--stack', 'a', '--stack', 'b'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--stack given more than once/),
    });
    expect(await run(['--host'])).toMatchObject({ code: 2, err: expect.stringMatching(/option --host needs a value/) });
  });

  test('a stack whose host refuses SSH: an error finding for that host, API probes not evaluated, exit 1', async () => {
    const hostKey = fs.readFileSync(path.join(dir, 'host.pub'), 'utf8').trim();
    // Loopback, a port of this test's range where nothing listens: the connection is refused.
    const hosts = [{ name: 'cp1', address: '127.0.0.1', port: 47401, user: 'root', role: 'control-plane', hostKey }];
    const cfg = path.join(dir, 'stack.json');
    fs.writeFileSync(
      cfg,
      JSON.stringify({
        'hcb:target': { value: 'hosts' },
        'hcb:hosts': { value: JSON.stringify(hosts), objectValue: hosts },
        'hcb:sshPrivateKey': { secret: true },
      }),
    );
    const started = Date.now();
    const r = await run(['--stack-config', cfg, '--ssh-key', path.join(dir, 'user'), '--format', 'json']);
    expect(Date.now() - started).toBeLessThan(150_000);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as {
      results: Array<{ control: string; status: string; message: string; object?: { file?: string; kind?: string } }>;
    };
    const hostErrors = report.results.filter((f) => f.object?.file === 'host:cp1');
    expect(hostErrors).toHaveLength(1);
    expect(hostErrors[0]).toMatchObject({ control: 'HCB-VERIFY-OBSERVED', status: 'error' });
    expect(hostErrors[0].message).toMatch(/host cp1 could not be checked/);
    const probes = report.results.filter((f) => f.object?.kind === 'Probe');
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.every((f) => f.status === 'not-evaluated')).toBe(true);
    expect(report.results.some((f) => f.status === 'pass')).toBe(false);
    expect(r.err).toMatch(/host cp1 unreachable/);
  });
});
