/**
 * Stack configuration → BlueprintSpec. One function for the Pulumi program and for
 * `hcb synth --stack-config`, so the report describes exactly what the stack applies.
 */
import { ADMISSION_POLICY_CONTROLS, AdmissionPolicyMode } from '../constructs/admission/catalogue-admission-policies';
import type { BlueprintSpec, ProtectionProfile } from '../constructs/blueprint';
import { PROTECTION_PROFILES } from '../constructs/control-plane/profile';
import { DEFAULT_LOCAL_ENDPOINTS } from '../constructs/local-endpoints';
import {
  checkSshPrivateKey,
  HostsBackupSpec,
  HostsTargetSpec,
  parseBackupConfig,
  parseBackupKey,
  parseHostsConfig,
} from './hosts/config';
import { hostsBlueprintSpec } from './hosts/program';
import { checkHostsRanges, HOSTS_NETWORK } from './hosts/ranges';
import { withLocalClusterDns } from './local/cluster-dns';

export type Target = 'local' | 'existing' | 'hosts';

/**
 * Reads one config key (without the `hcb:` prefix); undefined when unset. `isSecret`, when the
 * reader can tell, says whether the key is stored as a Pulumi secret (the hosts target requires
 * `hcb:sshPrivateKey` to be one).
 */
export type ConfigReader = ((key: string) => unknown) & { isSecret?: (key: string) => boolean };

/**
 * What a reader returns for a secret whose value was not shown (`pulumi config --json` without
 * `--show-secrets`): it is set and secret, and nothing that reads the spec needs its value.
 */
export const SECRET_NOT_SHOWN: unique symbol = Symbol('secret value not shown');

/** Secret keys a stack config file may carry without their values. */
const SECRET_KEYS_VALUE_OPTIONAL = ['sshPrivateKey', 'backupKey'];

export interface StackSpec {
  target: Target;
  spec: BlueprintSpec;
  manifests: string[];
  stateDir?: string;
  /**
   * Local target: also run the node (containerd, runc, CNI, kubelet in namespaces of its own,
   * stacks/local/node), so pods really run. Always false on the existing target.
   */
  node: boolean;
  /**
   * Hosts target: the validated host list (names, addresses, roles, pinned host keys). The SSH
   * private key is never part of the spec; the runner reads `hcb:sshPrivateKey` as a secret.
   */
  hosts?: HostsTargetSpec;
  /**
   * Hosts target, `hcb:backup`: the scheduled backup installed on every control-plane host
   * (stacks/hosts/backup-resource.ts). Its key is the secret `hcb:backupKey`, never part of the
   * spec: the program reads it with `config.requireSecret`.
   */
  backup?: HostsBackupSpec;
}

/** Where the scheduled backup keeps its key on a control-plane host (HostBackupSchedule's default). */
export const HOST_BACKUP_KEY_PATH = '/etc/hcb/backup/backup-key';

const PROFILES = PROTECTION_PROFILES;

/** Every key of the `hcb` namespace that a stack reads (Pulumi.yaml declares the same). */
export const STACK_CONFIG_KEYS = [
  'target',
  'profile',
  'podSubnet',
  'serviceSubnet',
  'namespaces',
  'apiServerPort',
  'etcdClientPort',
  'etcdPeerPort',
  'etcdMetricsPort',
  'controllerManagerPort',
  'schedulerPort',
  'stateDir',
  'manifests',
  'node',
  'hosts',
  'sshPrivateKey',
  'controlPlaneEndpoint',
  'admissionModes',
  'backup',
  'backupKey',
] as const;

const ADMISSION_MODES: readonly AdmissionPolicyMode[] = ['enforce', 'dry-run'];

/**
 * `hcb:admissionModes`: how the catalogue's admission policies bind, as an object of control id
 * (one of ADMISSION_POLICY_CONTROLS) → 'enforce' (Deny, Audit) or 'dry-run' (Warn, Audit), with
 * `default` for every control not named. Unset: each control's own default (enforce; image
 * digests dry-run). Anything else is refused, so a typo never leaves a policy weaker than meant.
 */
export function admissionModesConfig(v: unknown): BlueprintSpec['admissionModes'] {
  if (v === undefined) return undefined;
  const fix = "Fix: pulumi config set --path 'admissionModes.<control or default>' enforce|dry-run";
  let obj: unknown = v;
  if (typeof v === 'string') {
    try {
      obj = JSON.parse(v) as unknown;
    } catch {
      obj = undefined;
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new Error(
      `hcb: config "hcb:admissionModes" must be an object of control id (or "default") to enforce or dry-run, got ${describe(v)}. ${fix}`,
    );
  }
  const modes: Record<string, AdmissionPolicyMode> = {};
  let mode: AdmissionPolicyMode | undefined;
  for (const [key, m] of Object.entries(obj as Record<string, unknown>)) {
    if (typeof m !== 'string' || !(ADMISSION_MODES as readonly string[]).includes(m)) {
      throw new Error(`hcb: config "hcb:admissionModes.${key}" = ${describe(m)} is not enforce or dry-run. ${fix}`);
    }
    if (key === 'default') mode = m as AdmissionPolicyMode;
    else if (ADMISSION_POLICY_CONTROLS.includes(key)) modes[key] = m as AdmissionPolicyMode;
    else
      throw new Error(
        `hcb: config "hcb:admissionModes.${key}": not a control with an admission policy (known: default, ${ADMISSION_POLICY_CONTROLS.join(', ')}). ${fix}`,
      );
  }
  return { ...(mode ? { mode } : {}), modes };
}

export function stackSpec(get: ConfigReader): StackSpec {
  const str = (key: string, dflt: string): string => {
    const v = get(key);
    if (v === undefined) return dflt;
    if (typeof v !== 'string')
      throw new Error(
        `hcb: config "hcb:${key}" must be a string, got ${describe(v)}. Fix: pulumi config set hcb:${key} <value>`,
      );
    return v;
  };
  const target = str('target', 'local');
  if (target !== 'local' && target !== 'existing' && target !== 'hosts') {
    throw new Error(
      `hcb: config "hcb:target" = "${target}" is invalid. Fix: pulumi config set hcb:target local|existing|hosts`,
    );
  }
  const profile = str('profile', 'standard');
  if (!PROFILES.includes(profile as ProtectionProfile)) {
    throw new Error(
      `hcb: config "hcb:profile" = "${profile}" is invalid. Fix: pulumi config set hcb:profile basic|standard|high`,
    );
  }
  const num = (key: string, dflt: number): number => {
    const v = get(key);
    if (v === undefined) return dflt;
    // Decimal digits only (as text or a JSON integer): not true, "0x1bb", " 6443", 6443.5 or "6e3".
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,5}$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new Error(
        `hcb: config "hcb:${key}" = ${describe(v)} is not a port. Fix: pulumi config set hcb:${key} <1-65535>`,
      );
    return n;
  };
  const list = (key: string, dflt: string[]): string[] => {
    const v = get(key);
    if (v === undefined) return dflt;
    let arr: unknown = v;
    if (typeof v === 'string') {
      try {
        arr = JSON.parse(v) as unknown;
      } catch {
        arr = undefined;
      }
    }
    if (!Array.isArray(arr) || !arr.every((x) => typeof x === 'string')) {
      throw new Error(
        `hcb: config "hcb:${key}" must be a list of strings. Fix: pulumi config set --path '${key}[0]' <value>`,
      );
    }
    return arr as string[];
  };
  const admissionModes = admissionModesConfig(get('admissionModes'));
  const spec: BlueprintSpec = {
    ...(admissionModes ? { admissionModes } : {}),
    profile: profile as ProtectionProfile,
    namespaces: list('namespaces', ['hcb-demo']).map((name) => ({ name })),
    local:
      target === 'local'
        ? {
            apiServerPort: num('apiServerPort', DEFAULT_LOCAL_ENDPOINTS.apiServerPort),
            etcdClientPort: num('etcdClientPort', DEFAULT_LOCAL_ENDPOINTS.etcdClientPort),
            etcdPeerPort: num('etcdPeerPort', DEFAULT_LOCAL_ENDPOINTS.etcdPeerPort),
            etcdMetricsPort: num('etcdMetricsPort', DEFAULT_LOCAL_ENDPOINTS.etcdMetricsPort),
            controllerManagerPort: num('controllerManagerPort', DEFAULT_LOCAL_ENDPOINTS.controllerManagerPort),
            schedulerPort: num('schedulerPort', DEFAULT_LOCAL_ENDPOINTS.schedulerPort),
          }
        : undefined,
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const v = get(key);
    if (v === undefined) return dflt;
    // As Pulumi stores a boolean (the text true/false) or a JSON boolean; nothing else ("yes", 1, "True ").
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw new Error(
      `hcb: config "hcb:${key}" = ${describe(v)} is not true or false. Fix: pulumi config set hcb:${key} true|false`,
    );
  };
  const node = bool('node', true);
  const stateDir = str('stateDir', '');
  const hosts = target === 'hosts' ? hostsTarget(get) : undefined;
  const backup = target === 'hosts' ? hostsBackup(get) : undefined;
  if (target !== 'hosts') {
    for (const key of ['hosts', 'sshPrivateKey', 'controlPlaneEndpoint', 'backup', 'backupKey']) {
      if (get(key) !== undefined)
        throw new Error(
          `hcb: config "hcb:${key}" is set but hcb:target is ${target}, which does not read it. Fix: pulumi config rm hcb:${key} (or pulumi config set hcb:target hosts)`,
        );
    }
  }
  const ranges = hostsRanges(get, target, hosts);
  // hcb:backup: the control plane's BackupConfiguration says what the schedule does (HCB-BACKUP-* check it).
  const backupProps = backup
    ? {
        backup: {
          interval: backup.interval,
          retain: backup.retain,
          maxAge: backup.maxAge,
          keyFile: HOST_BACKUP_KEY_PATH,
        },
      }
    : {};
  return {
    target,
    spec: ranges || backup ? { ...spec, controlPlane: { ...spec.controlPlane, ...ranges, ...backupProps } } : spec,
    manifests: list('manifests', []),
    stateDir: stateDir || undefined,
    node: target === 'local' && node,
    hosts,
    ...(backup ? { backup } : {}),
  };
}

/**
 * `hcb:serviceSubnet` and `hcb:podSubnet` (hosts target; unset or empty: HOSTS_NETWORK's ranges),
 * checked against each other and the hosts' addresses (stacks/hosts/ranges.ts). Other targets have
 * fixed ranges and refuse the settings.
 */
function hostsRanges(
  get: ConfigReader,
  target: Target,
  hosts: HostsTargetSpec | undefined,
): { serviceSubnet: string; podSubnet: string } | undefined {
  const read = (key: 'serviceSubnet' | 'podSubnet'): string | undefined => {
    const v = get(key);
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string')
      throw new Error(
        `hcb: config "hcb:${key}" must be a CIDR block as text, got ${describe(v)}. Fix: pulumi config set hcb:${key} ${HOSTS_NETWORK[key]}`,
      );
    return v;
  };
  const serviceSubnet = read('serviceSubnet');
  const podSubnet = read('podSubnet');
  if (target !== 'hosts' || !hosts) {
    const set = serviceSubnet !== undefined ? 'serviceSubnet' : podSubnet !== undefined ? 'podSubnet' : undefined;
    if (set)
      throw new Error(
        `hcb: config "hcb:${set}" is set but hcb:target is ${target}, which does not read it (its ranges are fixed). Fix: pulumi config rm hcb:${set} (or pulumi config set hcb:target hosts)`,
      );
    return undefined;
  }
  const ranges = {
    serviceSubnet: serviceSubnet ?? HOSTS_NETWORK.serviceSubnet,
    podSubnet: podSubnet ?? HOSTS_NETWORK.podSubnet,
  };
  checkHostsRanges(ranges, hosts.hosts);
  return ranges;
}

/** The hosts target's keys: the host list, and the private key (present, a secret, well-formed). */
function hostsTarget(get: ConfigReader): HostsTargetSpec {
  const hosts = parseHostsConfig(get('hosts'), get('controlPlaneEndpoint'));
  const key = get('sshPrivateKey');
  const fix = 'Fix: pulumi config set --secret hcb:sshPrivateKey < ~/.ssh/<key>';
  if (key === undefined)
    throw new Error(`hcb: config "hcb:sshPrivateKey" is not set; the hosts target logs in with it. ${fix}`);
  if (!get.isSecret)
    throw new Error(
      'hcb: cannot tell whether config "hcb:sshPrivateKey" is a secret (this config reader does not say); the hosts target refuses a private key that might be stored in plain text',
    );
  if (!get.isSecret('sshPrivateKey'))
    throw new Error(
      `hcb: config "hcb:sshPrivateKey" is stored in plain text in the stack file; it must be a secret. Fix: pulumi config rm hcb:sshPrivateKey, then pulumi config set --secret hcb:sshPrivateKey < ~/.ssh/<key> (and rotate that key: it was on disk unencrypted)`,
    );
  if (key !== SECRET_NOT_SHOWN) checkSshPrivateKey(key);
  return hosts;
}

/**
 * `hcb:backup` and `hcb:backupKey` (hosts target). The key, when set, must be a secret and 32 bytes
 * in base64; `hcb:backup` needs it (the hosts get a copy to seal their backups with). The key alone
 * is allowed: `hcb backup --stack` then uses it instead of the local key file.
 */
function hostsBackup(get: ConfigReader): HostsBackupSpec | undefined {
  const backup = parseBackupConfig(get('backup'));
  const key = get('backupKey');
  const fix = 'Fix: openssl rand -base64 32 | pulumi config set --secret hcb:backupKey';
  if (key !== undefined) {
    if (!get.isSecret)
      throw new Error(
        'hcb: cannot tell whether config "hcb:backupKey" is a secret (this config reader does not say); a backup key that might be stored in plain text is refused',
      );
    if (!get.isSecret('backupKey'))
      throw new Error(
        `hcb: config "hcb:backupKey" is stored in plain text in the stack file; it must be a secret. Fix: pulumi config rm hcb:backupKey, then openssl rand -base64 32 | pulumi config set --secret hcb:backupKey (a new key: the old one was on disk unencrypted; backups made with it stay readable only with it)`,
      );
    if (key !== SECRET_NOT_SHOWN) parseBackupKey(key);
  } else if (backup) {
    throw new Error(
      `hcb: config "hcb:backup" is set but "hcb:backupKey" is not; the control-plane hosts seal their backups with it. ${fix}`,
    );
  }
  return backup;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/**
 * A reader over the output of `pulumi config --json` ({"hcb:key": {"value": "...", "objectValue"?:
 * ..., "secret": bool}}), checked strictly so that nothing weakens silently: an unknown `hcb:` key
 * (a typo), an entry that is not such an object (e.g. {"hcb:profile": "high"}), an unknown field
 * or a secret without its value is an error naming the key. Keys of other namespaces (providers)
 * are left alone.
 */
export function readerFromPulumiConfigJson(json: unknown): ConfigReader {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`stack config must be the JSON object \`pulumi config --json\` writes, got ${describe(json)}`);
  }
  const entries = new Map<string, unknown>();
  const secrets = new Set<string>();
  for (const [fullKey, entry] of Object.entries(json as Record<string, unknown>)) {
    if (!fullKey.startsWith('hcb:')) continue;
    const key = fullKey.slice(4);
    if (!(STACK_CONFIG_KEYS as readonly string[]).includes(key)) {
      throw new Error(
        `hcb: config "${fullKey}" is not a setting of this stack (known: ${STACK_CONFIG_KEYS.join(', ')}). Fix: pulumi config rm ${fullKey}`,
      );
    }
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new Error(
        `hcb: config "${fullKey}" must be an object such as {"value": "..."} as \`pulumi config --json\` writes it, got ${describe(entry)}`,
      );
    }
    const e = entry as Record<string, unknown>;
    for (const field of Object.keys(e)) {
      if (!['value', 'objectValue', 'secret'].includes(field))
        throw new Error(`hcb: config "${fullKey}" has an unknown field "${field}" (known: value, objectValue, secret)`);
    }
    if (e.secret !== undefined && typeof e.secret !== 'boolean')
      throw new Error(`hcb: config "${fullKey}": "secret" must be true or false, got ${describe(e.secret)}`);
    const value = e.objectValue !== undefined ? e.objectValue : e.value;
    if (e.secret === true) secrets.add(key);
    if (value === undefined && e.secret === true && SECRET_KEYS_VALUE_OPTIONAL.includes(key)) {
      entries.set(key, SECRET_NOT_SHOWN);
      continue;
    }
    if (value === undefined) {
      throw new Error(
        e.secret === true
          ? `hcb: config "${fullKey}" is secret and its value is not in the file. Fix: pulumi config --json --show-secrets`
          : `hcb: config "${fullKey}" has no value`,
      );
    }
    entries.set(key, value);
  }
  const reader: ConfigReader = (key) => entries.get(key);
  reader.isSecret = (key) => secrets.has(key);
  return reader;
}

/**
 * The spec a stack's program applies, from its validated stack config: used by the Pulumi program
 * (stacks/index.ts) and `hcb synth --stack-config` (cli/stack-config.ts), so what synth writes is
 * what `pulumi up` applies. Local target with the node: the cluster DNS add-on
 * (stacks/local/cluster-dns.ts). Hosts target: hostsBlueprintSpec (stacks/hosts/program.ts: the
 * first control plane's name and address, the ranges, the kubelet without systemd under a cgroup
 * parent named after the stack, kube-proxy's conntrack setting, the kube-system exemption); it
 * needs the stack's name, which `pulumi config --json` does not carry.
 */
export interface ProgramSpecOptions {
  /** The Pulumi stack's name (names the hosts cluster and its kubelet cgroup parent). */
  stack?: string;
  /** The toolchain's bin directory (HCB_TOOLCHAIN_BIN): the local node's DNS image comes from it. */
  binDir?: string;
  /** The environment: HCB_HOSTS_CGROUP_V1=true for hosts on cgroup v1. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** The stack spec with the spec its program applies. */
export function programStackSpec(s: StackSpec, o: ProgramSpecOptions): StackSpec {
  const withDns = withLocalClusterDns(s, o.binDir);
  if (withDns.target !== 'hosts') return withDns;
  if (!o.stack)
    throw new Error(
      "hcb: a hosts stack's blueprint is named after its stack (cluster name, kubelet cgroup parent); the stack name is missing (hcb synth: --stack NAME)",
    );
  const env = o.env ?? process.env;
  return {
    ...withDns,
    spec: hostsBlueprintSpec(withDns.spec, withDns.hosts!, {
      stack: o.stack,
      cgroupV1: env.HCB_HOSTS_CGROUP_V1 === 'true',
    }),
  };
}
