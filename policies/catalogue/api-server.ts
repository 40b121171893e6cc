/** kube-apiserver: authentication, authorization, serving, TLS and request handling. */
import { CheckContext, CheckResult, ComponentConfig, ControlRecord } from '../control';
import type { FlagValue } from '../control';
import { admissionPlugins, isInvalidFlagValue, parseFeatureGates, parseRuntimeConfig } from '../flags';
import {
  boolFlag,
  componentCheck,
  fail,
  forbiddenFlag,
  notEvaluated,
  pass,
  requiredFlags,
  result,
  Verdict,
} from '../checks/helpers';
import { cipherSuitesVerdict, isApprovedCipherSuite, tlsMinVersionVerdict } from '../checks/tls';
import { Document } from '../model';
import { formatSeconds } from '../util/go-values';
import { asBool, asDict, asDicts, asString, isDict } from '../util/values';
import { kubeletPrecheck, kubelets, unevaluableKubelets } from './kubelet';

const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);

/** What an AuthenticationConfiguration says about anonymous requests; undefined when it says nothing. */
export function anonymousFromAuthenticationConfig(doc: Document): Verdict | undefined {
  const anon = (doc.object as Record<string, unknown>).anonymous;
  if (anon === undefined || anon === null) return undefined;
  if (!isDict(anon)) return fail('anonymous in the AuthenticationConfiguration is not a mapping.');
  const enabled = asBool(anon.enabled);
  if (enabled === false) return pass('AuthenticationConfiguration sets anonymous.enabled: false.');
  if (enabled !== true) return fail('AuthenticationConfiguration anonymous.enabled is neither true nor false.');
  const conditions = asDicts(anon.conditions);
  if (conditions.length === 0) {
    return fail('AuthenticationConfiguration enables anonymous requests on every path (no conditions).');
  }
  const paths = conditions.map((c) => asString(c.path) ?? '');
  const other = paths.filter((p) => !HEALTH_PATHS.has(p));
  if (other.length > 0) {
    return fail(
      `AuthenticationConfiguration allows anonymous requests on ${other.map((p) => JSON.stringify(p)).join(', ')}; only /healthz, /livez and /readyz are acceptable.`,
    );
  }
  return pass(`AuthenticationConfiguration limits anonymous requests to ${paths.join(', ')}.`);
}

function anonymousCheck(ctx: CheckContext): CheckResult[] {
  const apis = ctx.components('kube-apiserver');
  const authn = ctx.byKind('AuthenticationConfiguration', 'apiserver.config.k8s.io');
  if (apis.length === 0) {
    if (authn.length === 0) {
      return [
        notEvaluated(
          'no kube-apiserver configuration (kubeadm ClusterConfiguration or static pod) and no AuthenticationConfiguration in the input.',
        ),
      ];
    }
    return authn.map((d) => {
      const v = anonymousFromAuthenticationConfig(d);
      if (!v) {
        return result(
          'not-evaluated',
          'Not evaluated: the AuthenticationConfiguration has no anonymous section, so --anonymous-auth decides, and no kube-apiserver configuration is in the input.',
          ctx.ref(d),
        );
      }
      return result(v.status, v.message, ctx.ref(d));
    });
  }
  return apis.map((api) => {
    const where = ` [${api.describe()}]`;
    if (api.unreadable !== undefined)
      return result('not-evaluated', `Not evaluated: ${api.unreadable}.${where}`, api.ref);
    const flag = api.effective('anonymous-auth');
    if (flag !== undefined) {
      if (flag.invalid !== undefined)
        return result('fail', `${flag.invalid}: the API server would not start.${where}`, api.ref);
      if (flag.bool === false) return result('pass', `--anonymous-auth=${flag.value} (false).${where}`, api.ref);
      return result(
        'fail',
        `--anonymous-auth=${flag.value}: anonymous requests reach the API server.${where}`,
        api.ref,
      );
    }
    const cfgPath = api.flag('authentication-config');
    if (cfgPath !== undefined && cfgPath !== '') {
      if (authn.length === 0) {
        return result(
          'not-evaluated',
          `Not evaluated: --authentication-config=${cfgPath} is set but no AuthenticationConfiguration is in the input.${where}`,
          api.ref,
        );
      }
      const verdicts = authn.map((d) => anonymousFromAuthenticationConfig(d));
      if (verdicts.some((v) => v === undefined)) {
        return result(
          'fail',
          `--anonymous-auth is not set (default true) and the AuthenticationConfiguration has no anonymous section.${where}`,
          api.ref,
        );
      }
      const bad = verdicts.find((v) => v!.status !== 'pass');
      if (bad) return result('fail', `${bad.message}${where}`, api.ref);
      return result('pass', `${verdicts.map((v) => v!.message).join(' ')}${where}`, api.ref);
    }
    return result(
      'fail',
      `--anonymous-auth is not set and defaults to true; no AuthenticationConfiguration limits anonymous requests.${where}`,
      api.ref,
    );
  });
}

const AUTHZ_TYPES = new Set(['Node', 'RBAC', 'Webhook', 'ABAC', 'AlwaysAllow', 'AlwaysDeny']);

export function authorizerVerdict(modes: readonly string[], where: string): Verdict {
  const unknown = modes.filter((m) => !AUTHZ_TYPES.has(m));
  if (unknown.length > 0)
    return fail(
      `${where} names unknown authorizer(s) ${unknown.map((m) => JSON.stringify(m)).join(', ')} (the API server would not start).`,
    );
  if (modes.includes('AlwaysAllow'))
    return fail(`${where} includes AlwaysAllow: every authenticated request is allowed.`);
  const missing = ['Node', 'RBAC'].filter((m) => !modes.includes(m));
  if (missing.length > 0) return fail(`${where} is ${modes.join(',') || '(empty)'}: ${missing.join(' and ')} missing.`);
  return pass(`${where} is ${modes.join(',')}.`);
}

function authorizationCheck(ctx: CheckContext): CheckResult[] {
  const apis = ctx.components('kube-apiserver');
  if (apis.length === 0)
    return [notEvaluated('no kube-apiserver configuration (kubeadm ClusterConfiguration or static pod) in the input.')];
  const structured = ctx.byKind('AuthorizationConfiguration', 'apiserver.config.k8s.io');
  return apis.map((api: ComponentConfig) => {
    const where = ` [${api.describe()}]`;
    if (api.unreadable !== undefined)
      return result('not-evaluated', `Not evaluated: ${api.unreadable}.${where}`, api.ref);
    const mode = api.flag('authorization-mode');
    const cfg = api.flag('authorization-config');
    if (mode !== undefined && cfg !== undefined) {
      return result(
        'fail',
        `Both --authorization-mode and --authorization-config are set; the API server refuses to start.${where}`,
        api.ref,
      );
    }
    if (cfg !== undefined) {
      if (structured.length === 0) {
        return result(
          'not-evaluated',
          `Not evaluated: --authorization-config=${cfg} is set but no AuthorizationConfiguration is in the input.${where}`,
          api.ref,
        );
      }
      const verdicts = structured.map((d) =>
        authorizerVerdict(
          asDicts((d.object as Record<string, unknown>).authorizers).map((a) => asString(a.type) ?? '?'),
          'AuthorizationConfiguration authorizers',
        ),
      );
      const bad = verdicts.find((v) => v.status !== 'pass');
      return result(bad ? 'fail' : 'pass', `${(bad ?? verdicts[0]).message}${where}`, api.ref);
    }
    if (mode === undefined) {
      return result('fail', `--authorization-mode is not set and defaults to AlwaysAllow.${where}`, api.ref);
    }
    const f = api.effective('authorization-mode') as FlagValue;
    if (f.invalid !== undefined)
      return result('fail', `${f.invalid}: the API server would not start.${where}`, api.ref);
    // Repeated --authorization-mode flags append (pflag StringSlice); an empty list means AlwaysAllow.
    const modes = api.list('authorization-mode');
    if (modes.length === 0)
      return result(
        'fail',
        `--authorization-mode is empty, which the API server completes to AlwaysAllow.${where}`,
        api.ref,
      );
    const label =
      f.count > 1
        ? `--authorization-mode (given ${f.count} times, appended to ${modes.join(',')})`
        : '--authorization-mode';
    const v = authorizerVerdict(modes, label);
    if (v.status === 'pass' && new Set(modes).size !== modes.length) {
      return result(
        'fail',
        `--authorization-mode names a mode more than once (${modes.join(',')}): the API server would not start.${where}`,
        api.ref,
      );
    }
    return result(v.status, `${v.message}${where}`, api.ref);
  });
}

/**
 * V-242418: the STIG's check text names four suites that --tls-cipher-suites must contain (a list
 * without them is a finding). The catalogue also refuses any suite outside that list, so a weak
 * suite cannot ride along with the four. Repeated flags append (pflag StringSlice).
 */
export function stigCipherSuitesVerdict(f: FlagValue | undefined): Verdict {
  if (f !== undefined && f.invalid !== undefined) return fail(`${f.invalid}: the API server would not start.`);
  const suites = f?.list ?? [];
  const verdict = cipherSuitesVerdict(f === undefined ? undefined : suites, '--tls-cipher-suites');
  if (f === undefined || suites.length === 0) return verdict;
  const missing = [...STIG_CIPHER_SUITES].filter((x) => !suites.includes(x));
  const outside = suites.filter((x) => !STIG_CIPHER_SUITES.has(x));
  const problems: string[] = [];
  const weak = suites.filter((x) => !isApprovedCipherSuite(x));
  if (weak.length > 0) problems.push(`includes suites without forward secrecy or an AEAD cipher: ${weak.join(', ')}`);
  const strongOutside = outside.filter((x) => !weak.includes(x));
  if (strongOutside.length > 0) problems.push(`includes suites outside the STIG's list: ${strongOutside.join(', ')}`);
  if (missing.length > 0) problems.push(`lacks ${missing.join(', ')}, which the STIG requires`);
  const given = f.count > 1 ? ` (given ${f.count} times; the lists are appended)` : '';
  if (problems.length > 0) return fail(`--tls-cipher-suites${given} ${problems.join('; ')}.`);
  return pass(`--tls-cipher-suites${given} lists exactly the STIG's suites (${suites.join(', ')}).`);
}

/** The cipher suites DISA's V-242418 check text names for the API server. */
export const STIG_CIPHER_SUITES: ReadonlySet<string> = new Set([
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
]);

function alphaApis(c: ComponentConfig): Verdict {
  const problems: string[] = [];
  for (const p of alphaGateProblems(c.effective('feature-gates'), '--feature-gates')) problems.push(p);
  const rc = c.effective('runtime-config');
  for (const [key, on] of parseRuntimeConfig(rc?.value)) {
    if (on === 'invalid')
      problems.push(`--runtime-config has an invalid value for ${key} (the API server would not start)`);
    else if (on && (key === 'api/alpha' || key === 'api/all' || /\/v\d+alpha\d+$/.test(key)))
      problems.push(`--runtime-config enables ${key}`);
  }
  if (problems.length > 0) return fail(`${problems.join('; ')}.`);
  return pass(
    'No alpha API group is enabled through --runtime-config and AllAlpha is not set (alpha APIs are off by default).',
  );
}

/**
 * Problems with alpha gates in an effective --feature-gates value: AllAlpha on (any spelling
 * strconv.ParseBool reads as true), or a value the component refuses.
 */
export function alphaGateProblems(f: FlagValue | string | undefined, setting: string): string[] {
  const out: string[] = [];
  if (f === undefined) return out;
  const value = typeof f === 'string' ? f : f.value;
  if (typeof f !== 'string' && f.invalid !== undefined) out.push(`${f.invalid} (the component would not start)`);
  for (const [k, v] of parseFeatureGates(value)) {
    if (v === 'invalid') {
      if (typeof f === 'string') out.push(`${setting} has an invalid value for ${k} (the component would not start)`);
    } else if (k === 'AllAlpha' && v) out.push(`${setting} enables AllAlpha`);
  }
  return out;
}

/**
 * AllAlpha in every component that takes feature gates (the API server also through
 * --runtime-config): kube-controller-manager, kube-scheduler and each kubelet (file + flags).
 */
function alphaEverywhere(ctx: CheckContext): CheckResult[] {
  const out: CheckResult[] = [];
  for (const c of ctx.components('kube-apiserver')) {
    if (c.unreadable !== undefined) {
      out.push(result('not-evaluated', `Not evaluated: ${c.unreadable}. [${c.describe()}]`, c.ref));
      continue;
    }
    const v = alphaApis(c);
    out.push(result(v.status, `${v.message} [${c.describe()}]`, c.ref));
  }
  for (const name of ['kube-controller-manager', 'kube-scheduler'] as const) {
    for (const c of ctx.components(name)) {
      if (c.unreadable !== undefined) {
        out.push(result('not-evaluated', `Not evaluated: ${c.unreadable}. [${c.describe()}]`, c.ref));
        continue;
      }
      const p = alphaGateProblems(c.effective('feature-gates'), '--feature-gates');
      out.push(
        result(
          p.length > 0 ? 'fail' : 'pass',
          `${p.length > 0 ? `${p.join('; ')}.` : `${name} does not enable AllAlpha.`} [${c.describe()}]`,
          c.ref,
        ),
      );
    }
  }
  out.push(...unevaluableKubelets(ctx));
  for (const k of kubelets(ctx)) {
    const early = kubeletPrecheck(ctx, k, ['featureGates.AllAlpha']);
    if (early) {
      out.push(early);
      continue;
    }
    const v = asDict(k.config.featureGates).AllAlpha;
    const from = k.overrides.has('featureGates.AllAlpha')
      ? ` (set by --feature-gates ${k.overrides.get('featureGates.AllAlpha')!.raw} in kubeletExtraArgs)`
      : '';
    if (isInvalidFlagValue(v))
      out.push(
        result(
          'fail',
          `kubelet --feature-gates AllAlpha=${v.raw} is not a value the kubelet accepts (it would not start).`,
          ctx.ref(k.document),
        ),
      );
    else if (v !== undefined && typeof v !== 'boolean')
      out.push(
        result(
          'fail',
          `The kubelet's featureGates.AllAlpha is ${JSON.stringify(v)}, not a boolean: the kubelet would not load the file.`,
          ctx.ref(k.document),
        ),
      );
    else if (v === true)
      out.push(result('fail', `The kubelet's featureGates enable AllAlpha${from}.`, ctx.ref(k.document)));
    else out.push(result('pass', 'The kubelet does not enable AllAlpha.', ctx.ref(k.document)));
  }
  return out.length > 0
    ? out
    : [notEvaluated('no kube-apiserver, controller manager, scheduler or kubelet configuration in the input.')];
}

function requestTimeout(c: ComponentConfig): Verdict {
  const f = c.effective('request-timeout');
  if (f === undefined)
    return fail(
      '--request-timeout is not set; set an explicit, non-zero timeout (e.g. 60s) so that stalled requests are cut off.',
    );
  if (f.invalid !== undefined || f.seconds === undefined)
    return fail(`${f.invalid ?? `--request-timeout=${f.value} is not a duration`}: the API server would not start.`);
  if (f.seconds < 0) return fail(`--request-timeout=${f.value} is negative: the API server would not start.`);
  if (f.seconds === 0) return fail(`--request-timeout=${f.value} disables the timeout.`);
  return pass(`--request-timeout=${f.value} (${formatSeconds(f.seconds)}).`);
}

function etcdServersTls(c: ComponentConfig): Verdict {
  const missing = ['etcd-cafile', 'etcd-certfile', 'etcd-keyfile'].filter((f) => (c.flag(f) ?? '') === '');
  const plain = c.list('etcd-servers').filter((u) => !u.startsWith('https://'));
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`${missing.map((f) => `--${f}`).join(', ')} not set`);
  if (plain.length > 0) problems.push(`--etcd-servers has non-TLS endpoint(s) ${plain.join(', ')}`);
  if ((c.flag('etcd-servers') ?? '') === '') problems.push('--etcd-servers not set');
  if (problems.length > 0)
    return fail(`${problems.join('; ')}: the API server must reach etcd over TLS with its own client certificate.`);
  return pass(
    `etcd is reached over TLS (--etcd-cafile=${c.flag('etcd-cafile')}, --etcd-certfile=${c.flag('etcd-certfile')}).`,
  );
}

/** An admission plugin that must be on (`want` true) or off, as the API server computes its plugin list. */
function pluginVerdict(c: ComponentConfig, plugin: string, want: boolean): Verdict {
  const p = admissionPlugins(c);
  if (p.problems.length > 0) return fail(`${p.problems.join('; ')}: the API server would not start.`);
  const on = p.enabled(plugin);
  const why = p.why(plugin);
  if (on === want) return pass(`${plugin} is ${on ? 'enabled' : 'not enabled'}: ${why}.`);
  return fail(`${plugin} is ${on ? 'enabled' : 'not enabled'}: ${why}.`);
}

const api = 'kube-apiserver' as const;

export const API_SERVER_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-APISERVER-ANONYMOUS-AUTH',
    title: 'API server rejects anonymous requests',
    rationale:
      'Requests without credentials must not reach the API beyond health endpoints: anonymous access gives an attacker on the network a foothold for discovery and, with a careless binding, for changes.',
    severity: 'high',
    frameworks: {
      stig: ['V-242390'],
      cis: ['1.2.1'],
      bsi: ['APP.4.4.A3'],
      ccn: ['CCN-CL-09'],
      scs: ['SCS-BASE-API-AUTHN'],
    },
    probes: ['anonymous-request'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.anonymousAuth',
      text: "'disabled' (renders --anonymous-auth=false), or 'health-endpoints' (the default: an AuthenticationConfiguration that admits anonymous requests only to apiServer.anonymousPaths, /livez, /readyz and /healthz).",
    },
    check: anonymousCheck,
  },
  {
    id: 'HCB-APISERVER-STATIC-TOKEN-FILE',
    title: 'API server accepts no static token file',
    rationale:
      'Static bearer tokens live in a plain file, never expire and cannot be revoked without a restart; users must authenticate with certificates or an identity provider instead.',
    severity: 'high',
    frameworks: { stig: ['V-245543'], cis: ['1.2.2'], bsi: ['APP.4.4.A3'], scs: ['SCS-BASE-API-AUTHN'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: { construct: 'HardenedControlPlane', prop: 'apiServer.extraArgs', text: "remove 'token-auth-file'." },
    check: forbiddenFlag(api, 'token-auth-file', 'static tokens are long-lived secrets in a file'),
  },
  {
    id: 'HCB-APISERVER-BASIC-AUTH-FILE',
    title: 'API server accepts no basic-auth password file',
    rationale:
      'Passwords in a file sent on every request are the weakest way to authenticate; the flag is gone from current releases and must not come back through old configuration.',
    severity: 'high',
    frameworks: { stig: ['V-245542'], bsi: ['APP.4.4.A3'], scs: ['SCS-BASE-API-AUTHN'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: { construct: 'HardenedControlPlane', prop: 'apiServer.extraArgs', text: "remove 'basic-auth-file'." },
    check: forbiddenFlag(api, 'basic-auth-file', 'basic authentication sends reusable passwords'),
  },
  {
    id: 'HCB-APISERVER-AUTHORIZATION-MODE',
    title: 'API server authorizes with Node and RBAC, never AlwaysAllow',
    rationale:
      'Every request must be authorized: RBAC gives least privilege to users and workloads, the Node authorizer confines kubelets to their own node, and AlwaysAllow would switch authorization off.',
    severity: 'critical',
    frameworks: {
      stig: ['V-242382'],
      cis: ['1.2.6', '1.2.7', '1.2.8'],
      bsi: ['APP.4.4.A3'],
      ccn: ['CCN-CL-11'],
      scs: ['SCS-BASE-API-RBAC'],
    },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.extraArgs',
      text: "remove any 'authorization-mode' or 'authorization-config' that drops Node or RBAC or adds AlwaysAllow (the construct renders --authorization-mode=Node,RBAC).",
    },
    check: authorizationCheck,
  },
  {
    id: 'HCB-APISERVER-ALPHA-APIS',
    title: 'No alpha APIs or alpha features: API server, controller manager, scheduler and kubelets',
    rationale:
      'Alpha APIs and features are unfinished, change without notice and have had more security defects; a hardened cluster keeps them off in every component that reads feature gates.',
    severity: 'medium',
    frameworks: { stig: ['V-242400'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: ['apiServer.extraArgs', 'controllerManager.extraArgs', 'scheduler.extraArgs', 'kubelet.featureGates'],
      text: "remove alpha groups from 'runtime-config' and AllAlpha from every 'feature-gates'.",
    },
    check: alphaEverywhere,
  },
  {
    id: 'HCB-APISERVER-INSECURE-PORT',
    title: 'API server has no insecure (plain HTTP) port',
    rationale: 'An unauthenticated, unencrypted port bypasses every authentication and authorization step.',
    severity: 'critical',
    frameworks: { stig: ['V-242386'], scs: ['SCS-BASE-TLS'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.extraArgs',
      text: "remove 'insecure-port' (or set it to 0).",
    },
    check: componentCheck(api, (c) => {
      const v = c.flag('insecure-port');
      if (v === undefined) return pass('--insecure-port is not set (the flag no longer exists in current releases).');
      return v.trim() === '0'
        ? pass('--insecure-port=0.')
        : fail(`--insecure-port=${v} opens a plain HTTP port without authentication.`);
    }),
  },
  {
    id: 'HCB-APISERVER-INSECURE-BIND-ADDRESS',
    title: 'API server sets no insecure bind address',
    rationale: 'An insecure bind address exposes the plain HTTP endpoint beyond the host.',
    severity: 'high',
    frameworks: { stig: ['V-242388'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.extraArgs',
      text: "remove 'insecure-bind-address'.",
    },
    check: forbiddenFlag(api, 'insecure-bind-address', 'it binds the unauthenticated HTTP endpoint'),
  },
  {
    id: 'HCB-APISERVER-SECURE-PORT',
    title: 'API server serves on a TLS port',
    rationale: 'Setting the secure port to 0 turns HTTPS off; the API must only be served over TLS.',
    severity: 'high',
    frameworks: { stig: ['V-242389'], scs: ['SCS-BASE-TLS'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServerPort',
      text: 'renders --secure-port; must not be 0.',
    },
    check: componentCheck(api, (c) => {
      const f = c.effective('secure-port');
      if (f === undefined) return pass('--secure-port is not set; the built-in default 6443 applies.');
      const n = f.int;
      if (n === undefined || n < 0 || n > 65535)
        return fail(`--secure-port=${f.value} is not a port number (the API server would not start).`);
      return n === 0
        ? fail(
            f.value === '0'
              ? '--secure-port=0 disables the TLS endpoint.'
              : `--secure-port=${f.value} is 0, which disables the TLS endpoint.`,
          )
        : pass(`--secure-port=${f.value} (${n}).`);
    }),
  },
  {
    id: 'HCB-APISERVER-TLS-MIN-VERSION',
    title: 'API server requires TLS 1.2 or newer',
    rationale:
      'Older TLS versions have known weaknesses; the minimum must be stated so that it does not depend on how the binary was built.',
    severity: 'medium',
    frameworks: { stig: ['V-242378'], ccn: ['CCN-CL-04'], scs: ['SCS-BASE-TLS'] },
    probes: ['tls-1.1-handshake'],
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'tls',
      text: 'TlsPolicy renders --tls-min-version for the API server.',
    },
    check: componentCheck(api, (c) => tlsMinVersionVerdict(c.flag('tls-min-version'), '--tls-min-version')),
  },
  {
    id: 'HCB-APISERVER-TLS-CIPHER-SUITES',
    title: 'API server offers approved cipher suites only',
    rationale:
      'Only suites with forward secrecy and authenticated encryption keep recorded traffic safe; an explicit list keeps weak suites out.',
    severity: 'medium',
    frameworks: { stig: ['V-242418'], ccn: ['CCN-CL-04'], scs: ['SCS-BASE-TLS'] },
    probes: ['weak-cipher-handshake'],
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'tls',
      text: 'TlsPolicy.cipherSuites renders --tls-cipher-suites.',
    },
    check: componentCheck(api, (c) => stigCipherSuitesVerdict(c.effective('tls-cipher-suites'))),
  },
  {
    id: 'HCB-APISERVER-SERVING-CERT',
    title: 'API server serves with its own certificate and key',
    rationale:
      'Without an explicit serving certificate the API server generates a self-signed one that clients cannot verify against the cluster CA.',
    severity: 'high',
    frameworks: { stig: ['V-242422'], ccn: ['CCN-CL-03'], scs: ['SCS-BASE-TLS', 'SCS-BASE-CA'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.extraArgs',
      text: "'tls-cert-file'/'tls-private-key-file' (kubeadm sets both from certificatesDir).",
    },
    check: requiredFlags(
      api,
      ['tls-cert-file', 'tls-private-key-file'],
      'the API server needs a certificate issued by the cluster CA',
    ),
  },
  {
    id: 'HCB-APISERVER-CLIENT-CA',
    title: 'API server verifies client certificates against the cluster CA',
    rationale:
      'The client CA is what makes certificate authentication of users, kubelets and components possible and bounded to one issuer.',
    severity: 'high',
    frameworks: { stig: ['V-242419'], scs: ['SCS-BASE-CA', 'SCS-BASE-API-AUTHN'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.extraArgs',
      text: "'client-ca-file' (kubeadm sets it to <certificatesDir>/ca.crt).",
    },
    check: requiredFlags(api, ['client-ca-file'], 'client certificates cannot be verified'),
  },
  {
    id: 'HCB-APISERVER-ETCD-TLS',
    title: 'API server talks to etcd over mutual TLS',
    rationale:
      'etcd holds every object including Secrets; the API server must verify etcd and present its own client certificate on every connection.',
    severity: 'high',
    frameworks: { stig: ['V-242429', 'V-242430', 'V-242431'], ccn: ['CCN-CL-03'], scs: ['SCS-BASE-TLS'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'etcd',
      text: 'local: kubeadm renders --etcd-cafile/--etcd-certfile/--etcd-keyfile; external: etcd.external caFile, certFile, keyFile and https endpoints.',
    },
    check: componentCheck(api, etcdServersTls),
  },
  {
    id: 'HCB-APISERVER-KUBELET-CLIENT-CERT',
    title: 'API server authenticates to kubelets with a client certificate',
    rationale:
      'The kubelet API runs commands in containers; the API server must prove who it is with a certificate the kubelet trusts.',
    severity: 'high',
    frameworks: { stig: ['V-245544'], cis: ['1.2.4'], ccn: ['CCN-CL-03'], scs: ['SCS-BASE-TLS'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.extraArgs',
      text: "'kubelet-client-certificate'/'kubelet-client-key' (kubeadm sets both).",
    },
    check: requiredFlags(
      api,
      ['kubelet-client-certificate', 'kubelet-client-key'],
      'the API server cannot authenticate to kubelets',
    ),
    probes: ['kubelet-through-apiserver'],
  },
  {
    id: 'HCB-APISERVER-KUBELET-CA',
    title: 'API server verifies kubelet serving certificates',
    rationale:
      'Without a CA for kubelet connections the API server cannot tell a real kubelet from an impostor on the node network.',
    severity: 'medium',
    frameworks: { cis: ['1.2.5'], ccn: ['CCN-CL-03'], scs: ['SCS-BASE-TLS', 'SCS-BASE-CA'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.extraArgs',
      text: "'kubelet-certificate-authority' (needs kubelets with serverTLSBootstrap so their serving certificates come from the cluster CA).",
    },
    check: requiredFlags(api, ['kubelet-certificate-authority'], 'kubelet serving certificates are not verified'),
    probes: ['kubelet-impostor'],
  },
  {
    id: 'HCB-APISERVER-REQUEST-TIMEOUT',
    title: 'API server limits how long a request may take',
    rationale: 'An explicit request timeout stops slow or stalled clients from holding connections and resources open.',
    severity: 'low',
    frameworks: { stig: ['V-242438'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.extraArgs',
      text: "'request-timeout' (e.g. 60s).",
    },
    check: componentCheck(api, requestTimeout),
  },
  {
    id: 'HCB-APISERVER-NO-ALWAYS-ADMIT',
    title: 'API server does not enable the AlwaysAdmit admission plugin',
    rationale:
      'AlwaysAdmit accepts every request without admission control; it is deprecated and defeats every other admission rule.',
    severity: 'high',
    frameworks: { cis: ['1.2.10'], bsi: ['APP.4.4.A13'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.extraArgs',
      text: "'enable-admission-plugins': remove AlwaysAdmit.",
    },
    check: componentCheck(api, (c) => pluginVerdict(c, 'AlwaysAdmit', false)),
  },
  {
    id: 'HCB-APISERVER-NODE-RESTRICTION',
    title: 'API server limits kubelets to their own node (NodeRestriction)',
    rationale:
      'Without NodeRestriction a compromised kubelet can change other nodes and the labels that steer sensitive workloads onto it.',
    severity: 'medium',
    frameworks: { bsi: ['APP.4.4.A3', 'APP.4.4.A14'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.extraArgs',
      text: "'enable-admission-plugins' must include NodeRestriction (kubeadm's default).",
    },
    check: componentCheck(api, (c) => pluginVerdict(c, 'NodeRestriction', true)),
  },
  {
    id: 'HCB-APISERVER-VALIDATING-WEBHOOK',
    title: 'API server keeps validating admission webhooks enabled',
    rationale:
      'Policy engines and admission checks rely on the ValidatingAdmissionWebhook plugin; disabling it silently removes them.',
    severity: 'medium',
    frameworks: { stig: ['V-242436'], bsi: ['APP.4.4.A13'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.extraArgs',
      text: "'disable-admission-plugins': do not list ValidatingAdmissionWebhook.",
    },
    check: componentCheck(api, (c) => pluginVerdict(c, 'ValidatingAdmissionWebhook', true)),
  },
  {
    id: 'HCB-APISERVER-PROFILING',
    title: 'API server profiling endpoint is off',
    rationale:
      'The profiling endpoint exposes internals and can be used to load the server; production clusters do not need it.',
    severity: 'low',
    frameworks: { bsi: ['APP.4.4.A3'] },
    probes: ['pprof-endpoint'],
    responsibility: 'provider',
    automation: 'automated',
    remediation: { construct: 'HardenedControlPlane', prop: 'apiServer.extraArgs', text: "'profiling': 'false'." },
    check: boolFlag(api, 'profiling', false, true),
  },
];
