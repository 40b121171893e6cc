/**
 * What the cluster's backups are (BSI APP.4.4.A5): how often `hcb backup now` must run, how many
 * backups are kept, how old the newest may be, the cipher and the key file. Rendered as a
 * configuration document (hcb.dev/v1alpha1 BackupConfiguration) that the catalogue checks at synth
 * time and that `hcb verify` compares with the backups really on disk.
 */
import { Construct } from 'constructs';
import type { KubeObject } from '../../policies/model';
import { NodeConfigFile } from './node-config-file';
import { BACKUP_CONFIG_PATH } from './paths';

export const BACKUP_CONFIGURATION_API_VERSION = 'hcb.dev/v1alpha1';
export const BACKUP_CONFIGURATION_KIND = 'BackupConfiguration';

export interface BackupConfigurationProps {
  /** How often a backup is taken (Go duration). @default '24h' */
  readonly interval?: string;
  /** Backups kept; older ones are removed by `hcb backup now`. @default 7 */
  readonly retain?: number;
  /** The newest backup may be this old before HCB-BACKUP-RECENT fails (Go duration). @default '26h' */
  readonly maxAge?: string;
  /** Key file on the control-plane node (32 bytes, mode 0600). @default '<state-dir>/secrets/backup-key' */
  readonly keyFile?: string;
}

const DURATION = /^(\d+(\.\d+)?(h|m|s))+$/;

function seconds(d: string): number {
  let total = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g))
    total += Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  return total;
}

export class BackupConfiguration extends NodeConfigFile {
  readonly interval: string;
  readonly retain: number;
  readonly maxAge: string;
  readonly keyFile: string;

  constructor(scope: Construct, id: string, props: BackupConfigurationProps = {}) {
    super(scope, id, { path: BACKUP_CONFIG_PATH, mode: 0o600, role: 'backup-config', sensitive: false });
    const where = this.node.path;
    this.interval = props.interval ?? '24h';
    this.retain = props.retain ?? 7;
    this.maxAge = props.maxAge ?? '26h';
    this.keyFile = props.keyFile ?? '<state-dir>/secrets/backup-key';
    for (const [prop, v] of [
      ['interval', this.interval],
      ['maxAge', this.maxAge],
    ] as const) {
      if (!DURATION.test(v) || seconds(v) <= 0) {
        throw new Error(`${where}: prop ${prop} is "${v}", not a positive duration; write it like "24h" or "1h30m".`);
      }
    }
    if (!Number.isInteger(this.retain) || this.retain < 1) {
      throw new Error(`${where}: prop retain is ${this.retain}; keep at least 1 backup (a whole number, e.g. 7).`);
    }
    if (seconds(this.maxAge) < seconds(this.interval)) {
      throw new Error(
        `${where}: prop maxAge (${this.maxAge}) is shorter than interval (${this.interval}); every backup would count as late. Make maxAge at least the interval, e.g. interval + 2h.`,
      );
    }
  }

  protected describe(): string {
    return 'Backups of etcd, the PKI and the encryption configuration (hcb backup now); checked by HCB-BACKUP-*';
  }

  public toObjects(): KubeObject[] {
    return [
      {
        apiVersion: BACKUP_CONFIGURATION_API_VERSION,
        kind: BACKUP_CONFIGURATION_KIND,
        metadata: { name: 'cluster-backup' },
        spec: {
          command: 'hcb backup now',
          interval: this.interval,
          maxAge: this.maxAge,
          retain: this.retain,
          includes: ['etcd', 'pki', 'encryption-config'],
          encryption: { cipher: 'aes-256-gcm', keyFile: this.keyFile, keyFileMode: '0600' },
        },
      },
    ];
  }
}
