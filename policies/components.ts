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
import { effectiveFlagValue, normalizeFlagName, parseFeatureGates } from './flags';
import { asArray, asDict, asDicts, asString, Dict, isDict } from './util/values';

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
        if (typeof ext.certFile === 'string' && ext.certFile !== '' && typeof ext.keyFile === 'string' && ext.keyFile !== '') {
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

/** extraArgs in either form: v1beta3 map {name: value} or v1beta4 list [{name, value}]. Later entries win. */
export function readExtraArgs(v: unknown): Array<[string, string]> {
  if (Array.isArray(v)) {
    return asDicts(v)
      .filter((a) => typeof a.name === 'string')
      .map((a) => [a.name as string, a.value === undefined || a.value === null ? '' : String(a.value)]);
  }
  if (isDict(v)) return Object.entries(v).map(([name, value]) => [name, value === null || value === undefined ? '' : String(value)]);
  return [];
}

/**
 * Flags from a command line: `--name=value`, and a bare `--name` read as "true" (how
 * Kubernetes components take boolean flags). The split form `--name value` is read when the
 * next token does not start with a dash.
 */
export function parseCommandFlags(tokens: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!t.startsWith('-')) continue;
    const body = t.replace(/^--?/, '');
    if (body === '') continue;
    const eq = body.indexOf('=');
    if (eq >= 0) {
      out.push([body.slice(0, eq), body.slice(eq + 1)]);
    } else if (i + 1 < tokens.length && !tokens[i + 1].startsWith('-') && !BOOLEAN_FLAGS.has(body)) {
      out.push([body, tokens[i + 1]]);
      i++;
    } else {
      out.push([body, 'true']);
    }
  }
  return out;
}

/** Boolean flags that checks read: a following token is never their value. */
const BOOLEAN_FLAGS = new Set([
  'anonymous-auth',
  'profiling',
  'client-cert-auth',
  'peer-client-cert-auth',
  'auto-tls',
  'peer-auto-tls',
  'use-service-account-credentials',
  'enable-bootstrap-token-auth',
  'allow-privileged',
  'leader-elect',
]);

function makeConfig(
  component: ComponentName,
  source: 'kubeadm' | 'static-pod',
  entries: Array<[string, string, FlagOrigin]>,
  document: Document,
  ref: ObjectRef,
  where: string,
): ComponentConfig {
  // Every occurrence under the name the component sees, in command-line order; then the value
  // the component ends up with (lists appended, maps merged, scalars last-wins: see flags.ts).
  const occurrences = new Map<string, { values: string[]; origin: FlagOrigin }>();
  for (const [raw, value, origin] of entries) {
    const name = normalizeFlagName(component, raw);
    const o = occurrences.get(name) ?? { values: [], origin };
    o.values.push(value);
    o.origin = origin;
    occurrences.set(name, o);
  }
  const flags = new Map<string, FlagValue>();
  for (const [name, o] of occurrences) flags.set(name, { value: effectiveFlagValue(component, name, o.values), origin: o.origin, count: o.values.length });
  return {
    component,
    source,
    flags,
    document,
    ref,
    flag: (name) => flags.get(name)?.value,
    describe: (name) => {
      if (name === undefined) return where;
      const f = flags.get(name);
      if (f?.origin === 'kubeadm-default') return `${where} (flag kubeadm adds by default)`;
      if (f && f.count > 1) return `${where} (--${name} given ${f.count} times)`;
      return where;
    },
  };
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
    if (o.kind === 'ClusterConfiguration' && typeof o.apiVersion === 'string' && o.apiVersion.startsWith(KUBEADM_GROUP)) {
      for (const component of Object.keys(KUBEADM_SECTIONS) as ComponentName[]) {
        const sectionPath = KUBEADM_SECTIONS[component];
        if (component === 'etcd' && isDict(asDict(o.etcd).external)) continue; // etcd not run by kubeadm
        let section: unknown = o;
        for (const key of sectionPath.split('.')) section = asDict(section)[key];
        const extra = readExtraArgs(asDict(section).extraArgs);
        // kubeadm drops a default whose (literal) name an extraArg repeats, then appends every extraArg.
        const overridden = new Set(extra.map(([n]) => n));
        const entries: Array<[string, string, FlagOrigin]> = Object.entries(kubeadmDefaults(component, o as Dict))
          .filter(([n]) => !overridden.has(n))
          .map(([n, v]) => [n, v, 'kubeadm-default']);
        for (const [n, v] of extra) entries.push([n, v, 'extraArgs']);
        // kubeadm sets authorization-mode to Node,RBAC unless the user gives a mode or a structured config.
        if (component === 'kube-apiserver') {
          const names = new Set(extra.map(([n]) => normalizeFlagName(component, n)));
          if (!names.has('authorization-mode') && !names.has('authorization-config')) {
            entries.push(['authorization-mode', 'Node,RBAC', 'kubeadm-default']);
          }
        }
        const ref = refOf(doc);
        out[component].push(makeConfig(component, 'kubeadm', entries, doc, ref, `ClusterConfiguration ${sectionPath}.extraArgs`));
      }
      continue;
    }
    if (o.kind === 'Pod' && (o.apiVersion === 'v1' || o.apiVersion === undefined)) {
      const ns = o.metadata?.namespace;
      if (ns !== undefined && ns !== 'kube-system') continue;
      for (const c of asDicts(asDict(o.spec).containers)) {
        const command = [...asArray(c.command), ...asArray(c.args)].filter((t): t is string => typeof t === 'string');
        if (command.length === 0) continue;
        const binary = command[0].split('/').pop() as string;
        const component = (['kube-apiserver', 'etcd', 'kube-controller-manager', 'kube-scheduler'] as ComponentName[]).find(
          (n) => n === binary,
        );
        if (!component) continue;
        const entries: Array<[string, string, FlagOrigin]> = parseCommandFlags(command.slice(1)).map(([n, v]) => [n, v, 'static-pod']);
        const ref = refOf(doc);
        const name = `${ns ?? 'kube-system'}/${o.metadata?.name ?? component}`;
        out[component].push(makeConfig(component, 'static-pod', entries, doc, ref, `static pod ${name} (container ${String(c.name ?? component)})`));
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
 * value, undefined where the component would refuse it (see flags.ts parseFeatureGates).
 */
export function featureGates(value: string | undefined): Map<string, boolean | undefined> {
  const out = new Map<string, boolean | undefined>();
  for (const [k, v] of parseFeatureGates(value)) out.set(k, v === 'invalid' ? undefined : v);
  return out;
}
