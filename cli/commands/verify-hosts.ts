/**
 * `hcb verify` for a hosts-target cluster (stacks/hosts/verify.ts): every host of the stack over
 * SSH, then the API probes through the API endpoint with the admin kubeconfig of the first
 * control-plane host. cli/commands/verify.ts hands over to this file when `--stack`, `--host`, or a
 * `--stack-config` whose hcb:target is hosts is given, and renders the findings as for the local
 * cluster (same formats, same exit codes).
 *
 * The hosts are chosen as for `hcb backup` on hosts (cli/commands/backup-hosts.ts, whose helpers
 * this file imports): `--stack NAME` reads `pulumi config --json --show-secrets --stack NAME`,
 * `--stack-config FILE` reads that output from a file, `--host [USER@]ADDRESS[:PORT]` with
 * `--host-key FILE` and `--ssh-key FILE` names one control-plane host without Pulumi.
 * `HCB_HOSTS_DIAL` (stacks/hosts/target.ts) overrides where SSH and the API are dialled.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Finding, NodeFile } from '../../policies/model';
import { type ParsedOptions, UsageError } from '../options';
import { readerFromPulumiConfigJson, stackSpec } from '../../stacks/spec';
import type { HostSpec } from '../../stacks/hosts/config';
import { parseHostKey } from '../../stacks/hosts/config';
import { NOT_OBSERVED_CONTROL } from './verify';
import { parseHostArg, readPrivateKey, stackConfigJson } from './backup-hosts';

export interface HostsVerifyArgs {
  stack?: string;
  stackConfig?: string;
  host?: string;
  hostName?: string;
  hostKey?: string;
  sshKey?: string;
}

/** The value options of hcb verify that choose and reach the hosts target (parsed by cli/options.ts parseOptions in verify.ts). */
export const HOSTS_VERIFY_VALUES = ['stack', 'host', 'host-key', 'ssh-key', 'host-name'] as const;

/**
 * The hosts target from hcb verify's parsed options: when --stack or --host is given or the
 * --stack-config names hcb:target hosts; undefined for the local target. Mixed or incomplete
 * choices, and a --host that is not [USER@]ADDRESS[:PORT], are UsageErrors (exit 2 with the usage).
 */
export function hostsVerifyChoice(
  o: Pick<ParsedOptions, 'value'>,
  stateDirGiven: boolean,
): HostsVerifyArgs | undefined {
  const value = (n: string) => o.value(n);
  const stackConfig = value('stack-config');
  let configIsHosts = false;
  if (stackConfig !== undefined && value('stack') === undefined && value('host') === undefined) {
    try {
      configIsHosts = stackConfigIsHosts(JSON.parse(fs.readFileSync(stackConfig, 'utf8')) as unknown);
    } catch {
      configIsHosts = false; // the local path reads it and reports what is wrong
    }
  }
  const chosen = [value('stack'), value('host'), configIsHosts ? stackConfig : undefined].filter(
    (x) => x !== undefined,
  ).length;
  if (chosen === 0) {
    for (const n of ['host-key', 'ssh-key', 'host-name'])
      if (value(n) !== undefined)
        throw new UsageError(`--${n} goes with --stack, --stack-config of a hosts stack, or --host`);
    return undefined;
  }
  if (chosen > 1 || (stackConfig !== undefined && !configIsHosts))
    throw new UsageError('give exactly one of --stack NAME, --stack-config FILE or --host [USER@]ADDRESS[:PORT]');
  if (stateDirGiven)
    throw new UsageError('--state-dir names a local cluster; the hosts target takes --stack, --stack-config or --host');
  if (value('host') === undefined && (value('host-key') !== undefined || value('host-name') !== undefined))
    throw new UsageError('--host-key and --host-name go with --host (a stack names its hosts and their keys)');
  if (value('host') !== undefined && !value('host-key'))
    throw new UsageError('--host needs --host-key FILE: host keys are pinned, never trusted on first use');
  if (value('host') !== undefined && !value('ssh-key'))
    throw new UsageError('--host needs --ssh-key FILE (the private key the host authorises)');
  const host = value('host');
  if (host !== undefined) {
    try {
      parseHostArg(host);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const abs = (v: string | undefined) => (v === undefined ? undefined : path.resolve(v));
  return {
    stack: value('stack'),
    stackConfig: configIsHosts ? abs(stackConfig) : undefined,
    host,
    hostName: value('host-name'),
    hostKey: abs(value('host-key')),
    sshKey: abs(value('ssh-key')),
  };
}

/** A stack config file that names the hosts target (read leniently: anything else is the local path's to judge). */
export function stackConfigIsHosts(json: unknown): boolean {
  if (json === null || typeof json !== 'object') return false;
  const t = (json as Record<string, { value?: unknown } | undefined>)['hcb:target'];
  return t?.value === 'hosts';
}

/**
 * The node files to stat on a host of this role: the blueprint's on control planes; on workers the
 * join files and the kubelet's (its configuration, kubeconfig, flags, PKI, and the client CA file
 * its KubeletConfiguration names, /etc/kubernetes/pki/ca.crt, which kubeadm join writes there too).
 */
export function nodeFilesFor(
  role: HostSpec['role'],
  hostName: string,
  blueprintFiles: NodeFile[],
  joinFiles: (name: string) => NodeFile[],
): NodeFile[] {
  if (role === 'control-plane') return blueprintFiles;
  const kubelet = blueprintFiles.filter(
    (f) =>
      f.role.startsWith('kubelet-') ||
      f.path.startsWith('/var/lib/kubelet/') ||
      f.path === '/etc/kubernetes/pki/ca.crt',
  );
  const join = joinFiles(hostName);
  return [...join, ...kubelet.filter((k) => !join.some((j) => j.path === k.path))];
}

/** Findings for what was not observed: per host, and for each host that could not be reached. */
export function hostsNotObservedFindings(
  missing: ReadonlyArray<{ host: string; message: string }>,
  unreachable: ReadonlyArray<{ host: string; message: string }>,
): Finding[] {
  const base = { control: NOT_OBSERVED_CONTROL, status: 'error' as const, severity: 'high' as const, frameworks: {} };
  return [
    ...unreachable.map((u) => ({
      ...base,
      object: { file: `host:${u.host}` },
      message: `Not observed: host ${u.host} could not be checked (${u.message}); none of its controls were evaluated.`,
      remediation:
        'Make the host reachable over SSH with its pinned host key (sshd running, the address and port of the stack config, HCB_HOSTS_DIAL if a tunnel is used), then run hcb verify again.',
    })),
    ...missing.map((m) => ({
      ...base,
      object: { file: m.host === '-' ? 'live:api' : `host:${m.host}` },
      message: `Not observed${m.host === '-' ? '' : ` on ${m.host}`}: ${m.message}; the controls that read it could not check the running cluster.`,
      remediation:
        'Bring the host up with `pulumi up` on the hosts stack (or start the component that is not running), then run hcb verify again.',
    })),
  ];
}

/** Runs the hosts verify; returns the findings (not-observed ones included), the missing lines to print, and the report's input. */
export async function runHostsVerify(
  a: HostsVerifyArgs,
  blueprint: {
    nodeFiles: NodeFile[];
    namespaceNames: string[];
    exceptions: NonNullable<Parameters<typeof import('../../stacks/hosts/verify').verifyHosts>[0]['exceptions']>;
  },
): Promise<{ findings: Finding[]; notes: string[]; input: string }> {
  // The SSH transport (ssh2) is loaded only here.
  const hv = await import('../../stacks/hosts/verify');
  const { joinNodeFiles } = await import('../../stacks/hosts/join');
  const { parseHostsDial, kubeconfigServer } = await import('../../stacks/hosts/target');
  const dial = parseHostsDial(process.env.HCB_HOSTS_DIAL);
  let hosts: Array<Pick<HostSpec, 'name' | 'address' | 'port' | 'user' | 'role' | 'hostKey'>>;
  let privateKey: string;
  let input: string;
  if (a.host !== undefined) {
    const h = parseHostArg(a.host);
    const keyLine = fs.readFileSync(a.hostKey!, 'utf8').trim().split('\n')[0];
    parseHostKey(keyLine);
    hosts = [
      {
        name: a.hostName ?? h.address,
        address: h.address,
        port: h.port,
        user: h.user,
        role: 'control-plane',
        hostKey: keyLine,
      },
    ];
    privateKey = readPrivateKey(a.sshKey!);
    input = `ssh:${a.host}`;
  } else {
    const get = readerFromPulumiConfigJson(stackConfigJson(a));
    const spec = stackSpec(get);
    if (spec.target !== 'hosts' || !spec.hosts)
      throw new Error(`the stack's hcb:target is ${spec.target}, not hosts; for the local target use --state-dir`);
    hosts = spec.hosts.hosts;
    const key = a.sshKey ? readPrivateKey(a.sshKey) : get('sshPrivateKey');
    if (typeof key !== 'string')
      throw new Error(
        'the stack config does not show hcb:sshPrivateKey (use pulumi config --json --show-secrets, or pass --ssh-key FILE)',
      );
    privateKey = key;
    input = a.stack ? `stack:${a.stack}` : `stack-config:${a.stackConfig}`;
  }
  const sshFor = (name: string) => ({
    privateKey,
    connectTimeoutMs: 30_000,
    ...(dial[name]?.ssh ? { dial: dial[name].ssh } : {}),
  });
  const cp = hosts.find((h) => h.role === 'control-plane');
  const result = await hv.verifyHosts({
    hosts: hosts.map((h) =>
      hv.sshVerifyHost(
        h,
        sshFor(h.name),
        nodeFilesFor(h.role, h.name, blueprint.nodeFiles, (n) => joinNodeFiles(n)),
      ),
    ),
    api: cp
      ? async () => {
          const conf = await hv.readAdminConf(cp, sshFor(cp.name));
          kubeconfigServer(conf);
          return hv.apiAccessFromKubeconfig(conf, dial[cp.name]?.api);
        }
      : undefined,
    namespaces: blueprint.namespaceNames,
    exceptions: blueprint.exceptions,
  });
  const notes = [
    ...result.unreachable.map((u) => `host ${u.host} unreachable: ${u.message}`),
    ...result.missing.map((m) => `${m.host === '-' ? '' : `${m.host}: `}${m.message}`),
  ];
  return {
    findings: [...result.findings, ...hostsNotObservedFindings(result.missing, result.unreachable)],
    notes,
    input,
  };
}
