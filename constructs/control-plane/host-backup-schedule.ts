/**
 * The scheduled backup of a hosts-target control plane (issue 14; BSI APP.4.4.A5): a systemd
 * service and timer on the control-plane host that run the blueprint's host program
 * (tools/hosts, `hcb-host-backup scheduled`) every `interval` of the cluster's
 * BackupConfiguration, and the program's configuration (etcd endpoint and client certificate,
 * what to include, where backups go, the key file, retention). Rendered as node files;
 * stacks/hosts/backup.ts `installHostsSchedule` puts them on the host and enables the timer
 * when the host runs systemd. Without systemd, `command` is what cron or the host's init system
 * runs at the interval (the unit's ExecStart, unchanged).
 *
 * Why a node timer and not a CronJob: the job needs etcd's client key and the cluster's CA keys.
 * A CronJob with hostPath mounts of /etc/kubernetes/pki would put those keys into a pod that the
 * API server schedules, that RBAC on CronJobs in its namespace can change (image, command), and
 * that needs a PodSecurity exemption for hostPath; a unit on the host adds no new reader of the
 * keys beyond root on that host, which already holds them. The unit runs without capabilities,
 * with a read-only file system except the backup directories, and reaches only the etcd address.
 */
import * as path from 'path';
import { Construct } from 'constructs';
import type { NodeFile } from '../../policies/model';
import { ENCRYPTION_CONFIG_PATH, PKI_DIR } from './paths';

/** Where the schedule's files go on the host. */
export const HOST_BACKUP_SCHEDULE_CONFIG_PATH = '/etc/hcb/backup/schedule.json';
export const HOST_BACKUP_SERVICE_PATH = '/etc/systemd/system/hcb-backup.service';
export const HOST_BACKUP_TIMER_PATH = '/etc/systemd/system/hcb-backup.timer';

export interface HostBackupScheduleProps {
  /**
   * How often and how many: the control plane's BackupConfiguration (`HardenedControlPlane`
   * member `backup`) or the same two values read from the host's backup-config.yaml.
   */
  readonly backup: { readonly interval: string; readonly retain: number };
  /** Name in the backups' manifests and file names (the stack or cluster name). */
  readonly cluster: string;
  /** The control-plane host's name and address, as the backups record them. */
  readonly hostName: string;
  readonly address: string;
  /**
   * How the program reaches etcd: kubeadm's stacked etcd with the API server's client certificate.
   * @default { endpoint: 'https://127.0.0.1:2379', caFile: '/etc/kubernetes/pki/etcd/ca.crt', certFile: '/etc/kubernetes/pki/apiserver-etcd-client.crt', keyFile: '/etc/kubernetes/pki/apiserver-etcd-client.key' }
   */
  readonly etcd?: {
    readonly endpoint?: string;
    readonly caFile?: string;
    readonly certFile?: string;
    readonly keyFile?: string;
  };
  /** The directory of the API server's encryption configuration. @default '/etc/kubernetes/encryption' */
  readonly encryptionConfigDir?: string;
  /** Keys the bring-up generated ({{hcb-secret:NAME}}), backed up with the configuration. @default '/var/lib/hcb/secrets' */
  readonly secretsDir?: string;
  /** Where the encrypted backups go on the host (0700). @default '/var/lib/hcb/backups' */
  readonly backupDir?: string;
  /** The 32-byte AES-256 key on the host, mode 0600, root. @default '/etc/hcb/backup/backup-key' */
  readonly keyFile?: string;
  /** Bound of one run (Go duration). @default '10m' */
  readonly timeout?: string;
  /** Recorded in the manifests. @default 'unknown' */
  readonly hcbVersion?: string;
  /** Directory of the host program and etcdutl. @default '/opt/hcb/bin' */
  readonly binDir?: string;
}

const DURATION = /^(\d+(\.\d+)?(h|m|s))+$/;
const PLAIN_PATH = /^\/[A-Za-z0-9._/@+-]+$/;

function seconds(d: string): number {
  let total = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g))
    total += Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  return total;
}

export class HostBackupSchedule extends Construct {
  /** Seconds between two runs. */
  public readonly intervalSeconds: number;
  public readonly retain: number;
  public readonly backupDir: string;
  public readonly keyFile: string;
  /** Working directory of a run (snapshot while it is sealed; the run lock). */
  public readonly workDir: string;
  /** The program and etcdutl on the host. */
  public readonly programPath: string;
  public readonly etcdutlPath: string;
  /** What one scheduled run executes (the service's ExecStart): for cron or an init script without systemd. */
  public readonly command: readonly string[];
  private readonly config: Record<string, unknown>;
  private readonly etcdHost: string;
  private readonly timeoutSeconds: number;

  constructor(scope: Construct, id: string, props: HostBackupScheduleProps) {
    super(scope, id);
    const where = this.node.path;
    const { interval, retain } = props.backup;
    if (!DURATION.test(interval) || seconds(interval) < 60)
      throw new Error(`${where}: prop backup.interval is "${interval}"; write a duration of at least 1m, like "24h".`);
    if (!Number.isInteger(retain) || retain < 1)
      throw new Error(`${where}: prop backup.retain is ${retain}; keep at least 1 backup (a whole number, e.g. 7).`);
    if (!/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/.test(props.cluster))
      throw new Error(
        `${where}: prop cluster "${props.cluster}" must be a lower-case name (letters, digits, "-", ".").`,
      );
    const timeout = props.timeout ?? '10m';
    if (!DURATION.test(timeout) || seconds(timeout) <= 0)
      throw new Error(`${where}: prop timeout is "${timeout}", not a positive duration like "10m".`);
    this.intervalSeconds = Math.round(seconds(interval));
    this.timeoutSeconds = Math.ceil(seconds(timeout));
    this.retain = retain;
    this.backupDir = props.backupDir ?? '/var/lib/hcb/backups';
    this.keyFile = props.keyFile ?? '/etc/hcb/backup/backup-key';
    this.workDir = '/var/lib/hcb/backup';
    const bin = props.binDir ?? '/opt/hcb/bin';
    this.programPath = `${bin}/hcb-host-backup`;
    this.etcdutlPath = `${bin}/etcdutl`;
    const etcd = {
      endpoint: props.etcd?.endpoint ?? 'https://127.0.0.1:2379',
      caFile: props.etcd?.caFile ?? `${PKI_DIR}/etcd/ca.crt`,
      certFile: props.etcd?.certFile ?? `${PKI_DIR}/apiserver-etcd-client.crt`,
      keyFile: props.etcd?.keyFile ?? `${PKI_DIR}/apiserver-etcd-client.key`,
    };
    let url: URL;
    try {
      url = new URL(etcd.endpoint);
    } catch {
      throw new Error(`${where}: prop etcd.endpoint "${etcd.endpoint}" is not a URL.`);
    }
    if (url.protocol !== 'https:')
      throw new Error(`${where}: prop etcd.endpoint "${etcd.endpoint}" must be https (etcd's client port with TLS).`);
    this.etcdHost = url.hostname.replace(/^\[|\]$/g, '');
    const include = [
      PKI_DIR,
      props.encryptionConfigDir ?? path.posix.dirname(ENCRYPTION_CONFIG_PATH),
      props.secretsDir ?? '/var/lib/hcb/secrets',
    ];
    for (const [prop, p] of [
      ['backupDir', this.backupDir],
      ['keyFile', this.keyFile],
      ['binDir', bin],
      ['etcd.caFile', etcd.caFile],
      ['etcd.certFile', etcd.certFile],
      ['etcd.keyFile', etcd.keyFile],
      ['encryptionConfigDir', include[1]],
      ['secretsDir', include[2]],
    ] as const) {
      if (!PLAIN_PATH.test(p) || p.split('/').includes('..'))
        throw new Error(`${where}: prop ${prop} "${p}" must be a plain absolute path.`);
    }
    if (this.keyFile.startsWith(`${this.backupDir}/`))
      throw new Error(
        `${where}: prop keyFile must not lie inside backupDir: a copy of the backups would carry their key.`,
      );
    this.command = [this.programPath, 'scheduled', '--config', HOST_BACKUP_SCHEDULE_CONFIG_PATH];
    this.config = {
      cluster: props.cluster,
      host: props.hostName,
      address: props.address,
      backupDir: this.backupDir,
      workDir: this.workDir,
      keyFile: this.keyFile,
      retain,
      etcdutl: this.etcdutlPath,
      hcbVersion: props.hcbVersion ?? 'unknown',
      timeout,
      etcd,
      include,
    };
  }

  /** The program's configuration (no secret: paths and names only). */
  public renderConfig(): string {
    return `${JSON.stringify(this.config, null, 2)}\n`;
  }

  /** The oneshot service: no capabilities, read-only system, network only to etcd. */
  public renderService(): string {
    const loopback = this.etcdHost === '127.0.0.1' || this.etcdHost === '::1' || this.etcdHost === 'localhost';
    return [
      '# Rendered by hardened-cluster-blueprint (HostBackupSchedule): one encrypted etcd backup (BSI APP.4.4.A5).',
      '[Unit]',
      'Description=hcb scheduled backup of etcd, the PKI and the encryption configuration',
      'ConditionPathExists=/etc/kubernetes/manifests/etcd.yaml',
      '',
      '[Service]',
      'Type=oneshot',
      `ExecStart=${this.command.join(' ')}`,
      `TimeoutStartSec=${this.timeoutSeconds + 120}`,
      'User=root',
      'UMask=0077',
      'Nice=10',
      'IOSchedulingClass=idle',
      // root without capabilities: reads root-owned 0600 keys as their owner, nothing else.
      'CapabilityBoundingSet=',
      'AmbientCapabilities=',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      `ReadWritePaths=${this.backupDir} ${this.workDir}`,
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'PrivateDevices=yes',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectKernelLogs=yes',
      'ProtectControlGroups=yes',
      'ProtectClock=yes',
      'ProtectHostname=yes',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'IPAddressDeny=any',
      `IPAddressAllow=${loopback ? 'localhost' : this.etcdHost}`,
      'RestrictNamespaces=yes',
      'RestrictRealtime=yes',
      'RestrictSUIDSGID=yes',
      'LockPersonality=yes',
      'MemoryDenyWriteExecute=yes',
      'SystemCallArchitectures=native',
      'SystemCallFilter=@system-service',
      'SystemCallFilter=~@privileged',
      '',
    ].join('\n');
  }

  /** The timer: after boot, then every interval after the last run (spread by up to a tenth, at most 5 min). */
  public renderTimer(): string {
    const spread = Math.min(300, Math.floor(this.intervalSeconds / 10));
    return [
      '# Rendered by hardened-cluster-blueprint (HostBackupSchedule).',
      '[Unit]',
      `Description=hcb scheduled backup every ${this.intervalSeconds}s`,
      '',
      '[Timer]',
      'OnBootSec=15min',
      `OnUnitActiveSec=${this.intervalSeconds}s`,
      `RandomizedDelaySec=${spread}s`,
      'AccuracySec=1min',
      'Unit=hcb-backup.service',
      '',
      '[Install]',
      'WantedBy=timers.target',
      '',
    ].join('\n');
  }

  /** The three files, owner root. The key file is not among them: the installer sends it (0600). */
  public get nodeFiles(): NodeFile[] {
    const file = (p: string, mode: number, role: string, content: string): NodeFile => ({
      path: p,
      owner: 'root',
      group: 'root',
      mode,
      role,
      content,
      sensitive: false,
      createdBy: 'blueprint',
    });
    return [
      file(HOST_BACKUP_SCHEDULE_CONFIG_PATH, 0o600, 'backup-schedule-config', this.renderConfig()),
      file(HOST_BACKUP_SERVICE_PATH, 0o644, 'systemd-unit', this.renderService()),
      file(HOST_BACKUP_TIMER_PATH, 0o644, 'systemd-unit', this.renderTimer()),
    ];
  }
}
