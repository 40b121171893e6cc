/** Admission control: the Pod Security admission configuration and the flags that load it. */
import { CheckContext, CheckResult, Control } from '../control';
import { featureGates, flagList } from '../components';
import { componentCheck, fail, notEvaluated, pass, result, Verdict } from '../checks/helpers';
import { Document } from '../model';
import { asDict, asDicts, asString, asStrings, Dict, isDict } from '../util/values';

const ENFORCING = new Set(['baseline', 'restricted']);

/** The verdict for a PodSecurityConfiguration's defaults. */
export function podSecurityDefaultsVerdict(cfg: Dict, where: string): Verdict {
  const defaults = asDict(cfg.defaults);
  const enforce = asString(defaults.enforce);
  if (enforce === undefined) return fail(`${where}: defaults.enforce is not set, so namespaces without labels run at privileged (no restriction).`);
  if (!ENFORCING.has(enforce)) return fail(`${where}: defaults.enforce is ${enforce}; it must be baseline or restricted.`);
  const exempt = asStrings(asDict(cfg.exemptions).namespaces);
  const extra = exempt.filter((n) => n !== 'kube-system');
  const version = asString(defaults['enforce-version']) ?? 'latest';
  return pass(
    `${where}: defaults enforce ${enforce} (version ${version})${extra.length > 0 ? `; namespaces exempted besides kube-system: ${extra.join(', ')}` : ''}.`,
  );
}

function podSecurityPluginVerdicts(doc: Document, ctx: CheckContext): Verdict {
  const plugins = asDicts((doc.object as Dict).plugins);
  const ps = plugins.find((p) => p.name === 'PodSecurity');
  if (!ps) return fail('The AdmissionConfiguration has no PodSecurity plugin entry: cluster-wide defaults are privileged.');
  if (isDict(ps.configuration)) return podSecurityDefaultsVerdict(ps.configuration, 'PodSecurity configuration');
  const path = asString(ps.path);
  if (path) {
    const files = ctx.byKind('PodSecurityConfiguration', 'pod-security.admission.config.k8s.io');
    if (files.length === 0) return { status: 'not-evaluated', message: `Not evaluated: the PodSecurity plugin reads ${path}, which is not in the input.` };
    const verdicts = files.map((f) => podSecurityDefaultsVerdict(f.object as Dict, 'PodSecurityConfiguration'));
    return verdicts.find((v) => v.status !== 'pass') ?? verdicts[0];
  }
  return fail('The PodSecurity plugin entry has neither configuration nor path.');
}

function psaDefaultsCheck(ctx: CheckContext): CheckResult[] {
  const admission = ctx.byKind('AdmissionConfiguration', 'apiserver.config.k8s.io');
  if (admission.length > 0) return admission.map((d) => {
    const v = podSecurityPluginVerdicts(d, ctx);
    return result(v.status, v.message, ctx.ref(d));
  });
  const standalone = ctx.byKind('PodSecurityConfiguration', 'pod-security.admission.config.k8s.io');
  if (standalone.length > 0) return standalone.map((d) => {
    const v = podSecurityDefaultsVerdict(d.object as Dict, 'PodSecurityConfiguration');
    return result(v.status, v.message, ctx.ref(d));
  });
  return [notEvaluated('no AdmissionConfiguration (apiserver.config.k8s.io) or PodSecurityConfiguration in the input.')];
}

export const ADMISSION_CONTROLS: readonly Control[] = [
  {
    id: 'HCB-ADMISSION-POD-SECURITY-DEFAULTS',
    title: 'Pod Security admission enforces baseline or restricted by default',
    rationale:
      'Cluster-wide defaults decide what happens in namespaces that carry no Pod Security labels; with no defaults they run privileged pods unchecked.',
    severity: 'high',
    frameworks: { stig: ['V-254800', 'V-242437'], cis: ['5.2.1'], ccn: ['CCN-CL-16'], bsi: ['APP.4.4.A4', 'APP.4.4.A13'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: "PodSecurityAdmission construct prop defaults.enforce ('restricted' or 'baseline'), rendered into the AdmissionConfiguration node file.",
    check: psaDefaultsCheck,
  },
  {
    id: 'HCB-APISERVER-ADMISSION-CONFIG-FILE',
    title: 'API server loads the admission configuration file',
    rationale: 'The Pod Security defaults only take effect when the API server is pointed at the admission configuration.',
    severity: 'high',
    frameworks: { stig: ['V-254800'], ccn: ['CCN-CL-16'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'HardenedControlPlane prop admission (AdmissionConfiguration construct) renders --admission-control-config-file.',
    check: componentCheck('kube-apiserver', (c) => {
      const v = c.flag('admission-control-config-file');
      return v === undefined || v.trim() === ''
        ? fail('--admission-control-config-file is not set: admission plugins run with built-in defaults (Pod Security: privileged).')
        : pass(`--admission-control-config-file=${v}.`);
    }),
  },
  {
    id: 'HCB-POD-SECURITY-ADMISSION-ENABLED',
    title: 'Pod Security admission is enabled on the API server and kubelets',
    rationale: 'Disabling the PodSecurity plugin or its feature gate removes the only built-in enforcement of pod security levels.',
    severity: 'high',
    frameworks: { stig: ['V-254801'], cis: ['5.2.1'], ccn: ['CCN-CL-16'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'provider',
    automation: 'automated',
    remediation: "HardenedControlPlane prop apiServer.extraArgs: do not list PodSecurity in 'disable-admission-plugins' or set PodSecurity=false in 'feature-gates'; KubeletConfiguration featureGates likewise.",
    check: (ctx) => {
      const out: CheckResult[] = [];
      for (const c of ctx.components('kube-apiserver')) {
        const problems: string[] = [];
        if (flagList(c.flag('disable-admission-plugins')).includes('PodSecurity')) problems.push('--disable-admission-plugins includes PodSecurity');
        if (featureGates(c.flag('feature-gates')).get('PodSecurity') === false) problems.push('--feature-gates sets PodSecurity=false');
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
        out.push(result(off ? 'fail' : 'pass', off ? 'featureGates.PodSecurity is false.' : 'The kubelet does not switch the PodSecurity feature off.', ctx.ref(d)));
      }
      return out.length > 0 ? out : [notEvaluated('no kube-apiserver configuration and no KubeletConfiguration in the input.')];
    },
  },
];
