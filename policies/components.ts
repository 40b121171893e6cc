/**
 * Control-plane component flags from the two places they are written:
 * - a kubeadm ClusterConfiguration (kubeadm.k8s.io/v1beta3: extraArgs is a map; v1beta4: a list
 *   of {name, value}), on top of the flags kubeadm always adds when it renders static pods;
 * - a static pod manifest: a Pod in kube-system whose container command starts with the
 *   component's binary.
 * Both give a ComponentConfig, so one check serves either input.
 */
import { ComponentConfig, ComponentName, FlagOrigin, FlagValue } from './control';
import { Document, ObjectRef } from './model';
import {
  argumentsToCommand,
  containerArgv,
  effectiveFlag,
  normalizeFlagName,
  parseComponentCommandLine,
  parseFeatureGates,
  readExtraArgs,
} from './flags';
import { asArray, asDict, asDicts, asString, Dict, isDict } from './util/values';

export { readExtraArgs };

const KUBEADM_GROUP = 'kubeadm.k8s.io/';

/** Where each component's extraArgs live in a ClusterConfiguration. */
const KUBEADM_SECTIONS: Record<ComponentName, string> = {
  'kube-apiserver': 'apiServer',
  etcd: 'etcd.local',
  'kube-controller-manager': 'controllerManager',
  'kube-scheduler': 'scheduler',
};

/**
 * Flags kubeadm adds to the static pods it renders, unless extraArgs override them (facts from
 * kubeadm's control-plane and local-etcd manifest phases). Only flags that security checks read
 * are listed; paths follow `certificatesDir` (default /etc/kubernetes/pki).
 */
function kubeadmDefaults(component: ComponentName, cfg: Dict): Record<string, string> {
  const pki = asString(cfg.certificatesDir) ?? '/etc/kubernetes/pki';
  const k = '/etc/kubernetes';
  switch (component) {
    case 'kube-apiserver': {
      const external = isDict(asDict(cfg.etcd).external);
      const ext = asDict(asDict(cfg.etcd).external);
      const args: Record<string, string> = {
        'enable-admission-plugins': 'NodeRestriction',
        'client-ca-file': `${pki}/ca.crt`,
        'tls-cert-file': `${pki}/apiserver.crt`,
        'tls-private-key-file': `${pki}/apiserver.key`,
        'kubelet-client-certificate': `${pki}/apiserver-kubelet-client.crt`,
        'kubelet-client-key': `${pki}/apiserver-kubelet-client.key`,
        'service-account-key-file': `${pki}/sa.pub`,
        'service-account-signing-key-file': `${pki}/sa.key`,
        'enable-bootstrap-token-auth': 'true',
        'secure-port': String(asDict(asDict(cfg).localAPIEndpoint).bindPort ?? 6443),
        'allow-privileged': 'true',
        'requestheader-client-ca-file': `${pki}/front-proxy-ca.crt`,
        'proxy-client-cert-file': `${pki}/front-proxy-client.crt`,
        'proxy-client-key-file': `${pki}/front-proxy-client.key`,
      };
      if (external) {
        const endpoints = asArray(ext.endpoints).filter((e): e is string => typeof e === 'string');
        if (endpoints.length > 0) args['etcd-servers'] = endpoints.join(',');
        if (typeof ext.caFile === 'string' && ext.caFile !== '') args['etcd-cafile'] = ext.caFile;
        if (
          typeof ext.certFile === 'string' &&
          ext.certFile !== '' &&
          typeof ext.keyFile === 'string' &&
          ext.keyFile !== ''
        ) {
          args['etcd-certfile'] = ext.certFile;
          args['etcd-keyfile'] = ext.keyFile;
        }
      } else {
        args['etcd-servers'] = 'https://127.0.0.1:2379';
        args['etcd-cafile'] = `${pki}/etcd/ca.crt`;
        args['etcd-certfile'] = `${pki}/apiserver-etcd-client.crt`;
        args['etcd-keyfile'] = `${pki}/apiserver-etcd-client.key`;
      }
      return args;
    }
    case 'kube-controller-manager':
      return {
        'bind-address': '127.0.0.1',
        'leader-elect': 'true',
        kubeconfig: `${k}/controller-manager.conf`,
        'authentication-kubeconfig': `${k}/controller-manager.conf`,
        'authorization-kubeconfig': `${k}/controller-manager.conf`,
        'client-ca-file': `${pki}/ca.crt`,
        'requestheader-client-ca-file': `${pki}/front-proxy-ca.crt`,
        'root-ca-file': `${pki}/ca.crt`,
        'service-account-private-key-file': `${pki}/sa.key`,
        'cluster-signing-cert-file': `${pki}/ca.crt`,
        'cluster-signing-key-file': `${pki}/ca.key`,
        'use-service-account-credentials': 'true',
        controllers: '*,bootstrapsigner,tokencleaner',
      };
    case 'kube-scheduler':
      return {
        'bind-address': '127.0.0.1',
        'leader-elect': 'true',
        kubeconfig: `${k}/scheduler.conf`,
        'authentication-kubeconfig': `${k}/scheduler.conf`,
        'authorization-kubeconfig': `${k}/scheduler.conf`,
      };
    case 'etcd':
      return {
        'data-dir': asString(asDict(asDict(cfg.etcd).local).dataDir) ?? '/var/lib/etcd',
        'cert-file': `${pki}/etcd/server.crt`,
        'key-file': `${pki}/etcd/server.key`,
        'trusted-ca-file': `${pki}/etcd/ca.crt`,
        'client-cert-auth': 'true',
        'peer-cert-file': `${pki}/etcd/peer.crt`,
        'peer-key-file': `${pki}/etcd/peer.key`,
        'peer-trusted-ca-file': `${pki}/etcd/ca.crt`,
        'peer-client-cert-auth': 'true',
        'listen-client-urls': 'https://127.0.0.1:2379',
        'listen-peer-urls': 'https://127.0.0.1:2380',
        'advertise-client-urls': 'https://127.0.0.1:2379',
      };
  }
}

/**
 * Flags from a command line (the words after the binary), as a Kubernetes component's pflag parses
 * them: `--name=value`, `--name value`, and a bare boolean `--name` read as "true" (the flag table
 * says which flags are booleans).
 */
export function parseCommandFlags(
  tokens: readonly string[],
  component: ComponentName = 'kube-apiserver',
): Array<[string, string]> {
  return parseComponentCommandLine(component, tokens).flags;
}

interface ConfigInput {
  component: ComponentName;
  source: 'kubeadm' | 'static-pod';
  entries: Array<[string, string, FlagOrigin]>;
  document: Document;
  ref: ObjectRef;
  where: string;
  problems?: string[];
  unreadable?: string;
}

function makeConfig(input: ConfigInput): ComponentConfig {
  const { component, entries, where } = input;
  // Every occurrence under the name the component sees, in command-line order; then the value
  // the component ends up with (lists appended, maps merged, scalars last-wins: see flags/).
  const occurrences = new Map<string, { values: string[]; origin: FlagOrigin }>();
  for (const [raw, value, origin] of entries) {
    const name = normalizeFlagName(component, raw);
    const o = occurrences.get(name) ?? { values: [], origin };
    o.values.push(value);
    o.origin = origin;
    occurrences.set(name, o);
  }
  const flags = new Map<string, FlagValue>();
  for (const [name, o] of occurrences)
    flags.set(name, { ...effectiveFlag(component, name, o.values), origin: o.origin, count: o.values.length });
  const problems = input.problems ?? [];
  const config: ComponentConfig = {
    component,
    source: input.source,
    flags,
    document: input.document,
    ref: input.ref,
    problems,
    flag: (name) => flags.get(name)?.value,
    effective: (name) => flags.get(name),
    list: (name) => {
      const f = flags.get(name);
      if (!f) return [];
      return f.list ?? f.value.split(',').filter((x) => x !== '');
    },
    describe: (name) => {
      const notes: string[] = [];
      if (name !== undefined) {
        const f = flags.get(name);
        if (f?.origin === 'kubeadm-default') notes.push('flag kubeadm adds by default');
        else if (f?.origin === 'environment')
          notes.push(`from the environment variable ETCD_${name.toUpperCase().replace(/-/g, '_')}`);
        if (f && f.count > 1) notes.push(`--${name} given ${f.count} times`);
      }
      if (problems.length > 0) notes.push(`the component would refuse this command line: ${problems.join('; ')}`);
      return notes.length > 0 ? `${where} (${notes.join('; ')})` : where;
    },
  };
  if (input.unreadable !== undefined) config.unreadable = input.unreadable;
  return config;
}

function refOf(doc: Document): ObjectRef {
  const o = doc.object;
  const meta = o && typeof o.metadata === 'object' && o.metadata !== null ? o.metadata : {};
  const source = doc.source ?? {};
  const ref: ObjectRef = {};
  if (typeof o.apiVersion === 'string') ref.apiVersion = o.apiVersion;
  if (typeof o.kind === 'string') ref.kind = o.kind;
  if (typeof meta.namespace === 'string' && meta.namespace !== '') ref.namespace = meta.namespace;
  if (typeof meta.name === 'string' && meta.name !== '') ref.name = meta.name;
  if (typeof source.file === 'string') ref.file = source.file;
  if (typeof source.line === 'number') ref.line = source.line;
  if (typeof source.constructPath === 'string') ref.constructPath = source.constructPath;
  return ref;
}

export { refOf as documentRef };

const COMPONENT_BINARIES: readonly ComponentName[] = [
  'kube-apiserver',
  'etcd',
  'kube-controller-manager',
  'kube-scheduler',
];

/** The kubeadm ClusterConfiguration's flags for one component: kubeadm's defaults merged with extraArgs as kubeadm does. */
function kubeadmEntries(
  component: ComponentName,
  o: Dict,
  extra: Array<[string, string]>,
): Array<[string, string, FlagOrigin]> {
  const defaults: Array<[string, string, FlagOrigin]> = Object.entries(kubeadmDefaults(component, o)).map(([n, v]) => [
    n,
    v,
    'kubeadm-default',
  ]);
  if (component === 'kube-apiserver') {
    // kubeadm looks up "authorization-mode" and "authorization-config" by literal name
    // (GetArgValue): without a structured config it adds --authorization-mode (Node,RBAC, or the
    // modes the user gave, which then replace that default anyway).
    if (!extra.some(([n]) => n === 'authorization-config'))
      defaults.push(['authorization-mode', 'Node,RBAC', 'kubeadm-default']);
    // A local etcd's advertise-client-urls extraArg becomes the API server's --etcd-servers.
    const local = asDict(asDict(o.etcd).local);
    const adv = [...readExtraArgs(local.extraArgs)].reverse().find(([n]) => n === 'advertise-client-urls');
    if (!isDict(asDict(o.etcd).external) && adv) {
      const i = defaults.findIndex(([n]) => n === 'etcd-servers');
      if (i >= 0) defaults[i] = ['etcd-servers', adv[1], 'kubeadm-default'];
    }
  }
  return argumentsToCommand(
    defaults,
    extra.map(([n, v]) => [n, v, 'extraArgs' as FlagOrigin]),
  );
}

/** ETCD_<NAME> variables of a container with a literal value (valueFrom cannot be read here). */
function etcdEnvironment(c: Dict): { vars: Array<[string, string]>; unknown: string[] } {
  const vars: Array<[string, string]> = [];
  const unknown: string[] = [];
  for (const e of asDicts(c.env)) {
    const name = asString(e.name);
    if (!name || !name.startsWith('ETCD_')) continue;
    if (typeof e.value === 'string') vars.push([name, e.value]);
    else if (e.valueFrom !== undefined) unknown.push(name);
  }
  return { vars, unknown };
}

/** Component configurations in the documents, kubeadm ones first, then static pods, each in input order. */
export function findComponents(docs: readonly Document[]): Record<ComponentName, ComponentConfig[]> {
  const out: Record<ComponentName, ComponentConfig[]> = {
    'kube-apiserver': [],
    etcd: [],
    'kube-controller-manager': [],
    'kube-scheduler': [],
  };
  for (const doc of docs) {
    const o = doc.object;
    if (
      o.kind === 'ClusterConfiguration' &&
      typeof o.apiVersion === 'string' &&
      o.apiVersion.startsWith(KUBEADM_GROUP)
    ) {
      for (const component of Object.keys(KUBEADM_SECTIONS) as ComponentName[]) {
        const sectionPath = KUBEADM_SECTIONS[component];
        if (component === 'etcd' && isDict(asDict(o.etcd).external)) continue; // etcd not run by kubeadm
        let section: unknown = o;
        for (const key of sectionPath.split('.')) section = asDict(section)[key];
        const extra = readExtraArgs(asDict(section).extraArgs);
        const entries = kubeadmEntries(component, o as Dict, extra);
        out[component].push(
          makeConfig({
            component,
            source: 'kubeadm',
            entries,
            document: doc,
            ref: refOf(doc),
            where: `ClusterConfiguration ${sectionPath}.extraArgs`,
          }),
        );
      }
      continue;
    }
    if (o.kind === 'Pod' && (o.apiVersion === 'v1' || o.apiVersion === undefined)) {
      const ns = o.metadata?.namespace;
      if (ns !== undefined && ns !== 'kube-system') continue;
      for (const c of asDicts(asDict(o.spec).containers)) {
        const command = [...asArray(c.command), ...asArray(c.args)].filter((t): t is string => typeof t === 'string');
        if (command.length === 0) continue;
        const name = `${ns ?? 'kube-system'}/${o.metadata?.name ?? '?'}`;
        const where = `static pod ${name} (container ${String(c.name ?? '?')})`;
        const resolved = containerArgv(command);
        if ('unreadable' in resolved) {
          const component = COMPONENT_BINARIES.find((n) => n === resolved.binaryHint);
          if (!component) continue;
          out[component].push(
            makeConfig({
              component,
              source: 'static-pod',
              entries: [],
              document: doc,
              ref: refOf(doc),
              where,
              unreadable: resolved.unreadable,
            }),
          );
          continue;
        }
        const argv = resolved.argv;
        if (argv.length === 0) continue;
        const binary = argv[0].split('/').pop() as string;
        const component = COMPONENT_BINARIES.find((n) => n === binary);
        if (!component) continue;
        const parsed = parseComponentCommandLine(component, argv.slice(1));
        const entries: Array<[string, string, FlagOrigin]> = parsed.flags.map(([n, v]) => [n, v, 'static-pod']);
        const problems = [...parsed.problems];
        if (component === 'etcd') {
          // etcd reads ETCD_<NAME> for every flag not given on the command line.
          const env = etcdEnvironment(c);
          const fromShell = resolved.env.filter(([n]) => n.startsWith('ETCD_'));
          const onCommandLine = new Set(entries.map(([n]) => n));
          for (const [envName, value] of [...env.vars, ...fromShell]) {
            const flag = envName.slice('ETCD_'.length).toLowerCase().replace(/_/g, '-');
            if (!onCommandLine.has(flag) && value !== '') entries.push([flag, value, 'environment']);
          }
          if (env.unknown.length > 0) {
            const reason = `the environment variable(s) ${env.unknown.join(', ')} come from valueFrom, which can set etcd flags not read here`;
            out[component].push(
              makeConfig({
                component,
                source: 'static-pod',
                entries,
                document: doc,
                ref: refOf(doc),
                where,
                problems,
                unreadable: reason,
              }),
            );
            continue;
          }
        }
        const viaShell = resolved.shell ? ' through sh -c' : '';
        out[component].push(
          makeConfig({
            component,
            source: 'static-pod',
            entries,
            document: doc,
            ref: refOf(doc),
            where: `${where}${viaShell}`,
            problems,
          }),
        );
      }
    }
  }
  return out;
}

/** Splits a comma-separated flag value into trimmed, non-empty items. */
export function flagList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Parses an effective `--feature-gates` value into a map: true/false as strconv.ParseBool reads the
 * value, undefined where the component would refuse it (see flags/effective.ts parseFeatureGates).
 */
export function featureGates(value: string | undefined): Map<string, boolean | undefined> {
  const out = new Map<string, boolean | undefined>();
  for (const [k, v] of parseFeatureGates(value)) out.set(k, v === 'invalid' ? undefined : v);
  return out;
}
