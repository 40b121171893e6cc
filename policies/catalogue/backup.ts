/**
 * Backups of the cluster's state (BSI APP.4.4.A5): configured, encrypted and recent.
 *
 * Two documents feed these controls (both hcb.dev/v1alpha1):
 * - `BackupConfiguration` (what the blueprint renders): interval, maxAge, retain, includes, encryption;
 * - `BackupStatus` (what `hcb verify` observes on a running cluster): the backups on disk, whether
 *   each is an encrypted hcb backup, the key file's mode, and the newest backup's age.
 */
import { CheckContext, CheckResult, ControlRecord } from '../control';
import { notEvaluated, result } from '../checks/helpers';
import { Document } from '../model';
import { asArray, asDict, asDicts, asString, Dict } from '../util/values';

const GROUP = 'hcb.dev';
const REQUIRED_PARTS = ['etcd', 'pki', 'encryption-config'];
const CIPHERS = new Set(['aes-256-gcm', 'chacha20-poly1305']);

/** Seconds of a Go duration ("26h", "1h30m", "90s"), or undefined when it is not one. */
export function durationSeconds(v: unknown): number | undefined {
  if (typeof v !== 'string' || !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) return undefined;
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]];
  return total;
}

function configs(ctx: CheckContext): Document[] {
  return ctx.byKind('BackupConfiguration', GROUP);
}
function statuses(ctx: CheckContext): Document[] {
  return ctx.byKind('BackupStatus', GROUP);
}

/** No BackupConfiguration: a fail when the input describes a control plane, else not evaluated. */
function missingConfig(ctx: CheckContext): CheckResult[] {
  const cp = [...ctx.components('kube-apiserver'), ...ctx.components('etcd')][0];
  if (cp) {
    return [
      result(
        'fail',
        `The input describes a control plane (${cp.describe()}) but no BackupConfiguration: nothing says that etcd, the PKI and the encryption configuration are backed up.`,
        cp.ref,
      ),
    ];
  }
  return [notEvaluated('no BackupConfiguration and no control-plane configuration in the input.')];
}

function modeOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^0?[0-7]{3,4}$/.test(v)) return parseInt(v, 8);
  return undefined;
}

function checkConfigured(ctx: CheckContext): CheckResult[] {
  const docs = configs(ctx);
  if (docs.length === 0) return missingConfig(ctx);
  return docs.map((d) => {
    const spec = asDict(d.object.spec);
    const problems: string[] = [];
    const includes = asArray(spec.includes).filter((x): x is string => typeof x === 'string');
    const absent = REQUIRED_PARTS.filter((p) => !includes.includes(p));
    if (absent.length > 0) problems.push(`includes lacks ${absent.join(', ')}`);
    const interval = durationSeconds(spec.interval);
    const maxAge = durationSeconds(spec.maxAge);
    if (interval === undefined || interval <= 0)
      problems.push(`interval ${JSON.stringify(spec.interval ?? null)} is not a positive duration`);
    if (maxAge === undefined || maxAge <= 0)
      problems.push(`maxAge ${JSON.stringify(spec.maxAge ?? null)} is not a positive duration`);
    else if (interval !== undefined && maxAge < interval)
      problems.push(`maxAge ${String(spec.maxAge)} is shorter than interval ${String(spec.interval)}`);
    const retain = spec.retain;
    if (typeof retain !== 'number' || !Number.isInteger(retain) || retain < 1)
      problems.push(`retain ${JSON.stringify(retain ?? null)} must be a whole number of at least 1`);
    return problems.length > 0
      ? result('fail', `Backup configuration is incomplete: ${problems.join('; ')}.`, ctx.ref(d))
      : result(
          'pass',
          `Backups of ${includes.join(', ')} every ${String(spec.interval)}, newest at most ${String(spec.maxAge)} old, ${String(retain)} kept.`,
          ctx.ref(d),
        );
  });
}

function checkEncrypted(ctx: CheckContext): CheckResult[] {
  const out: CheckResult[] = [];
  const docs = configs(ctx);
  if (docs.length === 0 && statuses(ctx).length === 0)
    return [
      notEvaluated(
        'no BackupConfiguration or BackupStatus in the input (a missing backup fails HCB-BACKUP-CONFIGURED).',
      ),
    ];
  for (const d of docs) {
    const enc = asDict(asDict(d.object.spec).encryption);
    const cipher = asString(enc.cipher);
    const mode = modeOf(enc.keyFileMode);
    if (!cipher || !CIPHERS.has(cipher))
      out.push(
        result(
          'fail',
          `Backups are not encrypted with an authenticated cipher (encryption.cipher is ${cipher ?? 'not set'}): a copy of a backup discloses every Secret and private key.`,
          ctx.ref(d),
        ),
      );
    else if (mode === undefined || (mode & 0o077) !== 0)
      out.push(
        result(
          'fail',
          `The backup key file's mode (${String(enc.keyFileMode ?? 'not set')}) lets group or others read the key.`,
          ctx.ref(d),
        ),
      );
    else
      out.push(
        result('pass', `Backups are encrypted with ${cipher}; the key file is ${String(enc.keyFileMode)}.`, ctx.ref(d)),
      );
  }
  for (const d of statuses(ctx)) {
    const st = d.object as Dict;
    const key = asDict(st.keyFile);
    const backups = asDicts(st.backups);
    const plain = backups.filter((b) => b.encrypted !== true).map((b) => String(b.file));
    const mode = modeOf(key.mode);
    if (plain.length > 0)
      out.push(
        result(
          'fail',
          `${plain.length} backup file(s) are not encrypted hcb backups: ${plain.slice(0, 3).join(', ')}.`,
          ctx.ref(d),
        ),
      );
    else if (backups.length > 0 && (mode === undefined || (mode & 0o077) !== 0))
      out.push(
        result(
          'fail',
          `The backup key ${String(key.path ?? '')} has mode ${String(key.mode ?? 'unknown')}: group or others can read it.`,
          ctx.ref(d),
        ),
      );
    else if (backups.length === 0)
      out.push(result('not-evaluated', 'Not evaluated: there are no backups on disk to look at.', ctx.ref(d)));
    else
      out.push(
        result(
          'pass',
          `All ${backups.length} backup(s) on disk are encrypted; the key file is ${String(key.mode)}.`,
          ctx.ref(d),
        ),
      );
  }
  return out;
}

function checkRecent(ctx: CheckContext): CheckResult[] {
  const sts = statuses(ctx);
  if (sts.length === 0)
    return [
      notEvaluated(
        'no BackupStatus in the input: only a running cluster shows when the last backup was taken (hcb verify).',
      ),
    ];
  const maxAge = durationSeconds(asDict(configs(ctx)[0]?.object.spec).maxAge) ?? 26 * 3600;
  return sts.map((d) => {
    const backups = asDicts((d.object as Dict).backups).filter((b) => b.encrypted === true);
    const ages = backups.map((b) => Number(b.ageSeconds)).filter((n) => Number.isFinite(n));
    if (ages.length === 0)
      return result(
        'fail',
        `There is no backup of this cluster (looked in ${String((d.object as Dict).backupDir ?? 'the backup directory')}): run hcb backup now and schedule it.`,
        ctx.ref(d),
      );
    const newest = Math.min(...ages);
    const hours = (s: number) => `${(s / 3600).toFixed(1)}h`;
    return newest <= maxAge
      ? result('pass', `The newest backup is ${hours(newest)} old (at most ${hours(maxAge)} allowed).`, ctx.ref(d))
      : result(
          'fail',
          `The newest backup is ${hours(newest)} old; at most ${hours(maxAge)} is allowed: the backup schedule is not running.`,
          ctx.ref(d),
        );
  });
}

export const BACKUP_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-BACKUP-CONFIGURED',
    title: 'etcd, the PKI and the encryption configuration are backed up on a schedule',
    rationale:
      'A lost or corrupted etcd cannot be rebuilt from manifests alone: the cluster state, its certificates and the key that decrypts its Secrets must be in a backup that is taken regularly and kept for a while.',
    severity: 'high',
    frameworks: { bsi: ['APP.4.4.A5'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'BackupConfiguration',
      prop: ['interval', 'maxAge', 'retain'],
      text: 'set them in the blueprint spec backup; run `hcb backup now` on that schedule.',
    },
    check: checkConfigured,
  },
  {
    id: 'HCB-BACKUP-ENCRYPTED',
    title: 'Backups are encrypted with an authenticated cipher and a key only root can read',
    rationale:
      'A backup holds every Secret and the cluster CA key; an unencrypted or loosely keyed copy is a full compromise of the cluster.',
    severity: 'high',
    frameworks: { bsi: ['APP.4.4.A5'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'BackupConfiguration',
      prop: 'keyFile',
      text: 'a 32-byte key, mode 0600; `hcb backup now` always encrypts with AES-256-GCM.',
    },
    check: checkEncrypted,
  },
  {
    id: 'HCB-BACKUP-RECENT',
    title: 'The newest backup is younger than the configured maximum age',
    rationale:
      'A schedule that silently stopped leaves only stale backups; the age of the newest backup shows whether backups really happen.',
    severity: 'medium',
    frameworks: { bsi: ['APP.4.4.A5'] },
    liveOnly: 'its input, BackupStatus, is what hcb verify observes of the backups on disk; no manifest has it.',
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'BackupConfiguration',
      prop: 'maxAge',
      text: 'schedule `hcb backup now` (e.g. from cron) at the configured interval.',
    },
    check: checkRecent,
  },
];
