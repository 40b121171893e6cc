import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';
import { AUDIT_LOG_PATH } from './paths';
import { ProtectionProfile } from './profile';
import { checkAbsolutePath, checkPositiveInt } from './validation';

/** Where and how long the API server keeps its audit log (STIG V-242402, 242462–242465). */
export interface AuditLogProps {
  /**
   * Audit log file on the node; its directory is mounted into the API server pod.
   * @default '/var/log/kubernetes/audit/audit.log'
   */
  readonly path?: string;
  /**
   * Days to keep rotated files (--audit-log-maxage).
   * @default 90 for the high profile, 30 otherwise
   */
  readonly maxAgeDays?: number;
  /**
   * Rotated files to keep (--audit-log-maxbackup).
   * @default 20 for the high profile, 10 otherwise
   */
  readonly maxBackups?: number;
  /**
   * Size in megabytes at which the file is rotated (--audit-log-maxsize).
   * @default 100
   */
  readonly maxSizeMb?: number;
  /**
   * Gzip rotated files (--audit-log-compress).
   * @default false
   */
  readonly compress?: boolean;
}

/** Validated audit log settings. */
export interface AuditLogSettings {
  readonly path: string;
  readonly directory: string;
  readonly maxAgeDays: number;
  readonly maxBackups: number;
  readonly maxSizeMb: number;
  readonly compress: boolean;
}

export function resolveAuditLog(
  scope: Construct,
  profile: ProtectionProfile,
  props: AuditLogProps = {},
  prefix = 'audit.log',
): AuditLogSettings {
  const path = checkAbsolutePath(scope, `${prefix}.path`, props.path ?? AUDIT_LOG_PATH);
  if (path.endsWith('/')) {
    throw new BlueprintPropError(
      scope,
      `${prefix}.path`,
      path,
      'names a directory, not a file',
      "use a file path such as '/var/log/kubernetes/audit/audit.log'",
    );
  }
  const directory = path.slice(0, path.lastIndexOf('/')) || '/';
  if (directory === '/' || directory === '/var/log' || directory === '/etc') {
    throw new BlueprintPropError(
      scope,
      `${prefix}.path`,
      path,
      `its directory ${directory} would be mounted writable into the API server`,
      'use a dedicated directory such as /var/log/kubernetes/audit',
    );
  }
  return {
    path,
    directory,
    maxAgeDays: checkPositiveInt(
      scope,
      `${prefix}.maxAgeDays`,
      props.maxAgeDays ?? (profile === 'high' ? 90 : 30),
      1,
      3650,
    ),
    maxBackups: checkPositiveInt(
      scope,
      `${prefix}.maxBackups`,
      props.maxBackups ?? (profile === 'high' ? 20 : 10),
      1,
      1000,
    ),
    maxSizeMb: checkPositiveInt(scope, `${prefix}.maxSizeMb`, props.maxSizeMb ?? 100, 1, 100_000),
    compress: props.compress ?? false,
  };
}
