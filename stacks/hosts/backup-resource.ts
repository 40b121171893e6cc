/**
 * The scheduled backup of a hosts stack as a Pulumi resource (issue 14; BSI APP.4.4.A5): with
 * `hcb:backup` set, one `hcb:HostBackupSchedule` per control-plane host, a child of the cluster
 * component that depends on that host's control-plane resource.
 *
 *   create/update  `installHostsSchedule` (./backup.ts) over SSH: the host program and etcdutl (by
 *                  sha256), the HostBackupSchedule construct's files (program configuration,
 *                  service, timer) with hcb:backup's interval and retention, and a copy of
 *                  hcb:backupKey (0600, root); with systemd the timer is enabled
 *   diff           inputs changed, or a file of the schedule is missing or has another mode or owner
 *   delete         `removeHostsSchedule`: timer disabled, unit, timer, configuration and key removed;
 *                  backups already taken stay on the host (the host reset of `pulumi destroy`
 *                  removes them with /var/lib/hcb)
 *
 * The backup key and the SSH key are secret inputs and outputs (encrypted in the state, never
 * logged). Progress lines go to `<workDir>/logs/<host>-backup.log`. As in ./target.ts, the provider
 * runs in Pulumi's dynamic-provider host and loads ./backup.ts by absolute path at run time.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import type { HostEndpoint } from './target';

export interface HostBackupScheduleArgs {
  host: pulumi.Input<HostEndpoint>;
  /** The private key's text (a secret). */
  sshPrivateKey: pulumi.Input<string>;
  /** hcb:backupKey: 32 bytes in base64 (a secret). */
  backupKey: pulumi.Input<string>;
  /** The toolchain's bin directory (etcdutl). */
  binDir: pulumi.Input<string>;
  /** Local working directory (progress logs). */
  workDir: pulumi.Input<string>;
  /** Name in the backups (the stack's cluster name). */
  cluster: pulumi.Input<string>;
  /** hcb:backup's interval and retention. */
  backup: pulumi.Input<{ interval: string; retain: number }>;
}

interface ScheduleInputs {
  host: HostEndpoint;
  sshPrivateKey: string;
  backupKey: string;
  binDir: string;
  workDir: string;
  cluster: string;
  backup: { interval: string; retain: number };
  hcbVersion: string;
  backupModule: string;
  targetModule: string;
}

/** The fields whose change reinstalls the schedule (module paths are where the code lives, not what it does). */
const COMPARED = [
  'host',
  'sshPrivateKey',
  'backupKey',
  'binDir',
  'workDir',
  'cluster',
  'backup',
  'hcbVersion',
] as const;

function loadTs<T>(module: string): T {
  if (module.endsWith('.ts')) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(module) as T;
}

/** The SSH target of a host (HCB_HOSTS_DIAL read at run time, as the other host resources do). */
function scheduleTarget(i: ScheduleInputs) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeFs = require('fs') as typeof import('fs');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodePath = require('path') as typeof import('path');
  const { parseHostsDial } = loadTs<typeof import('./target')>(i.targetModule);
  const dial = parseHostsDial(process.env.HCB_HOSTS_DIAL)[i.host.name]?.ssh;
  const logDir = nodePath.join(i.workDir, 'logs');
  nodeFs.mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const logFile = nodePath.join(logDir, `${i.host.name}-backup.log`);
  const key = i.sshPrivateKey.endsWith('\n') ? i.sshPrivateKey : `${i.sshPrivateKey}\n`;
  return {
    host: i.host,
    ssh: { privateKey: key, connectTimeoutMs: 30_000, ...(dial ? { dial } : {}) },
    binDir: i.binDir,
    log: (line: string) => nodeFs.appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`, { mode: 0o600 }),
  };
}

async function install(i: ScheduleInputs): Promise<Record<string, unknown>> {
  const { installHostsSchedule } = loadTs<typeof import('./backup')>(i.backupModule);
  const key = Buffer.from(i.backupKey.trim(), 'base64');
  const r = await installHostsSchedule({
    ...scheduleTarget(i),
    keyFile: key,
    cluster: i.cluster,
    backup: i.backup,
    hcbVersion: i.hcbVersion,
  });
  return { ...i, intervalSeconds: r.intervalSeconds, timerEnabled: r.timerEnabled, files: r.files };
}

const scheduleProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ScheduleInputs) {
    return { id: `backup-schedule:${inputs.host.name}`, outs: await install(inputs) };
  },
  async diff(_id: string, olds: ScheduleInputs, news: ScheduleInputs) {
    if (olds.host.name !== news.host.name || olds.host.address !== news.host.address)
      return { changes: true, replaces: ['host'], deleteBeforeReplace: true };
    if (!COMPARED.every((k) => JSON.stringify(olds[k]) === JSON.stringify(news[k]))) return { changes: true };
    const { hostsScheduleProblems } = loadTs<typeof import('./backup')>(news.backupModule);
    return { changes: (await hostsScheduleProblems(scheduleTarget(news))).length > 0 };
  },
  async update(_id: string, _olds: ScheduleInputs, news: ScheduleInputs) {
    return { outs: await install(news) };
  },
  async delete(_id: string, olds: ScheduleInputs) {
    const { removeHostsSchedule } = loadTs<typeof import('./backup')>(olds.backupModule);
    await removeHostsSchedule(scheduleTarget(olds));
  },
};

/** The package's version (recorded in the backups' manifests), from the nearest package.json of this package. */
function packageVersion(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const f = path.join(dir, 'package.json');
    if (fs.existsSync(f)) {
      const p = JSON.parse(fs.readFileSync(f, 'utf8')) as { name?: string; version?: string };
      if (p.name === 'hardened-cluster-blueprint') return p.version ?? 'unknown';
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

/** The scheduled backup on one control-plane host of a hosts stack (hcb:backup). */
export class HostBackupScheduleResource extends pulumi.dynamic.Resource {
  /** Seconds between two scheduled backups. */
  declare public readonly intervalSeconds: pulumi.Output<number>;
  /** True when the host runs systemd and the timer is enabled. */
  declare public readonly timerEnabled: pulumi.Output<boolean>;

  constructor(name: string, args: HostBackupScheduleArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      scheduleProvider,
      name,
      {
        ...args,
        sshPrivateKey: pulumi.secret(args.sshPrivateKey),
        backupKey: pulumi.secret(args.backupKey),
        hcbVersion: packageVersion(),
        backupModule: require.resolve('./backup'),
        targetModule: require.resolve('./target'),
        intervalSeconds: undefined,
        timerEnabled: undefined,
        files: undefined,
      },
      { ...opts, additionalSecretOutputs: ['sshPrivateKey', 'backupKey'] },
      'hcb',
      'HostBackupSchedule',
    );
  }
}
