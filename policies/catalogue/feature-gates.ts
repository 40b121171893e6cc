/** Feature gates and API groups that must stay off. */
import { CheckContext, CheckResult, Control } from '../control';
import { featureGates, flagList } from '../components';
import { componentCheck, fail, notEvaluated, pass, result } from '../checks/helpers';
import { asBool, asDict, Dict } from '../util/values';

function gateOffEverywhere(gate: string) {
  return (ctx: CheckContext): CheckResult[] => {
    const out: CheckResult[] = [];
    for (const c of ctx.components('kube-apiserver')) {
      const on = featureGates(c.flag('feature-gates')).get(gate) === true;
      out.push(result(on ? 'fail' : 'pass', `${on ? `--feature-gates enables ${gate}.` : `${gate} is not enabled.`} [${c.describe()}]`, c.ref));
    }
    for (const d of ctx.byKind('KubeletConfiguration', 'kubelet.config.k8s.io')) {
      const on = asBool(asDict((d.object as Dict).featureGates)[gate]) === true;
      out.push(result(on ? 'fail' : 'pass', on ? `featureGates enables ${gate}.` : `${gate} is not enabled.`, ctx.ref(d)));
    }
    return out.length > 0 ? out : [notEvaluated('no kube-apiserver configuration and no KubeletConfiguration in the input.')];
  };
}

export const FEATURE_GATE_CONTROLS: readonly Control[] = [
  {
    id: 'HCB-FEATURE-DYNAMIC-AUDITING',
    title: 'Dynamic audit sinks are not enabled',
    rationale: 'Dynamic auditing let API clients register their own audit sinks, so audit data could be redirected or suppressed without touching the control plane.',
    severity: 'medium',
    frameworks: { stig: ['V-242398'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'provider',
    automation: 'automated',
    remediation: "HardenedControlPlane prop apiServer.extraArgs: no DynamicAuditing in 'feature-gates' and no auditregistration.k8s.io in 'runtime-config'.",
    check: componentCheck('kube-apiserver', (c) => {
      const problems: string[] = [];
      if (featureGates(c.flag('feature-gates')).get('DynamicAuditing') === true) problems.push('--feature-gates enables DynamicAuditing');
      for (const item of flagList(c.flag('runtime-config'))) {
        const [k, v] = item.split('=');
        if (k.startsWith('auditregistration.k8s.io') && (v === undefined || v.toLowerCase() === 'true')) problems.push(`--runtime-config enables ${k}`);
      }
      return problems.length > 0 ? fail(`${problems.join('; ')}.`) : pass('Dynamic auditing is not enabled.');
    }),
  },
  {
    id: 'HCB-FEATURE-DYNAMIC-KUBELET-CONFIG',
    title: 'Dynamic kubelet configuration is not enabled',
    rationale: 'Dynamic kubelet configuration let API objects change kubelet settings at run time, outside the reviewed node configuration.',
    severity: 'medium',
    frameworks: { stig: ['V-242399'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'provider',
    automation: 'automated',
    remediation: 'HardenedControlPlane prop apiServer.extraArgs and KubeletConfiguration prop featureGates: never set DynamicKubeletConfig.',
    check: gateOffEverywhere('DynamicKubeletConfig'),
  },
];
