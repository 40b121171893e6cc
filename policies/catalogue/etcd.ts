/** etcd: TLS for clients and peers, client certificate authentication, no self-signed certificates. */
import { ControlRecord } from '../control';
import { flagList } from '../components';
import { boolFlag, componentCheck, fail, pass } from '../checks/helpers';

const etcd = 'etcd' as const;

export const ETCD_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-ETCD-SERVER-TLS',
    title: 'etcd serves clients over TLS with its own certificate',
    rationale:
      'etcd stores the whole cluster state, Secrets included; clients must only reach it over TLS with a certificate from the etcd CA.',
    severity: 'high',
    frameworks: { stig: ['V-242427', 'V-242428'], cis: ['2.1'], ccn: ['CCN-CL-03'], scs: ['SCS-BASE-TLS'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'etcd.extraArgs',
      text: "'cert-file'/'key-file' (kubeadm sets both) and https listen-client-urls.",
    },
    check: componentCheck(etcd, (c) => {
      const problems: string[] = [];
      for (const f of ['cert-file', 'key-file']) if ((c.flag(f) ?? '') === '') problems.push(`--${f} not set`);
      const plain = flagList(c.flag('listen-client-urls')).filter((u) => !u.startsWith('https://'));
      if (plain.length > 0) problems.push(`--listen-client-urls has plain endpoint(s) ${plain.join(', ')}`);
      if (problems.length > 0) return fail(`${problems.join('; ')}.`);
      return pass(`--cert-file=${c.flag('cert-file')}, --key-file=${c.flag('key-file')}.`);
    }),
  },
  {
    id: 'HCB-ETCD-CLIENT-CERT-AUTH',
    title: 'etcd requires client certificates',
    rationale:
      'Without client certificate authentication anyone who reaches the etcd port can read and write the cluster state.',
    severity: 'critical',
    frameworks: { stig: ['V-242423'], cis: ['2.2'], ccn: ['CCN-CL-03'], scs: ['SCS-BASE-TLS'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'etcd.extraArgs',
      text: "'client-cert-auth': 'true' (kubeadm's default).",
    },
    check: boolFlag(etcd, 'client-cert-auth', true, false),
  },
  {
    id: 'HCB-ETCD-AUTO-TLS',
    title: 'etcd does not use self-signed client certificates',
    rationale:
      'Automatically generated certificates are not issued by the etcd CA, so clients cannot verify the server.',
    severity: 'high',
    frameworks: { stig: ['V-242379'], cis: ['2.3'], ccn: ['CCN-CL-03'], scs: ['SCS-BASE-CA'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'etcd.extraArgs',
      text: "remove 'auto-tls' or set it to 'false'.",
    },
    check: boolFlag(etcd, 'auto-tls', false, false),
  },
  {
    id: 'HCB-ETCD-PEER-TLS',
    title: 'etcd members talk to each other over TLS with their own certificates',
    rationale: 'Replication traffic between members carries the full data set and must be encrypted and authenticated.',
    severity: 'high',
    frameworks: { stig: ['V-242432', 'V-242433'], cis: ['2.4'], ccn: ['CCN-CL-03'], scs: ['SCS-BASE-TLS'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'etcd.extraArgs',
      text: "'peer-cert-file'/'peer-key-file' (kubeadm sets both).",
    },
    check: componentCheck(etcd, (c) => {
      const problems: string[] = [];
      for (const f of ['peer-cert-file', 'peer-key-file'])
        if ((c.flag(f) ?? '') === '') problems.push(`--${f} not set`);
      const plain = flagList(c.flag('listen-peer-urls')).filter((u) => !u.startsWith('https://'));
      if (plain.length > 0) problems.push(`--listen-peer-urls has plain endpoint(s) ${plain.join(', ')}`);
      if (problems.length > 0) return fail(`${problems.join('; ')}.`);
      return pass(`--peer-cert-file=${c.flag('peer-cert-file')}, --peer-key-file=${c.flag('peer-key-file')}.`);
    }),
  },
  {
    id: 'HCB-ETCD-PEER-CLIENT-CERT-AUTH',
    title: 'etcd members require peer certificates',
    rationale:
      'Without peer certificate authentication a host on the network could join the etcd cluster and receive its data.',
    severity: 'high',
    frameworks: { stig: ['V-242426'], cis: ['2.5'], ccn: ['CCN-CL-03'], scs: ['SCS-BASE-TLS'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'etcd.extraArgs',
      text: "'peer-client-cert-auth': 'true' (kubeadm's default).",
    },
    check: boolFlag(etcd, 'peer-client-cert-auth', true, false),
  },
  {
    id: 'HCB-ETCD-PEER-AUTO-TLS',
    title: 'etcd does not use self-signed peer certificates',
    rationale: 'Self-signed peer certificates cannot be verified, so any host could pose as a member.',
    severity: 'high',
    frameworks: { stig: ['V-242380'], cis: ['2.6'], ccn: ['CCN-CL-03'], scs: ['SCS-BASE-CA'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'etcd.extraArgs',
      text: "remove 'peer-auto-tls' or set it to 'false'.",
    },
    check: boolFlag(etcd, 'peer-auto-tls', false, false),
  },
];
