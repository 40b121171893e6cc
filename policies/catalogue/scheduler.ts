/** kube-scheduler: binding, TLS and profiling. */
import { Control } from '../control';
import { boolFlag, componentCheck } from '../checks/helpers';
import { servingTlsVerdict } from '../checks/tls';
import { loopbackBindVerdict } from './controller-manager';

const sched = 'kube-scheduler' as const;

export const SCHEDULER_CONTROLS: readonly Control[] = [
  {
    id: 'HCB-SCHEDULER-TLS',
    title: 'Scheduler requires TLS 1.2 or newer with approved suites',
    rationale: 'The scheduler serves health and metrics over TLS; an explicit floor keeps weak protocol versions out.',
    severity: 'medium',
    frameworks: { stig: ['V-242377'], ccn: ['CCN-CL-04'], scs: ['SCS-BASE-TLS'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'provider',
    automation: 'automated',
    remediation: 'HardenedControlPlane prop tls (TlsPolicy) renders --tls-min-version and --tls-cipher-suites for the scheduler.',
    check: componentCheck(sched, servingTlsVerdict),
  },
  {
    id: 'HCB-SCHEDULER-BIND-ADDRESS',
    title: 'Scheduler listens on loopback only',
    rationale: 'Nothing outside the control-plane host needs the scheduler endpoint; loopback binding removes it from the network.',
    severity: 'medium',
    frameworks: { stig: ['V-242384'], cis: ['1.4.2'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'provider',
    automation: 'automated',
    remediation: "HardenedControlPlane prop scheduler.extraArgs 'bind-address': '127.0.0.1' (kubeadm's default).",
    check: componentCheck(sched, (c) => loopbackBindVerdict(c.flag('bind-address'))),
  },
  {
    id: 'HCB-SCHEDULER-PROFILING',
    title: 'Scheduler profiling is off',
    rationale: 'Profiling data reveals internals and is not needed in production.',
    severity: 'low',
    frameworks: { cis: ['1.4.1'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'provider',
    automation: 'automated',
    remediation: "HardenedControlPlane prop scheduler.extraArgs 'profiling': 'false'.",
    check: boolFlag(sched, 'profiling', false, true),
  },
];
