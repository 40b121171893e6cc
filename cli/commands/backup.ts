/**
 * `hcb backup now|list|verify|restore`: encrypted backups of a local cluster's etcd data, PKI and
 * encryption configuration (stacks/local/backup.ts), and restores into a stopped control plane.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from '../command';
import { defaultStateDir, packageRoot, packageVersion, projectDir, toolchainBinDir } from '../package-paths';
import { synthesizeBlueprint } from '../../constructs/blueprint';
import {
  BackupError,
  backupNow,
  defaultBackupDir,
  defaultKeyFile,
  listBackups,
  restoreBackup,
  verifyBackup,
} from '../../stacks/local/backup';
import { LocalControlPlane } from '../../stacks/local/control-plane';
import { startTimer, stopTimer, timerStatus } from '../../stacks/local/backup-timer';
import { runHostsBackup, wantsHostsTarget } from './backup-hosts';
import { intOption, parseOptions as parseSharedOptions, UsageError, usageFailure } from '../options';

const USAGE = `usage: hcb backup now|list|verify|restore|timer|schedule [options]

  now                take an encrypted backup of the running cluster (etcd snapshot through the
                     etcd API, plus the PKI and encryption configuration a restore needs)
  list               list backups, newest first (reads the manifests; needs no key)
  verify FILE        decrypt and authenticate FILE completely and check every checksum
  restore FILE       restore FILE into the STOPPED control plane (etcdutl snapshot restore); the
                     replaced data directory is kept beside the new one
  timer start|stop|status
                     the schedule: a detached timer runs \`hcb backup now\` every interval of the
                     cluster's BackupConfiguration (npm run up starts it, npm run down stops it)

options:
  --state-dir DIR    the cluster's state directory (default: <repo>/.hcb/clusters/local)
  --dir DIR          where backups live (default: <state-dir>/backups)
  --key FILE         AES-256 key file, 32 bytes, mode 0600 (default: <state-dir>/secrets/backup-key,
                     created by the first backup; keep a copy outside the cluster's machine)
  --retain N         backups of this cluster to keep (now; default 7)
  --replace-config   restore: put the backup's PKI and encryption files back where they differ
                     (the current ones are kept as *.before-restore-<time>)
  --json             list: JSON

  schedule           hosts target: install the scheduled backup on the control-plane host (a
                     systemd timer and service running the host program every interval of the
                     host's BackupConfiguration; the key is a copy of --key; backups stay on the
                     host in /var/lib/hcb/backups); without systemd it prints the command to run

hosts target (a control plane made by kubeadm on a host, reached over SSH):
  --stack NAME       the stack's hcb:hosts and hcb:sshPrivateKey (\`pulumi config --json --show-secrets\`);
                     its first control-plane host; the secret hcb:backupKey, when set, is the key
                     (unless --key); with hcb:backup, list also shows each control plane's
                     scheduled backups; restore with several control planes restores every etcd
                     member from the same snapshot (all API servers stopped first)
  --stack-config FILE
                     the same from that command's output in a file
  --host [USER@]ADDRESS[:PORT]
                     the host without Pulumi (user root, port 22 by default), with
  --host-key FILE    its OpenSSH public host key line (pinned), and
  --ssh-key FILE     the private key it authorises (mode 0600)
  --host-name NAME   the host's name, as the backup records it (default: ADDRESS)
  --cluster NAME     name in the backups (default: the stack's or the host's name); --dir and --key
                     default to <repo>/.hcb/hosts/<cluster>/backups and .../secrets/backup-key
`;

interface Options {
  stateDir: string;
  dir?: string;
  key?: string;
  retain: number;
  replaceConfig: boolean;
  json: boolean;
  help: boolean;
  positional: string[];
}

function parseOptions(args: string[]): Options | string {
  try {
    const p = parseSharedOptions(args, {
      values: ['state-dir', 'dir', 'key', 'retain'],
      flags: ['help', 'replace-config', 'json'],
      short: { h: 'help' },
    });
    const dir = (name: string) => (p.value(name) === undefined ? undefined : path.resolve(p.value(name)!));
    const o: Options = {
      stateDir: dir('state-dir') ?? defaultStateDir(),
      retain: intOption(p, 'retain', 7, 1, Number.MAX_SAFE_INTEGER, 'a whole number of at least 1'),
      replaceConfig: p.flags.has('replace-config'),
      json: p.flags.has('json'),
      help: p.flags.has('help'),
      positional: p.positional,
    };
    if (dir('dir') !== undefined) o.dir = dir('dir');
    if (dir('key') !== undefined) o.key = dir('key');
    return o;
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
}

function binDir(): string {
  return toolchainBinDir('etcdutl', (message) => new BackupError(message));
}

function hcbVersion(): string {
  return packageVersion() ?? 'unknown';
}

export const command: Command = {
  name: 'backup',
  summary: 'encrypted etcd backups of the local cluster; verify and restore them',
  async run(args: string[]): Promise<number> {
    const [action, ...rest] = args;
    if (!action || action === '--help' || action === '-h' || action === 'help') {
      process.stdout.write(USAGE);
      return action ? 0 : 2;
    }
    if (wantsHostsTarget(rest)) return runHostsBackup(action, rest, USAGE);
    const o = parseOptions(rest);
    if (typeof o === 'string') return usageFailure(process.stderr, 'backup', USAGE, o);
    if (o.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const backupDir = o.dir ?? defaultBackupDir(o.stateDir);
    const keyFile = o.key ?? defaultKeyFile(o.stateDir);
    const log = (l: string) => process.stderr.write(`[backup] ${l}\n`);
    const wantFile = (): string | undefined => {
      if (o.positional.length !== 1) {
        process.stderr.write(`hcb backup ${action}: give exactly one backup file\n\n${USAGE}`);
        return undefined;
      }
      const f = o.positional[0];
      return fs.existsSync(f) || path.isAbsolute(f) ? path.resolve(f) : path.join(backupDir, f);
    };
    try {
      switch (action) {
        case 'now': {
          if (o.positional.length > 0) return usageError(action, `unexpected argument "${o.positional[0]}"`);
          const m = await backupNow({
            stateDir: o.stateDir,
            backupDir,
            keyFile,
            retain: o.retain,
            hcbVersion: hcbVersion(),
            binDir: binDir(),
            log,
          });
          process.stdout.write(`${path.join(backupDir, m.file)}\n`);
          return 0;
        }
        case 'list': {
          if (o.positional.length > 0) return usageError(action, `unexpected argument "${o.positional[0]}"`);
          const all = listBackups(backupDir);
          if (o.json) process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
          else if (all.length === 0) process.stdout.write(`no backups in ${backupDir}\n`);
          else
            for (const m of all)
              process.stdout.write(
                `${m.time}  revision ${String(m.revision).padEnd(8)} ${(m.snapshotBytes / 1024 / 1024).toFixed(1).padStart(7)} MiB  ${m.file}\n`,
              );
          return 0;
        }
        case 'verify': {
          const f = wantFile();
          if (!f) return 2;
          const m = verifyBackup(f, keyFile);
          process.stdout.write(
            `ok: ${m.file} (cluster ${m.cluster}, revision ${m.revision}, ${m.time}, ${m.files.length} files authenticated)\n`,
          );
          return 0;
        }
        case 'restore': {
          const f = wantFile();
          if (!f) return 2;
          const cp = new LocalControlPlane({
            stateDir: o.stateDir,
            binDir: '',
            nodeFiles: synthesizeBlueprint({}).nodeFiles,
          });
          const st = await cp.status();
          const running = st.components.some((c) => c.running);
          const r = restoreBackup({
            stateDir: o.stateDir,
            file: f,
            keyFile,
            binDir: binDir(),
            running,
            replaceConfig: o.replaceConfig,
            log,
          });
          if (r.differingConfig.length > 0)
            log(`left as they are (differ from the backup): ${r.differingConfig.join(', ')}`);
          process.stdout.write(
            `restored revision ${r.manifest.revision} (${r.manifest.time}); start the cluster with: hcb cluster up --state-dir ${o.stateDir}\n`,
          );
          return 0;
        }
        case 'timer': {
          const sub = o.positional[0];
          if (sub === 'start') {
            const entry = __filename.endsWith('.ts')
              ? [process.execPath, '-r', 'ts-node/register/transpile-only', path.join(packageRoot(), 'cli/main.ts')]
              : [process.execPath, path.join(__dirname, '..', 'main.js')];
            const env = { ...process.env, HCB_TOOLCHAIN_BIN: process.env.HCB_TOOLCHAIN_BIN ?? binDir() };
            const t = startTimer(o.stateDir, entry, { cwd: projectDir(), env });
            process.stdout.write(
              `backup timer ${t.started ? 'started' : 'already running'} (pid ${t.pid}, every ${t.intervalSeconds}s; log ${path.join(o.stateDir, 'logs', 'backup-timer.log')})\n`,
            );
            return 0;
          }
          if (sub === 'stop') {
            process.stdout.write(
              (await stopTimer(o.stateDir)) ? 'backup timer stopped\n' : 'no backup timer was running\n',
            );
            return 0;
          }
          if (sub === 'status') {
            const st = timerStatus(o.stateDir);
            process.stdout.write(
              st.running
                ? `backup timer running (pid ${st.pid}, every ${st.intervalSeconds}s)\n`
                : 'backup timer not running\n',
            );
            return st.running ? 0 : 1;
          }
          return usageError(action, 'timer needs start, stop or status');
        }
        default:
          return usageError(
            action,
            action === 'schedule'
              ? 'schedule installs a timer on a hosts control plane (--stack, --stack-config or --host); the local target uses hcb backup timer start'
              : `unknown action "${action}"`,
          );
      }
    } catch (e) {
      if (e instanceof BackupError) {
        process.stderr.write(`hcb backup ${action}: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
  },
};

function usageError(action: string, msg: string): number {
  process.stderr.write(`hcb backup ${action}: ${msg}\n\n${USAGE}`);
  return 2;
}
