/** kube-scheduler: binding, TLS and profiling. */
import { CheckContext, ComponentConfig, ControlRecord } from '../control';
import { componentCheck, fail, pass, Verdict } from '../checks/helpers';
import { apiVersionMatches } from '../context';
import { servingTlsVerdict } from '../checks/tls';
import { loopbackBindVerdict } from './controller-manager';

const sched = 'kube-scheduler' as const;

/**
 * With --config the scheduler ignores its deprecated --profiling flag and takes enableProfiling
 * from the KubeSchedulerConfiguration (default true): cmd/kube-scheduler/app/options Options.ApplyTo.
 */
function schedulerProfiling(c: ComponentConfig, ctx: CheckContext): Verdict {
  const config = c.flag('config');
  if (config === undefined || config === '') {
    const f = c.effective('profiling');
    if (f === undefined) return fail('--profiling is not set and defaults to true; it must be false.');
    if (f.invalid !== undefined) return fail(`${f.invalid}: the scheduler would not start; it must be false.`);
    return f.bool === false ? pass(`--profiling=${f.value}.`) : fail(`--profiling=${f.value}; it must be false.`);
  }
  const docs = ctx
    .byKind('KubeSchedulerConfiguration')
    .filter((d) => apiVersionMatches(d.object.apiVersion, 'kubescheduler.config.k8s.io'));
  const ignored =
    c.flag('profiling') !== undefined ? ` (--profiling=${c.flag('profiling')} is ignored when --config is given)` : '';
  if (docs.length === 0) {
    return {
      status: 'not-evaluated',
      message: `Not evaluated: --config=${config} is set, so enableProfiling in that KubeSchedulerConfiguration decides${ignored}, and no KubeSchedulerConfiguration is in the input.`,
    };
  }
  const on = docs.filter((d) => (d.object as Record<string, unknown>).enableProfiling !== false);
  if (on.length > 0) {
    const v = (on[0].object as Record<string, unknown>).enableProfiling;
    return fail(
      `KubeSchedulerConfiguration enableProfiling is ${v === undefined ? 'not set and defaults to true' : JSON.stringify(v)}${ignored}.`,
    );
  }
  return pass(`KubeSchedulerConfiguration enableProfiling: false${ignored}.`);
}

export const SCHEDULER_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-SCHEDULER-TLS',
    title: 'Scheduler requires TLS 1.2 or newer with approved suites',
    rationale: 'The scheduler serves health and metrics over TLS; an explicit floor keeps weak protocol versions out.',
    severity: 'medium',
    frameworks: { stig: ['V-242377'], ccn: ['CCN-CL-04'], scs: ['SCS-BASE-TLS'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'tls',
      text: 'TlsPolicy renders --tls-min-version and --tls-cipher-suites for the scheduler.',
    },
    check: componentCheck(sched, servingTlsVerdict),
  },
  {
    id: 'HCB-SCHEDULER-BIND-ADDRESS',
    title: 'Scheduler listens on loopback only',
    rationale:
      'Nothing outside the control-plane host needs the scheduler endpoint; loopback binding removes it from the network.',
    severity: 'medium',
    frameworks: { stig: ['V-242384'], cis: ['1.4.2'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'scheduler.extraArgs',
      text: "'bind-address': '127.0.0.1' (kubeadm's default).",
    },
    check: componentCheck(sched, (c) => loopbackBindVerdict(c.flag('bind-address'))),
  },
  {
    id: 'HCB-SCHEDULER-PROFILING',
    title: 'Scheduler profiling is off',
    rationale: 'Profiling data reveals internals and is not needed in production.',
    severity: 'low',
    frameworks: { cis: ['1.4.1'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: { construct: 'HardenedControlPlane', prop: 'scheduler.extraArgs', text: "'profiling': 'false'." },
    check: componentCheck(sched, schedulerProfiling),
  },
];
