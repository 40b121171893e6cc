/** kube-controller-manager: binding, TLS, per-controller credentials, CA and profiling. */
import { ControlRecord } from '../control';
import { boolFlag, componentCheck, fail, pass, requiredFlags } from '../checks/helpers';
import { servingTlsVerdict } from '../checks/tls';

const kcm = 'kube-controller-manager' as const;

/** Loopback only: the component's health and metrics endpoint must not be reachable from the network. */
export function loopbackBindVerdict(value: string | undefined) {
  if (value === undefined) return fail('--bind-address is not set and defaults to 0.0.0.0 (all interfaces).');
  const v = value.trim();
  return v === '127.0.0.1' || v === '::1' || v === 'localhost'
    ? pass(`--bind-address=${v}.`)
    : fail(`--bind-address=${v} exposes the secure port beyond the host.`);
}

export const CONTROLLER_MANAGER_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-CONTROLLER-MANAGER-TLS',
    title: 'Controller manager requires TLS 1.2 or newer with approved suites',
    rationale:
      'Its secure port serves health and metrics; the same TLS floor as the API server keeps weak protocol versions out.',
    severity: 'medium',
    frameworks: { stig: ['V-242376'], ccn: ['CCN-CL-04'], scs: ['SCS-BASE-TLS'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'tls',
      text: 'TlsPolicy renders --tls-min-version and --tls-cipher-suites for the controller manager.',
    },
    check: componentCheck(kcm, servingTlsVerdict),
  },
  {
    id: 'HCB-CONTROLLER-MANAGER-SA-CREDENTIALS',
    title: 'Controller manager runs each controller with its own service account',
    rationale:
      'Separate credentials per controller keep each one to the permissions it needs instead of one powerful identity.',
    severity: 'medium',
    frameworks: { stig: ['V-242381'], cis: ['1.3.3'], bsi: ['APP.4.4.A9'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'controllerManager.extraArgs',
      text: "'use-service-account-credentials': 'true' (kubeadm's default).",
    },
    check: boolFlag(kcm, 'use-service-account-credentials', true, false),
  },
  {
    id: 'HCB-CONTROLLER-MANAGER-BIND-ADDRESS',
    title: 'Controller manager listens on loopback only',
    rationale:
      'Nothing outside the control-plane host needs its endpoint; binding to loopback removes a network attack surface.',
    severity: 'medium',
    frameworks: { stig: ['V-242385'], cis: ['1.3.7'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'controllerManager.extraArgs',
      text: "'bind-address': '127.0.0.1' (kubeadm's default).",
    },
    check: componentCheck(kcm, (c) => loopbackBindVerdict(c.flag('bind-address'))),
  },
  {
    id: 'HCB-CONTROLLER-MANAGER-PROFILING',
    title: 'Controller manager profiling is off',
    rationale: 'Profiling data reveals internals and is not needed in production.',
    severity: 'low',
    frameworks: { stig: ['V-242409'], cis: ['1.3.2'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'controllerManager.extraArgs',
      text: "'profiling': 'false'.",
    },
    check: boolFlag(kcm, 'profiling', false, true),
  },
  {
    id: 'HCB-CONTROLLER-MANAGER-ROOT-CA',
    title: 'Controller manager publishes the cluster CA to service accounts',
    rationale:
      'Pods verify the API server with the root CA the controller manager distributes; without it they cannot detect an impostor.',
    severity: 'medium',
    frameworks: { stig: ['V-242421'], cis: ['1.3.5'], scs: ['SCS-BASE-CA'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'controllerManager.extraArgs',
      text: "'root-ca-file' (kubeadm sets it to <certificatesDir>/ca.crt).",
    },
    check: requiredFlags(kcm, ['root-ca-file'], 'service account token consumers get no CA to verify the API server'),
  },
  {
    id: 'HCB-CONTROLLER-MANAGER-SA-KEY',
    title: 'Controller manager signs service account tokens with a dedicated key',
    rationale:
      'A dedicated, protected signing key is what makes service account tokens verifiable and revocable by rotation.',
    severity: 'medium',
    frameworks: { cis: ['1.3.4'], bsi: ['APP.4.4.A9'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'controllerManager.extraArgs',
      text: "'service-account-private-key-file' (kubeadm sets it to <certificatesDir>/sa.key).",
    },
    check: requiredFlags(
      kcm,
      ['service-account-private-key-file'],
      'service account tokens have no dedicated signing key',
    ),
  },
  {
    id: 'HCB-CLUSTER-CA-SELF-CONTROLLED',
    title: 'The cluster signs its certificates with its own CA',
    rationale:
      "When the cluster's own CA signs kubelet and client certificates, the operator decides who gets a certificate and can revoke trust by rotating that CA.",
    severity: 'medium',
    frameworks: { scs: ['SCS-BASE-CA'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'controllerManager.extraArgs',
      text: "'cluster-signing-cert-file'/'cluster-signing-key-file' (kubeadm sets both to the cluster CA unless an external CA is used).",
    },
    check: requiredFlags(
      kcm,
      ['cluster-signing-cert-file', 'cluster-signing-key-file'],
      'certificate signing requests are not signed by a CA the operator controls',
    ),
  },
];
