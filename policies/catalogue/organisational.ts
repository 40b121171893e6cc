/**
 * Requirements no check over manifests can settle: host operations, processes and architecture.
 * Each says what the blueprint gives as evidence; the engine reports them as not-evaluated.
 */
import { ReviewedControlRecord } from '../control';

type Org = ReviewedControlRecord;

const controls: Org[] = [
  {
    id: 'HCB-NODE-SSHD-DISABLED',
    title: 'Worker nodes run no SSH daemon, or keep it stopped and disabled',
    rationale: 'An SSH daemon on a worker is a second way in that bypasses Kubernetes authentication, RBAC and audit.',
    severity: 'medium',
    frameworks: { stig: ['V-242393', 'V-242394'] },
    checkpoints: ['live'],
    responsibility: 'cluster-admin',
    automation: 'manual',
    evidence:
      'The kubeadm-hosts stack lists every node it provisions; `systemctl is-active sshd` and `systemctl is-enabled sshd` on each worker (or the image build that removes sshd) are the evidence. The stack itself needs SSH only while provisioning.',
    remediation: {
      text: 'After provisioning, disable sshd on workers (host image or configuration management); use the API and audited debug pods for troubleshooting.',
    },
  },
  {
    id: 'HCB-TOOLING-KUBECTL-VERSION',
    title: 'Administrators use a kubectl that copies files safely',
    rationale:
      'Old kubectl releases let a malicious container overwrite files on the administrator’s machine through `kubectl cp`.',
    severity: 'medium',
    frameworks: { stig: ['V-242396'] },
    checkpoints: ['live'],
    responsibility: 'organisational',
    automation: 'organisational',
    evidence:
      'The toolchain pins the Kubernetes release the project builds and tests against (tools/versions.env); administrators’ kubectl must be of a supported release.',
    remediation: { text: 'Keep administrator workstations on a supported kubectl release.' },
  },
  {
    id: 'HCB-PORTS-PPSM',
    title: 'Control-plane ports and protocols are registered and limited to the documented set',
    rationale:
      'Every listening port must be known, needed and registered with the organisation so that firewalls can allow exactly those.',
    severity: 'medium',
    frameworks: { stig: ['V-242410', 'V-242411', 'V-242412', 'V-242413'], bsi: ['APP.4.4.A7'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'provider',
    automation: 'manual',
    evidence:
      'The blueprint fixes the ports it renders (API server 6443, etcd 2379-2380 on the control plane, kubelet 10250, controller manager 10257 and scheduler 10259 on loopback); the bind-address and secure-port controls check them. Registering them in the organisation’s ports list is a manual step.',
    remediation: {
      text: 'Register the rendered ports in the PPSM/port inventory and allow only those in host firewalls.',
    },
  },
  {
    id: 'HCB-PATCH-MANAGEMENT',
    title: 'Kubernetes and the hosts run supported, patched releases',
    rationale:
      'Published vulnerabilities are fixed in patch releases; an unpatched cluster or host stays exposed to them.',
    severity: 'high',
    frameworks: { stig: ['V-242443'], ccn: ['CCN-CL-01', 'CCN-CL-02'] },
    checkpoints: ['live'],
    responsibility: 'organisational',
    automation: 'manual',
    evidence:
      'Component versions are pinned in tools/versions.env and the kubeadm ClusterConfiguration kubernetesVersion; a version bump is a reviewed pull request. Host patching is outside the blueprint.',
    remediation: {
      text: 'Bump the pinned Kubernetes patch release with each upstream security release; patch hosts through the operating system’s update process.',
    },
  },
  {
    id: 'HCB-ORG-SEPARATION-PLAN',
    title: 'Application separation is planned (namespaces, clusters, networks)',
    rationale:
      'How applications and environments are separated must be decided from their protection needs before they go live.',
    severity: 'medium',
    frameworks: { bsi: ['APP.4.4.A1', 'APP.4.4.A15'] },
    checkpoints: ['synth'],
    responsibility: 'organisational',
    automation: 'organisational',
    evidence:
      'The BlueprintSpec declares tenants and their namespaces, quotas, limit ranges and network rules as code; the namespace controls check that each namespace carries them. Which applications share a cluster is the organisation’s decision, recorded in the spec.',
    remediation: {
      text: 'Record the separation decision in the BlueprintSpec (tenants, one cluster per protection level where needed).',
    },
  },
  {
    id: 'HCB-ORG-CICD-PLAN',
    title: 'Automation with CI/CD is planned across the whole lifecycle',
    rationale:
      'Pipelines change clusters with privileged credentials; their lifecycle, rights and handling of Secrets must be planned.',
    severity: 'medium',
    frameworks: { bsi: ['APP.4.4.A2', 'APP.4.4.A10'] },
    checkpoints: ['synth'],
    responsibility: 'organisational',
    automation: 'organisational',
    evidence:
      'Changes flow through pull requests with snapshot diffs and the Markdown compliance report; AutomationIdentity gives each pipeline its own service account and token with a narrow role; exceptions are reviewed code with owners and expiry dates.',
    remediation: {
      construct: 'AutomationIdentity',
      text: 'Give each pipeline an AutomationIdentity with the narrowest access preset; keep deploy rights out of human accounts.',
    },
  },
  {
    id: 'HCB-ORG-BACKUP',
    title: 'Cluster state, etcd and configuration are backed up',
    rationale:
      'Without backups a lost control plane or deleted namespace cannot be restored; snapshots alone are not a backup.',
    severity: 'high',
    frameworks: { bsi: ['APP.4.4.A5'] },
    checkpoints: ['live'],
    responsibility: 'organisational',
    automation: 'organisational',
    evidence:
      'All configuration is generated from the repository (the repository is the configuration backup) and the node file manifest lists the files and the etcd data directory that an etcd snapshot and host backup must include.',
    remediation: { text: 'Schedule etcd snapshots and backups of persistent volumes and registries; test restores.' },
  },
  {
    id: 'HCB-WORKLOAD-INIT-CONTAINERS',
    title: 'Pod initialization runs in init containers',
    rationale:
      'Initialization in a dedicated init container finishes before the application starts and keeps setup tools out of the running container.',
    severity: 'low',
    frameworks: { bsi: ['APP.4.4.A6'] },
    checkpoints: ['synth'],
    responsibility: 'cluster-admin',
    automation: 'manual',
    evidence:
      'HardenedWorkload supports init containers with the same hardened security context as the main containers; whether an application needs initialization is a design review question.',
    remediation: { construct: 'HardenedWorkload', prop: 'initContainers', text: 'move start-up setup here.' },
  },
  {
    id: 'HCB-ORG-CONFIG-VERSIONING',
    title: 'Cluster configuration is versioned and access to it is restricted',
    rationale:
      'Versioned, annotated configuration shows who changed what and allows rollback; write access to control-plane configuration must be narrow.',
    severity: 'medium',
    frameworks: { bsi: ['APP.4.4.A8'] },
    checkpoints: ['synth'],
    responsibility: 'organisational',
    automation: 'organisational',
    evidence:
      'Every artefact is synthesized from typed code in git, objects carry the construct path that produced them, and the node file controls check owner and mode of each file on the nodes.',
    remediation: { text: 'Protect the repository’s main branch and require review for changes to the blueprint.' },
  },
  {
    id: 'HCB-ORG-INFRASTRUCTURE-APPS',
    title: 'Registries, storage and automation servers are secured',
    rationale:
      'Registries and automation around the cluster feed it images and configuration; their accounts, TLS, rights, logs and backups matter as much as the cluster’s.',
    severity: 'medium',
    frameworks: { bsi: ['APP.4.4.A12'] },
    checkpoints: ['live'],
    responsibility: 'organisational',
    automation: 'organisational',
    evidence: 'Outside the blueprint; the audit controls cover the Kubernetes side (changes logged, logs shipped).',
    remediation: { text: 'Apply the organisation’s baseline to the registry, storage and CI servers.' },
  },
  {
    id: 'HCB-ORG-AUTOMATED-AUDIT',
    title: 'Configuration is audited automatically and enforced in the cluster',
    rationale: 'Settings drift; an automated audit against a defined list, plus enforcement at admission, catches it.',
    severity: 'medium',
    frameworks: { bsi: ['APP.4.4.A13'] },
    checkpoints: ['synth', 'admission', 'live'],
    responsibility: 'cluster-admin',
    automation: 'manual',
    evidence:
      '`hcb audit` runs this catalogue over the synthesized artefacts in CI; Pod Security admission and the ValidatingAdmissionPolicies enforce the workload rules in the cluster.',
    remediation: { text: 'Run `hcb audit` in CI and fail the pipeline on failures and expired exceptions.' },
  },
  {
    id: 'HCB-ORG-DEDICATED-NODES',
    title: 'Nodes have dedicated roles (control plane, workloads, edge, storage)',
    rationale:
      'Keeping application pods off control-plane nodes, and traffic to other networks on dedicated nodes, limits what one compromised node can reach.',
    severity: 'medium',
    frameworks: { bsi: ['APP.4.4.A14', 'APP.4.4.A15'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'cluster-admin',
    automation: 'manual',
    evidence:
      'kubeadm taints control-plane nodes (NoSchedule) and NodeRestriction stops kubelets from relabelling themselves; node pools for edge and storage roles are declared per stack.',
    remediation: { text: 'Keep the control-plane taint; schedule tenants with node selectors on dedicated pools.' },
  },
  {
    id: 'HCB-ORG-OPERATORS',
    title: 'Critical applications use operators for routine tasks',
    rationale:
      'Operators encode routine operational tasks (backup, failover, upgrade) so they run the same way every time.',
    severity: 'info',
    frameworks: { bsi: ['APP.4.4.A16'] },
    checkpoints: ['live'],
    responsibility: 'organisational',
    automation: 'organisational',
    evidence:
      'The blueprint is itself applied by Pulumi programs rather than by hand; application operators are the application team’s choice.',
    remediation: { text: 'Adopt operators for stateful critical applications.' },
  },
  {
    id: 'HCB-ORG-NODE-ATTESTATION',
    title: 'Nodes prove their integrity before joining',
    rationale:
      'TPM-based attestation keeps a tampered host from joining the cluster and receiving workloads and secrets.',
    severity: 'low',
    frameworks: { bsi: ['APP.4.4.A17'] },
    checkpoints: ['live'],
    responsibility: 'provider',
    automation: 'organisational',
    evidence:
      'Not provided: nodes join with short-lived kubeadm bootstrap tokens and the Node authorizer and NodeRestriction confine them; TPM attestation needs platform support outside the blueprint.',
    remediation: {
      text: 'Use a platform with measured boot and attestation-gated node join for high protection needs.',
    },
  },
  {
    id: 'HCB-ORG-HIGH-AVAILABILITY',
    title: 'Control plane and applications survive the loss of a site',
    rationale:
      'Spreading the control plane and applications across failure zones keeps the service running when one fails.',
    severity: 'low',
    frameworks: { bsi: ['APP.4.4.A19'] },
    checkpoints: ['live'],
    responsibility: 'organisational',
    automation: 'organisational',
    evidence:
      'The kubeadm-hosts stack accepts several control-plane hosts behind a controlPlaneEndpoint; zone placement of hosts is the operator’s decision.',
    remediation: {
      text: 'Run three or more control-plane nodes in separate failure zones and spread workloads with topology constraints.',
    },
  },
  {
    id: 'HCB-ORG-DISK-ENCRYPTION',
    title: 'Persistent data of the control plane and applications is on encrypted disks',
    rationale:
      'Encryption at rest in the API server covers Secrets only; disks holding etcd and volumes need encryption too.',
    severity: 'medium',
    frameworks: { bsi: ['APP.4.4.A20'] },
    checkpoints: ['live'],
    responsibility: 'provider',
    automation: 'manual',
    evidence:
      'The encryption controls check Secrets encryption in etcd; disk encryption of hosts and storage classes is configured outside the blueprint.',
    remediation: { text: 'Encrypt host disks (etcd data directory) and use encrypted storage classes.' },
  },
  {
    id: 'HCB-ORG-POD-RESTART',
    title: 'Pods are restarted regularly where protection needs are very high',
    rationale: 'Regular restarts from clean images cut short any foothold an attacker gained in a running pod.',
    severity: 'info',
    frameworks: { bsi: ['APP.4.4.A21'] },
    checkpoints: ['live'],
    responsibility: 'organisational',
    automation: 'organisational',
    evidence: 'Not enforced by the blueprint; read-only root filesystems and immutable images make restarts safe.',
    remediation: {
      text: 'Schedule rolling restarts (e.g. a descheduler pod-lifetime policy of 24 hours) for very high protection needs.',
    },
  },
];

export const ORGANISATIONAL_CONTROLS: readonly ReviewedControlRecord[] = controls;
