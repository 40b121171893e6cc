/**
 * `hcb backup now|list|verify|restore` for a hosts-target control plane (stacks/hosts/backup.ts),
 * chosen by `--stack NAME`, `--stack-config FILE` or `--host`. cli/commands/backup.ts hands over
 * to this file (loaded only then: the SSH transport is not part of the packaged CLI's local path).
 *
 * The host: with `--stack`, the stack's config as `pulumi config --json --show-secrets --stack NAME`
 * prints it (hcb:hosts and the secret hcb:sshPrivateKey), validated by stacks/spec.ts; the first
 * control-plane host is backed up. `--stack-config FILE` reads that output from a file. Without
 * Pulumi: `--host [USER@]ADDRESS[:PORT]` with `--host-key FILE` (the host's OpenSSH public key line,
 * pinned) and `--ssh-key FILE` (the private key the host authorises; mode 0600).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packageVersion, projectDir, toolchainBinDir } from '../package-paths';
import { parseBackupKey, parseHostKey } from '../../stacks/hosts/config';
import type { HostsBackupTarget } from '../../stacks/hosts/backup';
import { BackupError, BackupManifest, listBackups, verifyBackup } from '../../stacks/local/backup';
import { readerFromPulumiConfigJson, stackSpec } from '../../stacks/spec';
import { intOption, parseOptions, UsageError, usageFailure } from '../options';

export const HOSTS_OPTIONS = ['--stack', '--stack-config', '--host'] as const;

/** True when the arguments choose the hosts target (`--stack NAME` or `--stack=NAME`, likewise the others). */
export function wantsHostsTarget(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) =>
    (HOSTS_OPTIONS as readonly string[]).some((o) => a === o || a.startsWith(`${o}=`)),
  );
}

export interface HostsOptions {
  stack?: string;
  stackConfig?: string;
  host?: string;
  hostName?: string;
  hostKey?: string;
  sshKey?: string;
  cluster?: string;
  dir?: string;
  key?: string;
  retain: number;
  replaceConfig: boolean;
  json: boolean;
  help: boolean;
  positional: string[];
}

/** The hosts options on the shared parser (cli/options.ts): same messages for unknown, repeated and valueless options. */
const SPEC = {
  values: [
    'stack',
    'stack-config',
    'host',
    'host-name',
    'host-key',
    'ssh-key',
    'cluster',
    'dir',
    'key',
    'retain',
    'state-dir',
  ],
  flags: ['replace-config', 'json', 'help'],
  short: { h: 'help' },
} as const;

/** The parsed options, or the usage error's message. */
export function parseHostsOptions(args: string[]): HostsOptions | string {
  let o: HostsOptions;
  try {
    const p = parseOptions(args, SPEC);
    const file = (name: string) => (p.value(name) === undefined ? undefined : path.resolve(p.value(name)!));
    for (const [name, values] of p.options)
      if (values.some((v) => v === '')) throw new UsageError(`option --${name} needs a value`);
    if (p.value('state-dir') !== undefined)
      throw new UsageError(
        '--state-dir names a local cluster; the hosts target takes --stack, --stack-config or --host',
      );
    o = {
      stack: p.value('stack'),
      stackConfig: file('stack-config'),
      host: p.value('host'),
      hostName: p.value('host-name'),
      hostKey: file('host-key'),
      sshKey: file('ssh-key'),
      cluster: p.value('cluster'),
      dir: file('dir'),
      key: file('key'),
      retain: intOption(p, 'retain', 7, 1, Number.MAX_SAFE_INTEGER, 'a whole number of at least 1'),
      replaceConfig: p.flags.has('replace-config'),
      json: p.flags.has('json'),
      help: p.flags.has('help'),
      positional: p.positional,
    };
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  if (o.help) return o;
  const sources = [o.stack, o.stackConfig, o.host].filter((x) => x !== undefined).length;
  if (sources !== 1) return 'give exactly one of --stack NAME, --stack-config FILE or --host [USER@]ADDRESS[:PORT]';
  if (o.host === undefined && (o.hostName || o.hostKey))
    return '--host-name and --host-key go with --host (a stack names its hosts and their keys)';
  if (o.host !== undefined && !o.hostKey)
    return "--host needs --host-key FILE (the host's OpenSSH public key line, e.g. a copy of /etc/ssh/ssh_host_ed25519_key.pub): host keys are pinned, never trusted on first use";
  if (o.host !== undefined && !o.sshKey) return '--host needs --ssh-key FILE (the private key the host authorises)';
  if (o.cluster !== undefined && !/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/.test(o.cluster))
    return `--cluster "${o.cluster}" must be a lower-case name (letters, digits, "-", ".")`;
  return o;
}

/** A private key file: regular, not readable by others. Its text is never printed. */
export function readPrivateKey(file: string): string {
  const st = fs.statSync(file);
  if (!st.isFile()) throw new BackupError(`--ssh-key ${file} is not a regular file`);
  if ((st.mode & 0o077) !== 0)
    throw new BackupError(`--ssh-key ${file} may be read by group or others (chmod 600 ${file})`);
  return fs.readFileSync(file, 'utf8');
}

/** `[user@]address[:port]`, IPv6 in brackets. */
export function parseHostArg(v: string): { user: string; address: string; port: number } {
  const m = /^(?:([a-z_][a-z0-9_.-]*)@)?(\[[0-9a-fA-F:.]+\]|[^:@[\]]+)(?::([0-9]{1,5}))?$/.exec(v);
  const port = m?.[3] ? Number(m[3]) : 22;
  if (!m || port < 1 || port > 65535) throw new BackupError(`--host "${v}" is not [USER@]ADDRESS[:PORT]`);
  return { user: m[1] ?? 'root', address: m[2].replace(/^\[|\]$/g, ''), port };
}

/**
 * Where `pulumi config --stack NAME` runs: the nearest directory from the working directory upwards
 * that holds a Pulumi.yaml (where Pulumi itself looks for the project), else the package's project.
 */
export function pulumiProjectDir(cwd: string = process.cwd()): string {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'Pulumi.yaml'))) return dir;
    if (path.dirname(dir) === dir) return projectDir();
  }
}

/** The toolchain's pulumi (HCB_TOOLCHAIN_BIN, else the checkout's built toolchain), else `pulumi` on PATH. */
function pulumiBinary(): string {
  try {
    const bin = path.join(
      toolchainBinDir('pulumi', (m) => new Error(m)),
      'pulumi',
    );
    if (fs.existsSync(bin)) return bin;
  } catch {
    /* no toolchain here: PATH */
  }
  return 'pulumi';
}

/** The stack's config JSON: from a file, or from `pulumi config --json --show-secrets --stack NAME`. */
export function stackConfigJson(
  o: { stack?: string; stackConfig?: string },
  cwd: string = pulumiProjectDir(),
): unknown {
  let text: string;
  if (o.stackConfig) text = fs.readFileSync(o.stackConfig, 'utf8');
  else {
    const pulumi = pulumiBinary();
    const r = spawnSync(pulumi, ['config', '--json', '--show-secrets', '--stack', o.stack!], {
      cwd,
      env: process.env,
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    if (r.status !== 0)
      throw new BackupError(
        `pulumi config --stack ${o.stack} failed: ${(r.stderr || String(r.error)).trim().split('\n').slice(-2).join(' | ')} (run it where Pulumi.yaml is, with the stack's backend and passphrase, e.g. after source scripts/env.sh)`,
      );
    text = r.stdout;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BackupError(
      `the stack config of ${o.stack ?? o.stackConfig} is not the JSON \`pulumi config --json\` prints`,
    );
  }
}

export interface ResolvedTarget {
  /** The first control-plane host (backups are taken there). */
  target: HostsBackupTarget;
  cluster: string;
  /** Every control-plane host of the stack, the first one first (a restore of several members). */
  members: HostsBackupTarget[];
  /** The stack's secret hcb:backupKey, when it is set (it then replaces the local key file). */
  stackKey?: Buffer;
  /** The stack sets hcb:backup: every control plane keeps scheduled backups. */
  scheduled: boolean;
}

/** The control-plane host, its SSH options and the cluster name the backups carry. */
export async function resolveTarget(
  o: HostsOptions,
  binDir: () => string,
  log: (l: string) => void,
  pulumiDir: string = pulumiProjectDir(),
): Promise<ResolvedTarget> {
  if (o.host !== undefined) {
    const h = parseHostArg(o.host);
    const keyLine = fs.readFileSync(o.hostKey!, 'utf8').trim().split('\n')[0];
    try {
      parseHostKey(keyLine);
    } catch (e) {
      throw new BackupError(`--host-key ${o.hostKey} ${(e as Error).message}`);
    }
    const name = o.hostName ?? h.address;
    const target: HostsBackupTarget = {
      host: { name, address: h.address, port: h.port, user: h.user, hostKey: keyLine },
      ssh: { privateKey: readPrivateKey(o.sshKey!), connectTimeoutMs: 30_000 },
      binDir: binDir(),
      log,
    };
    return {
      target,
      members: [target],
      scheduled: false,
      cluster: o.cluster ?? name.toLowerCase().replace(/[^a-z0-9.-]/g, '-'),
    };
  }
  // target.ts loads @pulumi/pulumi: only when a stack is read.
  const { parseHostsDial } = await import('../../stacks/hosts/target');
  let get;
  let spec;
  let dialAll;
  try {
    get = readerFromPulumiConfigJson(stackConfigJson(o, pulumiDir));
    spec = stackSpec(get);
    dialAll = parseHostsDial(process.env.HCB_HOSTS_DIAL);
  } catch (e) {
    if (e instanceof BackupError) throw e;
    throw new BackupError((e as Error).message);
  }
  if (spec.target !== 'hosts' || !spec.hosts)
    throw new BackupError(`the stack's hcb:target is ${spec.target}, not hosts; for the local target use --state-dir`);
  const cps = spec.hosts.hosts.filter((h) => h.role === 'control-plane');
  const key = o.sshKey ? readPrivateKey(o.sshKey) : get('sshPrivateKey');
  if (typeof key !== 'string')
    throw new BackupError(
      'the stack config does not show hcb:sshPrivateKey (use pulumi config --json --show-secrets, or pass --ssh-key FILE)',
    );
  // `pulumi config set --secret` from a file or standard input drops the final newline; OpenSSH's
  // key format ends with one.
  const privateKey = key.endsWith('\n') ? key : `${key}\n`;
  const name = o.stack ?? path.basename(o.stackConfig!).replace(/\.json$/, '');
  // A host behind a forwarder or bastion: the same HCB_HOSTS_DIAL the Pulumi program and hcb verify use.
  let bins: string | undefined;
  const members = cps.map((h): HostsBackupTarget => {
    const dial = dialAll[h.name]?.ssh;
    return {
      host: { name: h.name, address: h.address, port: h.port, user: h.user, hostKey: h.hostKey },
      ssh: { privateKey, connectTimeoutMs: 30_000, ...(dial ? { dial } : {}) },
      get binDir() {
        return (bins ??= binDir());
      },
      log,
    };
  });
  // hcb:backupKey (checked by stackSpec as a secret of 32 bytes): the key of this stack's backups.
  const secretKey = get('backupKey');
  let stackKey: Buffer | undefined;
  if (typeof secretKey === 'string') {
    try {
      stackKey = parseBackupKey(secretKey);
    } catch (e) {
      throw new BackupError((e as Error).message);
    }
  }
  return {
    target: members[0],
    members,
    scheduled: spec.backup !== undefined,
    ...(stackKey ? { stackKey } : {}),
    // The same name the Pulumi program gives the scheduled backups (stacks/index.ts).
    cluster: o.cluster ?? name.toLowerCase().replace(/[^a-z0-9.-]/g, '-'),
  };
}

/** Where backups live here and their key: --key, else the stack's hcb:backupKey, else the cluster's key file. */
function clusterDirs(
  o: HostsOptions,
  cluster: string,
  stackKey?: Buffer,
): { backupDir: string; keyFile: string | Buffer; keyName: string } {
  const base = path.join(projectDir(), '.hcb', 'hosts', cluster);
  const file = o.key ?? path.join(base, 'secrets', 'backup-key');
  const keyFile = o.key === undefined && stackKey ? stackKey : file;
  return {
    backupDir: o.dir ?? path.join(base, 'backups'),
    keyFile,
    keyName: Buffer.isBuffer(keyFile) ? "the stack's hcb:backupKey" : file,
  };
}

/**
 * stacks/hosts/backup.ts (SSH transport, the host program's sources) is loaded only for the hosts
 * target; the published package does not ship it yet (package.json "files"), a checkout does.
 */
function loadHostsBackup(): typeof import('../../stacks/hosts/backup') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only for the hosts target (ssh2)
    return require('../../stacks/hosts/backup') as typeof import('../../stacks/hosts/backup');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    throw new BackupError(
      `the hosts target's backup is not part of this installation (${(e as Error).message.split('\n')[0]}); run hcb from a checkout of the repository`,
    );
  }
}

/** Runs one action for the hosts target; exit status as `hcb backup` documents it. */
export async function runHostsBackup(action: string, args: string[], usage: string): Promise<number> {
  const o = parseHostsOptions(args);
  if (typeof o === 'string') return usageFailure(process.stderr, `backup ${action}`, usage, o);
  if (o.help) {
    process.stdout.write(usage);
    return 0;
  }
  const log = (l: string) => process.stderr.write(`[backup] ${l}\n`);
  const binDir = () => toolchainBinDir('etcdutl', (message) => new BackupError(message));
  const usageError = (msg: string) => usageFailure(process.stderr, `backup ${action}`, usage, msg);
  try {
    // list and verify need no connection: only the cluster name for the default directories.
    const needsHost = action === 'now' || action === 'restore' || action === 'schedule';
    const resolved: Partial<ResolvedTarget> & { cluster: string } =
      needsHost || !o.cluster ? await resolveTarget(o, binDir, log) : { cluster: o.cluster };
    const { target, cluster } = resolved;
    const { backupDir, keyFile, keyName } = clusterDirs(o, cluster, resolved.stackKey);
    const wantFile = (): string | undefined => {
      if (o.positional.length !== 1) return undefined;
      const f = o.positional[0];
      return fs.existsSync(f) || path.isAbsolute(f) ? path.resolve(f) : path.join(backupDir, f);
    };
    switch (action) {
      case 'now': {
        if (o.positional.length > 0) return usageError(`unexpected argument "${o.positional[0]}"`);
        const m = await loadHostsBackup().hostsBackupNow({
          ...target!,
          backupDir,
          keyFile,
          cluster,
          retain: o.retain,
          hcbVersion: packageVersion() ?? 'unknown',
        });
        process.stdout.write(`${path.join(backupDir, m.file)}\n`);
        return 0;
      }
      case 'list': {
        if (o.positional.length > 0) return usageError(`unexpected argument "${o.positional[0]}"`);
        const all: Array<BackupManifest & { location?: string }> = listBackups(backupDir);
        // A stack with hcb:backup: each control plane's scheduled backups too (they stay on the host).
        if (resolved.scheduled && resolved.members) {
          const { hostsListBackups } = loadHostsBackup();
          for (const m of resolved.members)
            for (const b of await hostsListBackups(m))
              all.push({ ...b, location: `${m.host.name}:/var/lib/hcb/backups/${b.file}` });
        }
        if (o.json) process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        else if (all.length === 0) process.stdout.write(`no backups in ${backupDir}\n`);
        else
          for (const m of all)
            process.stdout.write(
              `${m.time}  revision ${String(m.revision).padEnd(8)} ${(m.snapshotBytes / 1024 / 1024).toFixed(1).padStart(7)} MiB  ${m.source?.host ?? '-'}  ${m.location ?? m.file}\n`,
            );
        return 0;
      }
      case 'verify': {
        const f = wantFile();
        if (!f) return usageError('give exactly one backup file');
        const m = verifyBackup(f, keyFile);
        process.stdout.write(
          `ok: ${m.file} (cluster ${m.cluster}, host ${m.source?.host ?? '-'}, revision ${m.revision}, ${m.time}, ${m.files.length} files authenticated)\n`,
        );
        return 0;
      }
      case 'restore': {
        const f = wantFile();
        if (!f) return usageError('give exactly one backup file');
        // Several control planes: every etcd member from the same snapshot (Kubernetes' procedure).
        const members = resolved.members ?? [];
        if (members.length > 1) {
          const r = await loadHostsBackup().hostsRestoreCluster({
            members,
            file: f,
            keyFile,
            replaceConfig: o.replaceConfig,
            log,
          });
          if (r.differingConfig.length > 0)
            log(`left as they are (differ from the backup): ${r.differingConfig.join(', ')}`);
          process.stdout.write(
            `restored revision ${r.manifest.revision} (${r.manifest.time}) into the etcd members on ${members.map((m) => m.host.name).join(', ')}; every API server is ready\n`,
          );
          return 0;
        }
        const r = await loadHostsBackup().hostsRestore({
          ...target!,
          file: f,
          keyFile,
          replaceConfig: o.replaceConfig,
        });
        if (r.differingConfig.length > 0)
          log(`left as they are (differ from the backup): ${r.differingConfig.join(', ')}`);
        process.stdout.write(
          `restored revision ${r.manifest.revision} (${r.manifest.time}) on host ${target!.host.name}; the API server is ready${r.previousDataDir ? `; the previous data directory is kept in ${r.previousDataDir}` : ''}\n`,
        );
        return 0;
      }
      case 'schedule': {
        if (o.positional.length > 0) return usageError(`unexpected argument "${o.positional[0]}"`);
        const r = await loadHostsBackup().installHostsSchedule({
          ...target!,
          keyFile,
          cluster,
          hcbVersion: packageVersion() ?? 'unknown',
        });
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else
          process.stdout.write(
            `scheduled backup installed on host ${target!.host.name}: every ${r.intervalSeconds}s, the newest ${r.retain} kept in ${r.backupDir} (key ${r.hostKeyFile}, a copy of ${keyName}); ` +
              (r.timerEnabled
                ? 'hcb-backup.timer is enabled\n'
                : `the host has no systemd: run ${r.command.join(' ')} every ${r.intervalSeconds}s from cron or its init system\n`),
          );
        return 0;
      }
      default:
        return usageError(
          action === 'timer'
            ? 'the backup timer runs for the local target only; on hosts, `hcb backup schedule` installs a timer on the control-plane host'
            : `unknown action "${action}"`,
        );
    }
  } catch (e) {
    if (
      e instanceof BackupError ||
      (e as Error).name === 'SshError' ||
      (e as NodeJS.ErrnoException).code === 'ENOENT'
    ) {
      process.stderr.write(`hcb backup ${action}: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
}
