/**
 * Kubelet (kubelet.config.k8s.io/v1beta1 KubeletConfiguration). Checks read the effective
 * configuration of each kubelet (policies/flags/kubelet.ts): the kubelet's own defaults for a
 * configuration FILE (they differ from the command-line defaults: e.g. the read-only port is 0 in a
 * file, 10255 as a flag), kubeadm's defaults when kubeadm consumes the file, the file, and the
 * flags kubeadm's nodeRegistration.kubeletExtraArgs put on the kubelet's command line — or, for a
 * kubelet `hcb verify` observes running, the file its --config names as read from disk and the
 * flags of its own command line.
 */
import { CheckContext, CheckResult, ControlRecord } from '../control';
import { fail, notEvaluated, pass, result, Verdict } from '../checks/helpers';
import { cipherSuitesVerdict, tlsMinVersionVerdict } from '../checks/tls';
import { NODE_ROLE_ANNOTATION, NodeRoleEvidence, nodeRoleOf } from '../checks/node-role';
import { apiVersionMatches } from '../context';
import {
  isInvalidFlagValue,
  KUBELET_PROCESS_KIND,
  KubeletSubject,
  kubeletSubjects,
  KubeletValueSource,
  parseKubeletCommandLine,
  readExtraArgs,
  unevaluableKubeletProcesses,
} from '../flags';
import { Document } from '../model';
import { formatSeconds, parseGoDuration } from '../util/go-values';
import { asBool, asDict, asString, asStrings, Dict, get } from '../util/values';

const WHAT = 'KubeletConfiguration (kubelet.config.k8s.io)';

/** The kubelets of the input: each configuration file with the flags each node registration adds. */
const isKind = (d: Document, kind: string, group: string) =>
  d.object.kind === kind && apiVersionMatches(d.object.apiVersion, group);

export function kubelets(ctx: CheckContext): KubeletSubject[] {
  // The same for every kubelet control of one evaluation (they only read it): made once per context.
  let subjects = subjectsOf.get(ctx);
  if (!subjects) {
    subjects = kubeletSubjects(ctx.documents, isKind);
    subjectsOf.set(ctx, subjects);
  }
  return subjects;
}

const subjectsOf = new WeakMap<CheckContext, KubeletSubject[]>();
const unevaluableOf = new WeakMap<CheckContext, ReturnType<typeof unevaluableKubeletProcesses>>();

/** Where a subject's flags come from, for messages. */
function flagsFromText(sub: KubeletSubject): string {
  if (!sub.flagsFrom) return 'the kubelet command line';
  if (sub.flagsFrom.object.kind === KUBELET_PROCESS_KIND)
    return `the running kubelet's command line (${sub.flagsFrom.source?.file ?? 'observed'})`;
  return `${String(sub.flagsFrom.object.kind)} nodeRegistration.kubeletExtraArgs`;
}

/** Where a field's effective value came from, for messages. */
export function sourceText(source: KubeletValueSource | undefined): string {
  switch (source) {
    case 'default':
      return 'not set; the kubelet default applies';
    case 'command-line-default':
      return "not set; without --config the kubelet's command-line default applies";
    case 'kubeadm-default':
      return 'not set; kubeadm writes its default';
    case 'flag':
      return 'set by a kubelet flag';
    case 'dropin':
      return 'set by a drop-in file of --config-dir';
    default:
      return 'set in the file';
  }
}

/** A check's view of one kubelet: the effective configuration and where each field came from. */
export interface KubeletView {
  config: Dict;
  /** The KubeletConfiguration as written (before defaults and flags). */
  file: Dict;
  source(path: string): KubeletValueSource | undefined;
  /** The drop-in file that last named the field, if one did (its value may since be defaulted). */
  dropin?(path: string): string | undefined;
  /** The role of the kubelet's node, from explicit input only (checks/node-role.ts). */
  role: NodeRoleEvidence;
}

/**
 * A check over the effective configuration of every kubelet (defaults + file + kubeletExtraArgs).
 * `fields` are the configuration paths the check reads: a flag that overrides one of them is named
 * in the message, a flag value the kubelet cannot parse fails the check (the kubelet would not
 * start), drop-ins of --config-dir are merged in as the kubelet merges them (an unreadable one
 * fails: the kubelet would not start), and drop-ins that are not in the input make the result
 * not-evaluated unless flags set every field read.
 */
/** Kubelet command lines in the input that cannot be evaluated at all, as not-evaluated results. */
export function unevaluableKubelets(ctx: CheckContext): CheckResult[] {
  let found = unevaluableOf.get(ctx);
  if (!found) {
    found = unevaluableKubeletProcesses(ctx.documents, isKind);
    unevaluableOf.set(ctx, found);
  }
  return found.map((u) => result('not-evaluated', `Not evaluated: ${u.reason}.`, ctx.ref(u.document)));
}

/**
 * What every kubelet check must say before it reads `fields`: a flag value the kubelet cannot
 * parse or a drop-in that stops it → fail (it would not start); drop-ins of --config-dir that are
 * not in the input → not-evaluated unless flags set every field read. undefined: go on and decide.
 */
export function kubeletPrecheck(
  ctx: CheckContext,
  sub: KubeletSubject,
  fields: readonly string[],
): CheckResult | undefined {
  const invalid = fields.map((f) => get(sub.config, f)).find(isInvalidFlagValue);
  if (invalid) {
    return result(
      'fail',
      `${flagsFromText(sub)} sets --${invalid.invalidFlag}=${invalid.raw}, which the kubelet cannot parse${invalid.reason ? ` (${invalid.reason})` : ''}: it would not start.`,
      ctx.ref(sub.document),
    );
  }
  if (sub.problem?.status === 'fail')
    return result('fail', `${sub.problem.message}: it would not start.`, ctx.ref(sub.document));
  if (sub.problem && fields.some((f) => sub.sources.get(f) !== 'flag')) {
    return result('not-evaluated', `${sub.problem.message} (${fields.join(', ')}).`, ctx.ref(sub.document));
  }
  return undefined;
}

function kubeletCheck(fields: readonly string[], decide: (k: Dict, view: KubeletView) => Verdict) {
  return (ctx: CheckContext): CheckResult[] => {
    const subjects = kubelets(ctx);
    const unevaluable = unevaluableKubelets(ctx);
    if (subjects.length === 0) return unevaluable.length > 0 ? unevaluable : [notEvaluated(`no ${WHAT} in the input.`)];
    return [
      ...unevaluable,
      ...subjects.map((sub) => {
        const from = flagsFromText(sub);
        const early = kubeletPrecheck(ctx, sub, fields);
        if (early) return early;
        const written =
          sub.written ?? (sub.document.object.kind === KUBELET_PROCESS_KIND ? {} : (sub.document.object as Dict));
        const v = decide(sub.config, {
          config: sub.config,
          file: written,
          source: (p) => sub.sources.get(p),
          dropin: (p) => sub.dropinSources?.get(p),
          role: nodeRoleOf(sub.flagsFrom),
        });
        const over = fields
          .filter((f) => sub.overrides.has(f))
          .map((f) => `--${sub.overrides.get(f)!.flag}=${sub.overrides.get(f)!.raw}`);
        const notes: string[] = [];
        if (sub.document.object.kind === KUBELET_PROCESS_KIND)
          notes.push('no --config: the command-line defaults apply');
        const byDropin = fields
          .filter((f) => sub.sources.get(f) === 'dropin' && sub.dropinSources?.has(f))
          .map((f) => `${f} from ${sub.dropinSources!.get(f)}`);
        if (byDropin.length > 0) notes.push(`drop-in: ${byDropin.join(', ')}`);
        else if (sub.dropins !== undefined)
          notes.push(
            sub.dropins.length > 0
              ? `drop-ins applied: ${sub.dropins.join(', ')}`
              : `no .conf drop-in in --config-dir=${sub.dropinDir}`,
          );
        if (sub.skippedDropins && sub.skippedDropins.length > 0)
          notes.push(`ignored by the kubelet (not .conf): ${sub.skippedDropins.join(', ')}`);
        if (over.length > 0) notes.push(`${over.join(', ')} from ${from} overrides the file`);
        else if (sub.flagsFrom) notes.push(`with the flags of ${from}`);
        const note = notes.length > 0 ? ` [${notes.join('; ')}]` : '';
        return result(v.status, `${v.message}${note}`, ctx.ref(sub.document));
      }),
    ];
  };
}

/** A boolean field that must have a given value; the default comes from the kubelet (or kubeadm) defaults table. */
function boolField(path: string, want: boolean) {
  return kubeletCheck([path], (k, view) => {
    const raw = get(k, path);
    const b = asBool(raw);
    const src = view.source(path);
    if (b === undefined) return fail(`${path} is ${JSON.stringify(raw)}, not a boolean.`);
    if (src === 'default' || src === 'kubeadm-default' || src === 'command-line-default') {
      const how =
        src === 'kubeadm-default'
          ? `is not set and kubeadm writes ${b}`
          : src === 'command-line-default'
            ? `is not set and the command-line default is ${b}`
            : `is not set and defaults to ${b}`;
      return b === want ? pass(`${path} ${how}.`) : fail(`${path} ${how}; it must be ${want}.`);
    }
    return b === want ? pass(`${path}: ${b}.`) : fail(`${path}: ${b}; it must be ${want}.`);
  });
}

/** Duration text ("4h0m0s", "5m", "1m30s", "0") → seconds as time.ParseDuration reads it; undefined when unreadable. */
export function durationSeconds(v: unknown): number | undefined {
  if (typeof v === 'number') return v / 1e9; // a bare number is nanoseconds in Go's duration JSON
  if (typeof v !== 'string') return undefined;
  return parseGoDuration(v.trim());
}

/**
 * V-245541: streamingConnectionIdleTimeout must be set explicitly (in the file or by a flag) and be
 * at least 5 minutes. In a file, 0 counts as unset (the kubelet applies its 4h default); a flag of
 * 0 disables the timeout.
 */
export function streamingTimeoutVerdict(k: Dict, view: KubeletView, fileValue: unknown): Verdict {
  const src = view.source('streamingConnectionIdleTimeout');
  const v = k.streamingConnectionIdleTimeout;
  if (src === 'default' || src === 'kubeadm-default') {
    if (fileValue !== undefined && fileValue !== null) {
      const dropin = view.dropin?.('streamingConnectionIdleTimeout');
      return fail(
        `streamingConnectionIdleTimeout: ${JSON.stringify(fileValue)} is read as unset (a zero duration in ${dropin ? `the drop-in ${dropin}` : 'the file'}), so the kubelet runs with its 4h default; the STIG asks for an explicit value of at least 5m.`,
      );
    }
    return fail(
      'streamingConnectionIdleTimeout is not set (the kubelet default is 4h): the STIG asks for an explicit value of at least 5m.',
    );
  }
  const s = durationSeconds(v);
  if (s === undefined)
    return fail(
      `streamingConnectionIdleTimeout: ${JSON.stringify(v)} is not a duration time.ParseDuration accepts (the kubelet would not start).`,
    );
  if (s === 0) return fail('streamingConnectionIdleTimeout is 0: idle streaming connections never time out.');
  if (s < 300)
    return fail(`streamingConnectionIdleTimeout: ${String(v)} (${formatSeconds(s)}) is below the STIG's 5m.`);
  return pass(`streamingConnectionIdleTimeout: ${String(v)} (${formatSeconds(s)}).`);
}

function hostnameOverrideCheck(ctx: CheckContext): CheckResult[] {
  const docs = [
    ...ctx.byKind('InitConfiguration', 'kubeadm.k8s.io'),
    ...ctx.byKind('JoinConfiguration', 'kubeadm.k8s.io'),
  ];
  const processes = ctx.byKind(KUBELET_PROCESS_KIND, 'hcb.dev');
  if (docs.length === 0 && processes.length === 0) {
    return [
      notEvaluated(
        'no kubeadm InitConfiguration or JoinConfiguration in the input (the kubelet command line is set through nodeRegistration.kubeletExtraArgs).',
      ),
    ];
  }
  const observed = processes.map((p) => {
    const command = (p.object as Dict).command;
    const flags = parseKubeletCommandLine(
      Array.isArray(command) ? command.slice(1).filter((w): w is string => typeof w === 'string') : [],
    );
    const o = [...flags].reverse().find(([n]) => n.replace(/_/g, '-') === 'hostname-override');
    return o && o[1] !== ''
      ? result(
          'fail',
          `The running kubelet's command line sets --hostname-override=${o[1]}: the node name no longer matches the host, which breaks node-scoped authorization and TLS names.`,
          ctx.ref(p),
        )
      : result('pass', "The running kubelet's command line does not override the hostname.", ctx.ref(p));
  });
  return [
    ...observed,
    ...docs.map((d) => {
      const args = readExtraArgs(get(d.object, 'nodeRegistration.kubeletExtraArgs'));
      // The kubelet normalizes "_" to "-"; the last occurrence wins; an empty value means no override.
      const o = [...args].reverse().find(([n]) => n.replace(/_/g, '-') === 'hostname-override');
      return o && o[1] !== ''
        ? result(
            'fail',
            `nodeRegistration.kubeletExtraArgs sets hostname-override=${o[1]}: the node name no longer matches the host, which breaks node-scoped authorization and TLS names.`,
            ctx.ref(d),
          )
        : result('pass', 'nodeRegistration.kubeletExtraArgs does not override the hostname.', ctx.ref(d));
    }),
  ];
}

export const KUBELET_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-KUBELET-ANONYMOUS-AUTH',
    title: 'Kubelet rejects anonymous requests',
    rationale:
      'The kubelet API can read logs and run commands in containers; without authentication anyone on the node network could use it.',
    severity: 'critical',
    frameworks: {
      stig: ['V-242391'],
      cis: ['4.2.1'],
      bsi: ['APP.4.4.A3'],
      ccn: ['CCN-CL-09'],
      scs: ['SCS-BASE-KUBELET-AUTHN'],
    },
    probes: ['kubelet-anonymous-request'],
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'KubeletConfiguration',
      text: 'KubeletConfiguration renders authentication.anonymous.enabled: false (not overridable).',
    },
    check: boolField('authentication.anonymous.enabled', false),
  },
  {
    id: 'HCB-KUBELET-WEBHOOK-AUTHN',
    title: 'Kubelet authenticates bearer tokens through the API server',
    rationale:
      'Webhook authentication lets the kubelet accept service account and user tokens checked by the API server, instead of only client certificates or nothing.',
    severity: 'high',
    frameworks: { bsi: ['APP.4.4.A3'], scs: ['SCS-BASE-KUBELET-AUTHN'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'KubeletConfiguration',
      text: 'KubeletConfiguration renders authentication.webhook.enabled: true.',
    },
    check: boolField('authentication.webhook.enabled', true),
  },
  {
    id: 'HCB-KUBELET-AUTHORIZATION-MODE',
    title: 'Kubelet delegates authorization to the API server (Webhook)',
    rationale:
      'With AlwaysAllow every authenticated caller may use every kubelet endpoint; Webhook mode asks the API server with a SubjectAccessReview.',
    severity: 'critical',
    frameworks: { stig: ['V-242392'], cis: ['4.2.2'], bsi: ['APP.4.4.A3'], scs: ['SCS-BASE-KUBELET-AUTHZ'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'KubeletConfiguration',
      text: 'KubeletConfiguration renders authorization.mode: Webhook.',
    },
    check: kubeletCheck(['authorization.mode'], (k, view) => {
      const mode = get(k, 'authorization.mode');
      const src = view.source('authorization.mode');
      const how = src === 'default' || src === 'kubeadm-default' ? `${sourceText(src)} (Webhook)` : `${String(mode)}`;
      return mode === 'Webhook'
        ? pass(`authorization.mode: ${how}.`)
        : fail(
            `authorization.mode: ${String(mode)}; it must be Webhook (AlwaysAllow lets every authenticated caller use the kubelet API).`,
          );
    }),
  },
  {
    id: 'HCB-KUBELET-CLIENT-CA',
    title: 'Kubelet verifies client certificates against the cluster CA',
    rationale:
      'The client CA file is what lets the kubelet authenticate the API server and other clients by certificate.',
    severity: 'high',
    frameworks: { stig: ['V-242420'], cis: ['4.2.3'], scs: ['SCS-BASE-CA', 'SCS-BASE-KUBELET-AUTHN'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'KubeletConfiguration',
      text: 'KubeletConfiguration renders authentication.x509.clientCAFile (default /etc/kubernetes/pki/ca.crt).',
    },
    check: kubeletCheck(['authentication.x509.clientCAFile'], (k) => {
      const v = asString(get(k, 'authentication.x509.clientCAFile')) ?? '';
      return v === ''
        ? fail('authentication.x509.clientCAFile is not set: client certificates cannot be verified.')
        : pass(`authentication.x509.clientCAFile: ${v}.`);
    }),
  },
  {
    id: 'HCB-KUBELET-READ-ONLY-PORT',
    title: 'Kubelet read-only port is closed',
    rationale: 'The read-only port serves pod and node details over plain HTTP with no authentication at all.',
    severity: 'high',
    frameworks: { stig: ['V-242387'], cis: ['4.2.4'], scs: ['SCS-BASE-TLS', 'SCS-BASE-KUBELET-AUTHN'] },
    probes: ['kubelet-read-only-port'],
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'KubeletConfiguration',
      text: 'KubeletConfiguration renders readOnlyPort: 0 explicitly.',
    },
    check: kubeletCheck(['readOnlyPort'], (k, view) => {
      const v = k.readOnlyPort;
      if (view.source('readOnlyPort') === 'default')
        return pass('readOnlyPort is not set; in a v1beta1 configuration file it stays 0 (closed).');
      return v === 0
        ? pass('readOnlyPort: 0.')
        : fail(`readOnlyPort: ${JSON.stringify(v)} serves the kubelet API without authentication; set 0.`);
    }),
  },
  {
    id: 'HCB-KUBELET-STREAMING-TIMEOUT',
    title: 'Kubelet closes idle streaming connections',
    rationale:
      'exec, attach and port-forward sessions that never time out can be left open and hijacked; an idle timeout ends them.',
    severity: 'medium',
    frameworks: { stig: ['V-245541'], cis: ['4.2.5'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'KubeletConfiguration',
      prop: 'streamingConnectionIdleTimeout',
      text: "keep the default '5m' or set a shorter, non-zero duration.",
    },
    check: kubeletCheck(['streamingConnectionIdleTimeout'], (k, view) =>
      streamingTimeoutVerdict(k, view, view.file.streamingConnectionIdleTimeout),
    ),
  },
  {
    id: 'HCB-KUBELET-PROTECT-KERNEL-DEFAULTS',
    title: 'Kubelet refuses to change kernel settings',
    rationale:
      'With protectKernelDefaults the kubelet fails instead of silently changing kernel tunables away from the hardened host configuration.',
    severity: 'medium',
    frameworks: { stig: ['V-242434'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'KubeletConfiguration',
      prop: 'protectKernelDefaults',
      text: 'true (the default); the node sysctls must match what the kubelet expects.',
    },
    check: boolField('protectKernelDefaults', true),
  },
  {
    id: 'HCB-KUBELET-SECCOMP-DEFAULT',
    title: 'Kubelet applies the runtime default seccomp profile to every container',
    rationale:
      'seccomp filters the system calls containers may make; making RuntimeDefault the default covers pods that do not ask for it.',
    severity: 'medium',
    frameworks: { ccn: ['CCN-CL-20'], bsi: ['APP.4.4.A4'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: { construct: 'KubeletConfiguration', prop: 'seccompDefault', text: 'true (the default).' },
    check: boolField('seccompDefault', true),
  },
  {
    id: 'HCB-KUBELET-TLS',
    title: 'Kubelet requires TLS 1.2 or newer with approved suites',
    rationale:
      'The kubelet API carries exec sessions and logs; its TLS floor and suites must be as strict as the API server’s.',
    severity: 'medium',
    frameworks: { ccn: ['CCN-CL-04'], scs: ['SCS-BASE-TLS'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'tls',
      text: "TlsPolicy renders the kubelet's tlsMinVersion and tlsCipherSuites too.",
    },
    check: kubeletCheck(['tlsMinVersion', 'tlsCipherSuites'], (k) => {
      const v = tlsMinVersionVerdict(asString(k.tlsMinVersion), 'tlsMinVersion');
      if (v.status !== 'pass') return v;
      const cs = cipherSuitesVerdict(
        k.tlsCipherSuites === undefined ? undefined : asStrings(k.tlsCipherSuites),
        'tlsCipherSuites',
      );
      return cs.status === 'pass' ? pass(`${v.message} ${cs.message}`) : cs;
    }),
  },
  {
    id: 'HCB-KUBELET-SERVING-CERT',
    title: 'Kubelet serves with a certificate the cluster can verify',
    rationale:
      'Without a configured or bootstrapped serving certificate the kubelet generates a self-signed one that clients cannot verify.',
    severity: 'high',
    frameworks: { stig: ['V-242424', 'V-242425'], ccn: ['CCN-CL-03'], scs: ['SCS-BASE-TLS', 'SCS-BASE-CA'] },
    probes: ['kubelet-serving-certificate'],
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'KubeletConfiguration',
      prop: 'serverTLSBootstrap',
      text: 'true (the default: the serving certificate is requested from the cluster CA), or set tlsCertFile and tlsPrivateKeyFile.',
    },
    check: kubeletCheck(['tlsCertFile', 'tlsPrivateKeyFile', 'serverTLSBootstrap'], (k) => {
      const cert = asString(k.tlsCertFile) ?? '';
      const key = asString(k.tlsPrivateKeyFile) ?? '';
      if (cert !== '' && key !== '') return pass(`tlsCertFile: ${cert}, tlsPrivateKeyFile: ${key}.`);
      if (asBool(k.serverTLSBootstrap) === true)
        return pass('serverTLSBootstrap: true: the serving certificate is issued by the cluster CA through a CSR.');
      if (cert !== '' || key !== '') return fail('Only one of tlsCertFile and tlsPrivateKeyFile is set.');
      return fail(
        'Neither tlsCertFile/tlsPrivateKeyFile nor serverTLSBootstrap is set: the kubelet serves a self-signed certificate.',
      );
    }),
  },
  {
    id: 'HCB-KUBELET-CERT-ROTATION',
    title: 'Kubelet rotates its client and serving certificates',
    rationale: 'Rotation keeps kubelet certificates short-lived, so a stolen certificate stops working soon.',
    severity: 'medium',
    frameworks: { ccn: ['CCN-CL-03'], scs: ['SCS-BASE-CA'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'KubeletConfiguration',
      prop: ['rotateCertificates', 'serverTLSBootstrap'],
      text: 'true (both default to true).',
    },
    check: kubeletCheck(
      ['rotateCertificates', 'serverTLSBootstrap', 'featureGates.RotateKubeletServerCertificate'],
      (k) => {
        const problems: string[] = [];
        if (asBool(k.rotateCertificates) !== true)
          problems.push('rotateCertificates is not true (client certificate is not renewed)');
        const gates = asDict(k.featureGates);
        if (asBool(k.serverTLSBootstrap) !== true)
          problems.push(
            'serverTLSBootstrap is not true (serving certificate is not requested and renewed through the API)',
          );
        if (asBool(gates.RotateKubeletServerCertificate) === false)
          problems.push('featureGates.RotateKubeletServerCertificate is false');
        return problems.length > 0
          ? fail(`${problems.join('; ')}.`)
          : pass('rotateCertificates and serverTLSBootstrap are true.');
      },
    ),
  },
  {
    id: 'HCB-KUBELET-STATIC-POD-PATH',
    title: 'Worker kubelets do not run static pods from a directory',
    rationale:
      'Static pods bypass the API server’s admission control; only control-plane nodes need them. A worker kubelet with a manifest directory runs whatever lands there.',
    severity: 'medium',
    frameworks: { stig: ['V-242397'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: [
      {
        construct: 'HardenedControlPlane',
        prop: 'join.controlPlane',
        text: 'false for workers (KubeadmJoinConfiguration ships the kubeadm patch that renders staticPodPath "" on them).',
      },
      {
        text: 'Control-plane kubelets keep the path (the control does not apply to them): audit a kubelet with its kubeadm InitConfiguration/JoinConfiguration, or annotate its KubeletProcess hcb.dev/node-role, so that its role is known.',
      },
    ],
    check: kubeletCheck(['staticPodPath'], (k, view) => {
      const v = asString(k.staticPodPath) ?? '';
      if (v === '') return pass('staticPodPath is not set: the kubelet runs no static pods from disk.');
      switch (view.role.role) {
        case 'control-plane':
          return {
            status: 'not-applicable',
            message: `staticPodPath: ${v} on a control-plane node: a kubeadm control plane runs as static pods, so the requirement is for workers only (${view.role.because}).`,
          };
        case 'worker':
          return fail(`staticPodPath: ${v} on a worker: static pods bypass admission (${view.role.because}).`);
        default:
          return fail(
            `staticPodPath: ${v}: static pods bypass admission, and the node's role is unknown, so it counts as a worker: ${view.role.because}. Give the kubeadm InitConfiguration/JoinConfiguration with it, or annotate the KubeletProcess ${NODE_ROLE_ANNOTATION}.`,
          );
      }
    }),
  },
  {
    id: 'HCB-KUBELET-FAIL-CGROUP-V1',
    title: 'Kubelet refuses to run on a cgroup v1 host',
    rationale:
      'Kubernetes keeps cgroup v1 only in maintenance: new isolation and resource features are built for cgroup v2, and since v1.35 the kubelet stops on a cgroup v1 host unless failCgroupV1 is set to false. Turning the guard off keeps a node on a hierarchy that is on its way out.',
    severity: 'low',
    // No requirement of the frameworks here asks for cgroup v2 (BSI APP.4.4 asks for namespaces and cgroups, which v1 has too).
    frameworks: {},
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'KubeletConfiguration',
      prop: 'failCgroupV1',
      text: 'leave it unset (the kubelet default true applies) and run nodes on cgroup v2. A host that must stay on cgroup v1 needs a reviewed exception scoped to its kubelet (the local target carries one).',
    },
    check: boolField('failCgroupV1', true),
  },
  {
    id: 'HCB-KUBELET-HOSTNAME-OVERRIDE',
    title: 'Kubelet does not override the node name',
    rationale:
      'An overridden hostname detaches the node identity from the host, weakening node authorization and certificate names.',
    severity: 'low',
    frameworks: { stig: ['V-242404'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      text: "In the kubeadm InitConfiguration or JoinConfiguration, remove 'hostname-override' from nodeRegistration.kubeletExtraArgs (set nodeRegistration.name only if it equals the host name).",
    },
    check: hostnameOverrideCheck,
  },
];
