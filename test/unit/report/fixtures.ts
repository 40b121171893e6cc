import { Finding } from '../../../policies/model';
import { ControlInfo, ReportMeta } from '../../../policies/report';

/** Catalogue entries for the fixed finding set (titles and rationales for the reports). */
export const CONTROLS: ControlInfo[] = [
  {
    id: 'HCB-APISERVER-ANONYMOUS',
    title: 'API server rejects anonymous requests',
    rationale:
      'Anonymous requests reach authorizers with the system:anonymous identity; refusing them removes that path.',
    severity: 'high',
    frameworks: { stig: ['V-242390'], cis: ['1.2.1'], bsi: ['APP.4.4.A3'], ccn: [], scs: [] },
    remediation: 'Set HardenedControlPlane props.apiServer.anonymousAuth to false.',
  },
  {
    id: 'HCB-AUDIT-POLICY-SECRETS',
    title: 'Audit policy logs Secrets at Metadata only',
    rationale: 'Request bodies of Secrets would put secret values into the audit log.',
    severity: 'critical',
    frameworks: { stig: ['242461'], cis: ['3.2.2'], bsi: ['APP.4.4.A4'], ccn: ['op.exp.8'], scs: [] },
    remediation: 'Use AuditPolicy from constructs/control-plane with its default rules.',
  },
  {
    id: 'HCB-POD-RUN-AS-NON-ROOT',
    title: 'Containers run as a non-root user',
    severity: 'medium',
    frameworks: { stig: ['V-242415'], cis: ['5.2.6'], bsi: ['APP.4.4.A9'], ccn: [], scs: ['scs-0217-sbs-5'] },
    remediation: 'Use HardenedWorkload; do not set props.securityContext.runAsUser to 0.',
  },
  {
    id: 'HCB-NETPOL-DEFAULT-DENY',
    title: 'Every namespace has a default-deny NetworkPolicy',
    severity: 'medium',
    frameworks: { cis: ['5.3.2'], bsi: ['APP.4.4.A7'], scs: ['scs-0217-sbs-7'] },
  },
  {
    id: 'HCB-ENCRYPTION-PROVIDER',
    title: 'Secrets are encrypted at rest with a real provider first',
    severity: 'high',
    frameworks: { stig: ['V-242467'], cis: ['1.2.27'], ccn: ['mp.info.3'] },
  },
  {
    id: 'HCB-NODEFILE-MODE',
    title: 'Control-plane files have restrictive modes',
    severity: 'low',
    frameworks: { stig: ['V-242445'], cis: ['1.1.1'] },
  },
];

/** A fixed set covering every status, severity and awkward text the reports must survive. */
export const FINDINGS: Finding[] = [
  {
    control: 'HCB-POD-RUN-AS-NON-ROOT',
    status: 'fail',
    severity: 'medium',
    frameworks: { stig: ['V-242415'], cis: ['5.2.6'], bsi: ['APP.4.4.A9'], scs: ['scs-0217-sbs-5'] },
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'team-a',
      name: 'web',
      file: 'manifests/app.yaml',
      line: 12,
      constructPath: 'blueprint/team-a/web',
    },
    message: 'container "app" may run as root: runAsNonRoot is not set',
    remediation: 'Use HardenedWorkload; do not set props.securityContext.runAsUser to 0.',
  },
  {
    control: 'HCB-APISERVER-ANONYMOUS',
    status: 'fail',
    severity: 'high',
    frameworks: { stig: ['V-242390'], cis: ['1.2.1'], bsi: ['APP.4.4.A3'] },
    object: {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'ClusterConfiguration',
      name: 'kubeadm',
      file: 'control-plane/kubeadm.yaml',
      line: 1,
    },
    message: 'apiServer.extraArgs anonymous-auth is "true" & no AuthenticationConfiguration limits anonymous access',
    remediation: 'Set HardenedControlPlane props.apiServer.anonymousAuth to false.',
  },
  {
    control: 'HCB-AUDIT-POLICY-SECRETS',
    status: 'pass',
    severity: 'critical',
    frameworks: { stig: ['242461'], cis: ['3.2.2'], bsi: ['APP.4.4.A4'], ccn: ['op.exp.8'] },
    object: { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', file: 'control-plane/audit-policy.yaml', line: 3 },
    message: 'Secrets, ConfigMaps and TokenReviews are logged at Metadata',
  },
  {
    control: 'HCB-POD-RUN-AS-NON-ROOT',
    status: 'accepted',
    severity: 'medium',
    frameworks: { stig: ['V-242415'], cis: ['5.2.6'], bsi: ['APP.4.4.A9'], scs: ['scs-0217-sbs-5'] },
    object: {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      namespace: 'kube-system',
      name: 'node-agent',
      file: 'manifests/agent.yaml',
      line: 40,
    },
    message: 'container "agent" runs as root',
    exception: {
      justification: 'Needs root to read /var/log on nodes | reviewed <2025-01>',
      owner: 'platform-team',
      expires: '2026-12-31',
    },
  },
  {
    control: 'HCB-NETPOL-DEFAULT-DENY',
    status: 'not-evaluated',
    severity: 'medium',
    frameworks: { cis: ['5.3.2'], bsi: ['APP.4.4.A7'], scs: ['scs-0217-sbs-7'] },
    message: 'no Namespace in the input: nothing to check',
  },
  {
    control: 'HCB-ENCRYPTION-PROVIDER',
    status: 'error',
    severity: 'high',
    frameworks: { stig: ['V-242467'], cis: ['1.2.27'], ccn: ['mp.info.3'] },
    object: {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'EncryptionConfiguration',
      file: 'control-plane/encryption.yaml',
      line: 2,
    },
    message: 'resources[0].providers is not a list',
  },
  {
    control: 'HCB-NODEFILE-MODE',
    status: 'fail',
    severity: 'low',
    frameworks: { stig: ['V-242445'], cis: ['1.1.1'] },
    object: {
      kind: 'NodeFileManifest',
      path: '/etc/kubernetes/manifests/kube-apiserver.yaml',
      file: 'nodes/files.yaml',
      line: 7,
    },
    message: 'mode 0644 is wider than 0600',
  },
  {
    control: 'HCB-POD-RUN-AS-NON-ROOT',
    status: 'not-applicable',
    severity: 'medium',
    frameworks: { stig: ['V-242415'], cis: ['5.2.6'], bsi: ['APP.4.4.A9'], scs: ['scs-0217-sbs-5'] },
    object: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'team-a',
      name: 'settings',
      file: 'manifests/app.yaml',
      line: 60,
    },
    message: 'not a workload',
  },
  {
    control: 'HCB-POD-RUN-AS-NON-ROOT',
    status: 'fail',
    severity: 'medium',
    frameworks: { stig: ['V-242415'], cis: ['5.2.6'], bsi: ['APP.4.4.A9'], scs: ['scs-0217-sbs-5'] },
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: 'team-b',
      name: '<script>alert(1)</script>',
      file: 'manifests/evil "quoted" & <b>.yaml',
      line: 5,
    },
    message:
      'name has markup <img src=x onerror=alert(1)> | pipes | `ticks` *stars* and\na second line \u0001\u001b[31m',
  },
];

export const META: ReportMeta = {
  tool: { name: 'hcb', version: '0.1.0' },
  generatedAt: '2025-06-30T12:00:00.000Z',
  controls: CONTROLS,
};
