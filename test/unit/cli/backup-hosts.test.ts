/**
 * `hcb backup` for the hosts target (cli/commands/backup-hosts.ts) without a host: its options on
 * the shared parser (cli/options.ts), and `--stack NAME` against a real Pulumi stack (file backend,
 * the toolchain's pulumi): hosts from the stack config, the SSH key from the stack's secret, never
 * printed; HCB_HOSTS_DIAL applies as in the Pulumi program. Backups over SSH: test/e2e/hosts-backup.test.ts.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { command } from '../../../cli/commands/backup';
import {
  parseHostsOptions,
  pulumiProjectDir,
  resolveTarget,
  stackConfigJson,
  wantsHostsTarget,
} from '../../../cli/commands/backup-hosts';
import { toolchainBinDir } from '../../../cli/package-paths';

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
let hostKey: string;
let sshKey: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-backup-hosts-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'host', '-f', path.join(dir, 'host')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'user', '-f', path.join(dir, 'user')]);
  hostKey = fs.readFileSync(path.join(dir, 'host.pub'), 'utf8').trim();
  sshKey = fs.readFileSync(path.join(dir, 'user'), 'utf8');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('options on the shared parser', () => {
  test('the hosts target is chosen by --stack, --stack-config or --host, also as --name=value, not after --', () => {
    expect(wantsHostsTarget(['--stack', 'prod'])).toBe(true);
    expect(wantsHostsTarget(['--stack=prod'])).toBe(true);
    expect(wantsHostsTarget(['--host=root@198.18.5.11'])).toBe(true);
    expect(wantsHostsTarget(['--host-key', 'k.pub'])).toBe(false);
    expect(wantsHostsTarget(['--dir', 'd', '--', '--stack'])).toBe(false);
  });

  test('values, --name=value and flags', () => {
    const o = parseHostsOptions(['--stack=prod', '--retain', '3', '--dir', 'b', '--json', 'f.hcbbak']);
    expect(o).toMatchObject({
      stack: 'prod',
      retain: 3,
      dir: path.resolve('b'),
      json: true,
      replaceConfig: false,
      positional: ['f.hcbbak'],
    });
  });

  test.each([
    [['--stack', 'a', '--stack=b'], '--stack given more than once'],
    [['--stack', 'a', '--json', '--json'], '--json given more than once'],
    [['--stack'], 'option --stack needs a value'],
    [['--stack', ''], 'option --stack needs a value'],
    [['--stack', 'a', '--bogus'], 'unknown option --bogus'],
    [['--stack', 'a', '--json=yes'], 'option --json takes no value'],
    [['--stack', 'a', '--retain', '0'], '--retain must be a whole number of at least 1, got "0"'],
    [['--stack', 'a', '--state-dir', 'x'], '--state-dir names a local cluster'],
    [['--stack', 'a', '--host', 'b'], 'give exactly one of --stack NAME'],
    [['--stack', 'a', '--cluster', 'Bad_Name'], '--cluster "Bad_Name" must be a lower-case name'],
  ])('%j: %s', (args, message) => {
    const o = parseHostsOptions(args);
    expect(typeof o).toBe('string');
    expect(o as string).toContain(message);
  });

  test('a usage error is exit 2: hcb backup <action>: message, a blank line, the usage', async () => {
    const usage = (await run(['--help'])).out;
    const r = await run(['now', '--stack', 'a', '--stack', 'b']);
    expect(r).toEqual({ code: 2, out: '', err: `hcb backup now: --stack given more than once\n\n${usage}` });
    expect(await run(['list', '--stack=a', '--help'])).toEqual({ code: 0, out: usage, err: '' });
  });
});

describe('--stack NAME with a real Pulumi stack', () => {
  let project: string;
  let env: NodeJS.ProcessEnv;
  const saved: Record<string, string | undefined> = {};
  const pulumi = () =>
    path.join(
      toolchainBinDir('pulumi', (m) => new Error(m)),
      'pulumi',
    );
  const pc = (args: string[], input?: string) => {
    const r = spawnSync(pulumi(), args, { cwd: project, env, encoding: 'utf8', input, timeout: 120_000 });
    if (r.status !== 0) throw new Error(`pulumi ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(() => {
    project = path.join(dir, 'project');
    fs.mkdirSync(path.join(project, 'sub'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'backend'));
    fs.writeFileSync(path.join(project, 'Pulumi.yaml'), 'name: hcb\nruntime: nodejs\n');
    env = {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${path.join(dir, 'backend')}`,
      PULUMI_CONFIG_PASSPHRASE: 'unit-test-passphrase',
      PULUMI_CONFIG_PASSPHRASE_FILE: '',
      PULUMI_HOME: path.join(dir, 'pulumi-home'),
      PULUMI_SKIP_UPDATE_CHECK: 'true',
    };
    for (const k of [
      'PULUMI_BACKEND_URL',
      'PULUMI_CONFIG_PASSPHRASE',
      'PULUMI_CONFIG_PASSPHRASE_FILE',
      'PULUMI_HOME',
    ]) {
      saved[k] = process.env[k];
      process.env[k] = env[k];
    }
    pc(['stack', 'init', 'prod', '--non-interactive']);
    pc(['config', 'set', 'hcb:target', 'hosts']);
    const host = { name: 'cp1', address: '198.18.5.11', port: 2222, user: 'root', role: 'control-plane', hostKey };
    for (const [k, v] of Object.entries(host))
      pc(['config', 'set', '--path', `hcb:hosts[0].${k}`, String(v), ...(k === 'port' ? ['--type', 'int'] : [])]);
    // The secret from standard input, as an operator would set it (never on a command line).
    pc(['config', 'set', '--secret', 'hcb:sshPrivateKey'], sshKey);
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  test('the stack file keeps the SSH key encrypted; hcb reads hosts and key from the stack', async () => {
    const stackFile = fs.readFileSync(path.join(project, 'Pulumi.prod.yaml'), 'utf8');
    expect(stackFile).not.toContain('PRIVATE KEY');
    expect(stackFile).toMatch(/secure:/);
    expect(pulumiProjectDir(path.join(project, 'sub'))).toBe(project);

    const logs: string[] = [];
    const { target, cluster } = await resolveTarget(
      { stack: 'prod', retain: 7, replaceConfig: false, json: false, help: false, positional: [] },
      () => '/nonexistent-bin',
      (l) => logs.push(l),
      project,
    );
    expect(cluster).toBe('prod');
    // The stack config keeps the key's type and blob (the comment is dropped).
    const pinned = hostKey.split(' ').slice(0, 2).join(' ');
    expect(target.host).toEqual({ name: 'cp1', address: '198.18.5.11', port: 2222, user: 'root', hostKey: pinned });
    expect(target.ssh.privateKey).toBe(sshKey);
    expect(target.ssh.dial).toBeUndefined();
    expect(JSON.stringify(stackConfigJson({ stack: 'prod' }, project))).toContain('"secret":true');
  });

  test('HCB_HOSTS_DIAL reaches the stack host through a forwarder, as the Pulumi program does', async () => {
    process.env.HCB_HOSTS_DIAL = JSON.stringify({ cp1: { ssh: '127.0.0.1:47719' } });
    try {
      const { target } = await resolveTarget(
        { stack: 'prod', retain: 7, replaceConfig: false, json: false, help: false, positional: [] },
        () => '',
        () => undefined,
        project,
      );
      expect(target.ssh.dial).toEqual({ host: '127.0.0.1', port: 47719 });
    } finally {
      delete process.env.HCB_HOSTS_DIAL;
    }
  });

  test('hcb backup list --stack from inside the project: the stack is read, nothing printed of the key', async () => {
    const cwd = process.cwd();
    process.chdir(path.join(project, 'sub'));
    try {
      const r = await run(['list', '--stack', 'prod', '--dir', path.join(dir, 'none')]);
      expect(r).toMatchObject({ code: 0, out: expect.stringMatching(/no backups in .*none/) });
      expect(r.out + r.err).not.toContain('PRIVATE KEY');
      const missing = await run(['list', '--stack', 'nosuchstack']);
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/pulumi config --stack nosuchstack failed: .*no stack named/i);
    } finally {
      process.chdir(cwd);
    }
  });

  test('a stack of another target is refused clearly', async () => {
    pc(['stack', 'init', 'dev', '--non-interactive']);
    pc(['config', 'set', 'hcb:target', 'local', '--stack', 'dev']);
    await expect(
      resolveTarget(
        { stack: 'dev', retain: 7, replaceConfig: false, json: false, help: false, positional: [] },
        () => '',
        () => undefined,
        project,
      ),
    ).rejects.toThrow(/hcb:target is local, not hosts; for the local target use --state-dir/);
  });
});
