/** Admission control: the Pod Security admission configuration and the flags that load it. */
import { CheckContext, CheckResult, ControlRecord } from '../control';
import { featureGates, flagList } from '../components';
import { componentCheck, fail, notEvaluated, pass, result } from '../checks/helpers';
import { Document } from '../model';
import { asDict, asDicts, asString, asStrings, Dict, isDict } from '../util/values';

/*
 * Pod Security admission configuration as the PodSecurity plugin reads it
 * (k8s.io/pod-security-admission admission/api, load, validation; v0.36):
 * - the first PodSecurity entry of the AdmissionConfiguration counts; its inline configuration
 *   wins over its path; with neither the plugin runs with defaults;
 * - PodSecurityConfiguration v1, v1beta1 and v1alpha1 are read, strictly (an unknown field or
 *   version stops the API server);
 * - an unset or empty level defaults to privileged, an unset version to latest;
 * - exemptions skip every check: usernames match the user who sends the request (a controller's
 *   service account creates the pods of every Deployment, ReplicaSet, Job …), namespaces every
 *   pod in them, runtimeClasses every pod that names the RuntimeClass (anyone can name it).
 */
const PSA_GROUP = 'pod-security.admission.config.k8s.io';
const PSA_VERSIONS = new Set(['v1', 'v1beta1', 'v1alpha1'].map((v) => `${PSA_GROUP}/${v}`));
const LEVELS = new Set(['privileged', 'baseline', 'restricted']);
const DEFAULT_KEYS = new Set(['enforce', 'enforce-version', 'audit', 'audit-version', 'warn', 'warn-version']);
const EXEMPTION_KEYS = new Set(['usernames', 'namespaces', 'runtimeClasses']);
const TOP_KEYS = new Set(['apiVersion', 'kind', 'defaults', 'exemptions']);
/** Namespaces that may be exempt: kube-system holds the cluster's own privileged add-ons and only administrators create pods there. */
export const REVIEWED_EXEMPT_NAMESPACES: ReadonlySet<string> = new Set(['kube-system']);

/** What the plugin ends up with, or why the API server refuses the configuration. */
export interface PodSecurityReading {
  refused: string[];
  enforce: string;
  version: string;
  /** Exemptions that let pods past every check. */
  exemptionProblems: string[];
  /** Exempt namespaces in the reviewed set (reported, not failed). */
  reviewedExemptions: string[];
}

function controllerIdentity(user: string): boolean {
  return user === 'system:kube-controller-manager' || /^system:serviceaccount:kube-system:[^:]+$/.test(user);
}

/** Reads a PodSecurityConfiguration (inline or standalone) the way the plugin does. */
export function readPodSecurityConfiguration(cfg: Dict): PodSecurityReading {
  const refused: string[] = [];
  const apiVersion = asString(cfg.apiVersion);
  if (!apiVersion || !PSA_VERSIONS.has(apiVersion) || cfg.kind !== 'PodSecurityConfiguration') {
    refused.push(
      `apiVersion/kind ${apiVersion ?? '(none)'}/${String(cfg.kind ?? '(none)')} is not a PodSecurityConfiguration of ${PSA_GROUP} v1, v1beta1 or v1alpha1`,
    );
  }
  for (const k of Object.keys(cfg))
    if (!TOP_KEYS.has(k)) refused.push(`unknown field ${JSON.stringify(k)} (strict decoding)`);
  if (cfg.defaults !== undefined && cfg.defaults !== null && !isDict(cfg.defaults))
    refused.push('defaults is not a mapping');
  if (cfg.exemptions !== undefined && cfg.exemptions !== null && !isDict(cfg.exemptions))
    refused.push('exemptions is not a mapping');
  const defaults = asDict(cfg.defaults);
  const exemptions = asDict(cfg.exemptions);
  for (const k of Object.keys(defaults))
    if (!DEFAULT_KEYS.has(k)) refused.push(`unknown field defaults.${k} (strict decoding)`);
  for (const k of Object.keys(exemptions))
    if (!EXEMPTION_KEYS.has(k)) refused.push(`unknown field exemptions.${k} (strict decoding)`);
  const level = (k: string): string => {
    const v = defaults[k];
    if (v === undefined || v === null || v === '') return 'privileged';
    if (typeof v !== 'string' || !LEVELS.has(v)) {
      refused.push(`defaults.${k} ${JSON.stringify(v)} is not privileged, baseline or restricted`);
      return 'privileged';
    }
    return v;
  };
  const version = (k: string): string => {
    const v = defaults[k];
    if (v === undefined || v === null || v === '') return 'latest';
    if (typeof v !== 'string' || !(v === 'latest' || /^v1\.(0|[1-9][0-9]*)$/.test(v))) {
      refused.push(`defaults.${k} ${JSON.stringify(v)} is not "latest" or "v1.N"`);
      return 'latest';
    }
    return v;
  };
  const enforce = level('enforce');
  const v = version('enforce-version');
  for (const k of ['audit', 'warn']) level(k);
  for (const k of ['audit-version', 'warn-version']) version(k);
  const list = (k: string): string[] => {
    const raw = exemptions[k];
    if (raw !== undefined && raw !== null && (!Array.isArray(raw) || raw.some((x) => typeof x !== 'string')))
      refused.push(`exemptions.${k} is not a list of strings`);
    const out = asStrings(raw);
    if (out.some((x) => x === '')) refused.push(`exemptions.${k} has an empty name`);
    return out.filter((x) => x !== '');
  };
  const users = list('usernames');
  const namespaces = list('namespaces');
  const runtimeClasses = list('runtimeClasses');
  const exemptionProblems: string[] = [];
  const controllers = users.filter(controllerIdentity);
  const others = users.filter((u) => !controllerIdentity(u));
  if (controllers.length > 0) {
    exemptionProblems.push(
      `exemptions.usernames names controller identities (${controllers.join(', ')}): every pod a controller creates for a Deployment, ReplicaSet, DaemonSet, StatefulSet or Job, in every namespace, skips Pod Security`,
    );
  }
  if (others.length > 0)
    exemptionProblems.push(
      `exemptions.usernames (${others.join(', ')}) may create any pod, privileged ones included, in every namespace`,
    );
  const extra = namespaces.filter((n) => !REVIEWED_EXEMPT_NAMESPACES.has(n));
  if (extra.length > 0)
    exemptionProblems.push(
      `exemptions.namespaces beyond kube-system (${extra.join(', ')}): every pod there skips Pod Security`,
    );
  if (runtimeClasses.length > 0)
    exemptionProblems.push(
      `exemptions.runtimeClasses (${runtimeClasses.join(', ')}): any user who may create a pod opts out of Pod Security by naming the RuntimeClass`,
    );
  return {
    refused,
    enforce,
    version: v,
    exemptionProblems,
    reviewedExemptions: namespaces.filter((n) => REVIEWED_EXEMPT_NAMESPACES.has(n)),
  };
}

/** The PodSecurity configurations in force: from each AdmissionConfiguration, else standalone files. */
type Source = { doc: Document; where: string; cfg?: Dict; missing?: string; noPlugin?: string };

function podSecuritySources(ctx: CheckContext): Source[] | undefined {
  const admission = ctx.byKind('AdmissionConfiguration', 'apiserver.config.k8s.io');
  const standalone = ctx.byKind('PodSecurityConfiguration', PSA_GROUP);
  if (admission.length > 0) {
    return admission.flatMap((doc): Source[] => {
      const ps = asDicts((doc.object as Dict).plugins).find((p) => p.name === 'PodSecurity');
      if (!ps)
        return [
          {
            doc,
            where: 'AdmissionConfiguration',
            noPlugin: 'has no PodSecurity plugin entry, so the plugin runs with its defaults: enforce privileged',
          },
        ];
      if (ps.configuration !== undefined && ps.configuration !== null) {
        return [
          {
            doc,
            where: 'PodSecurity configuration',
            cfg: isDict(ps.configuration) ? ps.configuration : { invalid: ps.configuration },
          },
        ];
      }
      const path = asString(ps.path);
      if (path) {
        if (standalone.length === 0)
          return [
            {
              doc,
              where: 'PodSecurity configuration',
              missing: `the PodSecurity plugin reads ${path}, which is not in the input`,
            },
          ];
        return standalone.map((f) => ({ doc, where: `PodSecurityConfiguration (${path})`, cfg: f.object as Dict }));
      }
      return [
        {
          doc,
          where: 'AdmissionConfiguration',
          noPlugin:
            'PodSecurity entry has neither configuration nor path, so the plugin runs with its defaults: enforce privileged',
        },
      ];
    });
  }
  if (standalone.length > 0)
    return standalone.map((doc) => ({ doc, where: 'PodSecurityConfiguration', cfg: doc.object as Dict }));
  return undefined;
}

/** A check over the PodSecurity configuration in force; `levels` are the enforce levels that comply. */
function podSecurityCheck(levels: readonly string[], why: string) {
  return (ctx: CheckContext): CheckResult[] => {
    const sources = podSecuritySources(ctx);
    if (!sources)
      return [
        notEvaluated('no AdmissionConfiguration (apiserver.config.k8s.io) or PodSecurityConfiguration in the input.'),
      ];
    return sources.map((s) => {
      const ref = ctx.ref(s.doc);
      if (s.missing) return result('not-evaluated', `Not evaluated: ${s.missing}.`, ref);
      if (s.noPlugin) return result('fail', `The ${s.where} ${s.noPlugin}.`, ref);
      const r = readPodSecurityConfiguration(s.cfg!);
      if (r.refused.length > 0)
        return result(
          'fail',
          `${s.where}: the API server refuses it (and does not start): ${r.refused.slice(0, 3).join('; ')}.`,
          ref,
        );
      const problems: string[] = [];
      if (!levels.includes(r.enforce)) {
        const unset = asDict(s.cfg!.defaults).enforce === undefined || asDict(s.cfg!.defaults).enforce === '';
        problems.push(
          `defaults.enforce is ${unset ? 'not set, so it is privileged (no restriction)' : r.enforce}; ${why}`,
        );
      }
      for (const p of r.exemptionProblems) problems.push(p);
      if (problems.length > 0) return result('fail', `${s.where}: ${problems.join('; ')}.`, ref);
      const note =
        r.reviewedExemptions.length > 0
          ? `; exempt namespaces (reviewed set): ${r.reviewedExemptions.join(', ')}`
          : '; no exemptions';
      return result('pass', `${s.where}: defaults enforce ${r.enforce} (version ${r.version})${note}.`, ref);
    });
  };
}

const ENFORCING = ['baseline', 'restricted'];

export const ADMISSION_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-ADMISSION-POD-SECURITY-DEFAULTS',
    title:
      'Pod Security admission enforces baseline or restricted by default, with no exemption that lets every workload through',
    rationale:
      'Cluster-wide defaults decide what happens in namespaces that carry no Pod Security labels; with no defaults they run privileged pods unchecked. An exempt controller service account, namespace or RuntimeClass lets pods past every check, whatever the level.',
    severity: 'high',
    frameworks: { stig: ['V-254800'], cis: ['5.2.1'], ccn: ['CCN-CL-16'], bsi: ['APP.4.4.A4', 'APP.4.4.A13'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'PodSecurityAdmission',
      prop: 'enforce',
      text: "'restricted' or 'baseline' rendered into the AdmissionConfiguration node file; exemptions only through PodSecurityExemption.namespace for kube-system, never usernames or RuntimeClasses.",
    },
    check: podSecurityCheck(ENFORCING, 'it must be baseline or restricted'),
  },
  {
    id: 'HCB-ADMISSION-POD-SECURITY-RESTRICTED',
    title: 'Pod Security admission enforces restricted by default, so pods run as non-root',
    rationale:
      "The STIG's pod security rule requires pods to run as non-root users. Of the Pod Security levels only restricted requires runAsNonRoot; baseline admits containers running as root. Exemptions that let whole namespaces, controllers or RuntimeClasses past the checks defeat the default.",
    severity: 'high',
    frameworks: { stig: ['V-242437'], cis: ['5.2.7'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'PodSecurityAdmission',
      prop: 'enforce',
      text: "'restricted' (the default for every profile), no exemptions of usernames or RuntimeClasses, namespaces only kube-system.",
    },
    check: podSecurityCheck(['restricted'], 'restricted is required (baseline admits containers running as root)'),
  },
  {
    id: 'HCB-APISERVER-ADMISSION-CONFIG-FILE',
    title: 'API server loads the admission configuration file',
    rationale:
      'The Pod Security defaults only take effect when the API server is pointed at the admission configuration.',
    severity: 'high',
    frameworks: { stig: ['V-254800'], ccn: ['CCN-CL-16'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'admission',
      text: 'an AdmissionConfiguration construct; it renders --admission-control-config-file.',
    },
    check: componentCheck('kube-apiserver', (c) => {
      const v = c.flag('admission-control-config-file');
      return v === undefined || v.trim() === ''
        ? fail(
            '--admission-control-config-file is not set: admission plugins run with built-in defaults (Pod Security: privileged).',
          )
        : pass(`--admission-control-config-file=${v}.`);
    }),
  },
  {
    id: 'HCB-POD-SECURITY-ADMISSION-ENABLED',
    title: 'Pod Security admission is enabled on the API server and kubelets',
    rationale:
      'Disabling the PodSecurity plugin or its feature gate removes the only built-in enforcement of pod security levels.',
    severity: 'high',
    frameworks: { stig: ['V-254801'], cis: ['5.2.1'], ccn: ['CCN-CL-16'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: [
      {
        construct: 'HardenedControlPlane',
        prop: 'apiServer.extraArgs',
        text: "do not list PodSecurity in 'disable-admission-plugins' or set PodSecurity=false in 'feature-gates'.",
      },
      { construct: 'KubeletConfiguration', prop: 'featureGates', text: 'do not set PodSecurity to false either.' },
    ],
    check: (ctx) => {
      const out: CheckResult[] = [];
      for (const c of ctx.components('kube-apiserver')) {
        const problems: string[] = [];
        if (flagList(c.flag('disable-admission-plugins')).includes('PodSecurity'))
          problems.push('--disable-admission-plugins includes PodSecurity');
        if (featureGates(c.flag('feature-gates')).get('PodSecurity') === false)
          problems.push('--feature-gates sets PodSecurity=false');
        out.push(
          result(
            problems.length > 0 ? 'fail' : 'pass',
            `${problems.length > 0 ? `${problems.join('; ')}.` : 'The PodSecurity admission plugin is not disabled (it is on by default since Kubernetes 1.23).'} [${c.describe()}]`,
            c.ref,
          ),
        );
      }
      for (const d of ctx.byKind('KubeletConfiguration', 'kubelet.config.k8s.io')) {
        const off = asDict((d.object as Dict).featureGates).PodSecurity === false;
        out.push(
          result(
            off ? 'fail' : 'pass',
            off ? 'featureGates.PodSecurity is false.' : 'The kubelet does not switch the PodSecurity feature off.',
            ctx.ref(d),
          ),
        );
      }
      return out.length > 0
        ? out
        : [notEvaluated('no kube-apiserver configuration and no KubeletConfiguration in the input.')];
    },
  },
];
