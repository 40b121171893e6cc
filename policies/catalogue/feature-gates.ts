/** Feature gates and API groups that must stay off. */
import { CheckContext, CheckResult, ControlRecord } from '../control';
import { featureGates } from '../components';
import { componentCheck, fail, notEvaluated, pass, result } from '../checks/helpers';
import { isInvalidFlagValue, parseRuntimeConfig } from '../flags';
import { asBool, asDict } from '../util/values';
import { kubeletPrecheck, kubelets, unevaluableKubelets } from './kubelet';

/** A gate that must be off in every component that reads feature gates, kubelets with their flags. */
function gateOffEverywhere(gate: string) {
  return (ctx: CheckContext): CheckResult[] => {
    const out: CheckResult[] = [];
    for (const name of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const) {
      for (const c of ctx.components(name)) {
        if (c.unreadable !== undefined) {
          out.push(result('not-evaluated', `Not evaluated: ${c.unreadable}. [${c.describe()}]`, c.ref));
          continue;
        }
        const on = featureGates(c.flag('feature-gates')).get(gate) === true;
        out.push(
          result(
            on ? 'fail' : 'pass',
            `${on ? `--feature-gates enables ${gate}.` : `${gate} is not enabled.`} [${c.describe()}]`,
            c.ref,
          ),
        );
      }
    }
    out.push(...unevaluableKubelets(ctx));
    for (const k of kubelets(ctx)) {
      const early = kubeletPrecheck(ctx, k, [`featureGates.${gate}`]);
      if (early) {
        out.push(early);
        continue;
      }
      const v = asDict(k.config.featureGates)[gate];
      const on = isInvalidFlagValue(v) || asBool(v) === true;
      out.push(
        result(
          on ? 'fail' : 'pass',
          on
            ? `The kubelet's featureGates enable ${gate}${k.overrides.has(`featureGates.${gate}`) ? ' (through --feature-gates)' : ''}.`
            : `${gate} is not enabled.`,
          ctx.ref(k.document),
        ),
      );
    }
    return out.length > 0
      ? out
      : [notEvaluated('no kube-apiserver, controller manager, scheduler or kubelet configuration in the input.')];
  };
}

export const FEATURE_GATE_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-FEATURE-DYNAMIC-AUDITING',
    title: 'Dynamic audit sinks are not enabled',
    rationale:
      'Dynamic auditing let API clients register their own audit sinks, so audit data could be redirected or suppressed without touching the control plane.',
    severity: 'medium',
    frameworks: { stig: ['V-242398'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'apiServer.extraArgs',
      text: "no DynamicAuditing in 'feature-gates' and no auditregistration.k8s.io in 'runtime-config'.",
    },
    check: componentCheck('kube-apiserver', (c) => {
      const problems: string[] = [];
      if (featureGates(c.flag('feature-gates')).get('DynamicAuditing') === true)
        problems.push('--feature-gates enables DynamicAuditing');
      for (const [k, on] of parseRuntimeConfig(c.flag('runtime-config'))) {
        if (k.startsWith('auditregistration.k8s.io') && on !== false)
          problems.push(`--runtime-config ${on === 'invalid' ? 'has an invalid value for' : 'enables'} ${k}`);
      }
      return problems.length > 0 ? fail(`${problems.join('; ')}.`) : pass('Dynamic auditing is not enabled.');
    }),
  },
  {
    id: 'HCB-FEATURE-DYNAMIC-KUBELET-CONFIG',
    title: 'Dynamic kubelet configuration is not enabled',
    rationale:
      'Dynamic kubelet configuration let API objects change kubelet settings at run time, outside the reviewed node configuration.',
    severity: 'medium',
    frameworks: { stig: ['V-242399'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: [
      {
        construct: 'HardenedControlPlane',
        prop: 'apiServer.extraArgs',
        text: "never set DynamicKubeletConfig in 'feature-gates'.",
      },
      { construct: 'KubeletConfiguration', prop: 'featureGates', text: 'never set DynamicKubeletConfig.' },
    ],
    check: gateOffEverywhere('DynamicKubeletConfig'),
  },
];
