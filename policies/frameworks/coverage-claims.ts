/**
 * How much of a BSI, CCN or SCS requirement each automated control really checks.
 *
 * A control that names a requirement is not evidence that the requirement is met: a check of
 * one setting can be one small part of what the requirement asks. Every (automated control,
 * requirement) mapping of these three frameworks has a claim here, reviewed against the
 * requirement's text (../shared/requirements):
 *
 * - `full`: a pass of this control is evidence that the requirement, as written, is met for
 *   what a configuration can show. `together` names the other controls it needs for that: the
 *   claim counts only while each of them is in the catalogue, automated, and maps the same
 *   requirement (e.g. CCN-CL-08 names four files; each file's control checks one of them).
 * - `partial`: the control checks a part or a precondition; `reason` says what is left out.
 *
 * Coverage figures (policies/coverage.ts, `hcb controls`, docs/coverage.md) count a
 * requirement as automated only when a full claim holds. A mapping without a claim counts as
 * partial ("not reviewed") and test/unit/policies/catalogue.test.ts fails until one is added.
 *
 * STIG and CIS mappings are not graded here: each of their rules names one setting and the
 * catalogue maps a rule only to the control that checks that setting. Manual and
 * organisational mappings are answered by people and not graded either.
 *
 * Claims live here rather than in the catalogue so that the check code and the judgement of
 * how much it covers can be reviewed apart. Keyed by control id, then framework, then
 * requirement id.
 */
import { Framework } from '../model';

export type ClaimedFramework = 'bsi' | 'ccn' | 'scs';
export const CLAIMED_FRAMEWORKS: readonly ClaimedFramework[] = ['bsi', 'ccn', 'scs'];

export interface CoverageClaim {
  coverage: 'full' | 'partial';
  /** One line: for `partial`, what the control leaves out; for `full`, why it is enough. */
  reason: string;
  /** For `full`: the other controls the claim holds together with (each maps the same requirement). */
  together?: readonly string[];
}

type ClaimTable = Record<string, Partial<Record<ClaimedFramework, Record<string, CoverageClaim>>>>;
const table: ClaimTable = {};

function put(control: string, framework: ClaimedFramework, id: string, claim: CoverageClaim): void {
  const byFramework = (table[control] ??= {});
  const byId = (byFramework[framework] ??= {});
  if (byId[id] !== undefined) throw new Error(`coverage claim for ${control} ${framework}:${id} given twice`);
  byId[id] = claim;
}

/** The control alone checks the requirement. */
function full(framework: ClaimedFramework, id: string, control: string, reason: string): void {
  put(control, framework, id, { coverage: 'full', reason });
}

/** The controls together check the requirement; each alone checks a part of it. */
function jointly(framework: ClaimedFramework, id: string, controls: readonly string[], reason: string): void {
  for (const c of controls)
    put(c, framework, id, { coverage: 'full', reason, together: controls.filter((o) => o !== c) });
}

/** The control checks a part of the requirement. */
function partial(framework: ClaimedFramework, id: string, claims: Record<string, string>): void {
  for (const [control, reason] of Object.entries(claims)) put(control, framework, id, { coverage: 'partial', reason });
}

// ---------------------------------------------------------------------------------------------
// BSI IT-Grundschutz APP.4.4. Its requirements are plans, processes and properties of whole
// environments; no automated control checks one of them completely.
// ---------------------------------------------------------------------------------------------

partial('bsi', 'APP.4.4.A1', {
  'HCB-NAMESPACE-LIMIT-RANGE':
    'Container defaults for CPU and memory; the separation plan (namespaces, clusters, networks, storage) is organisational.',
  'HCB-NAMESPACE-NO-DEFAULT-OBJECTS':
    'Keeps applications out of the shared namespaces; does not check one namespace per application or the plan.',
  'HCB-NAMESPACE-RESOURCE-QUOTA':
    'Caps what a namespace may take (CPU/storage separation); the plan and network separation are not checked.',
  'HCB-WORKLOAD-RESOURCE-LIMITS':
    'CPU and memory limits per container; persistent storage and network separation are not checked.',
  'HCB-WORKLOAD-EPHEMERAL-STORAGE':
    'Node-local (ephemeral) storage per container is bounded; persistent storage, CPU and network separation are not checked.',
  'HCB-WORKLOAD-USER-NAMESPACE':
    'Pods run outside default and system namespaces; not that each application has its own namespace.',
});

partial('bsi', 'APP.4.4.A2', {
  'HCB-WORKLOAD-SECRETS-IN-ENV':
    'How Secrets reach containers is one detail of the CI/CD plan the requirement asks for; the plan itself is organisational.',
});

partial('bsi', 'APP.4.4.A3', {
  'HCB-APISERVER-ANONYMOUS-AUTH':
    'API server authentication only; least privilege of users and who may define automation are not checked.',
  'HCB-APISERVER-AUTHORIZATION-MODE':
    'The API server authorizes every request; whether the granted rights are minimal is not checked.',
  'HCB-APISERVER-BASIC-AUTH-FILE': 'Removes one weak authenticator; authorization and least privilege are other parts.',
  'HCB-APISERVER-NODE-RESTRICTION':
    'Limits what kubelets may change; one aspect of least privilege for software identities.',
  'HCB-APISERVER-PROFILING': 'Closes one unneeded endpoint; not authentication or authorization of actions in general.',
  'HCB-APISERVER-STATIC-TOKEN-FILE':
    'Removes one weak authenticator; authorization and least privilege are other parts.',
  'HCB-AUDIT-POLICY-RBAC-CHANGES': 'Records changes to rights; does not check that the rights are minimal.',
  'HCB-KUBELET-ANONYMOUS-AUTH': 'Kubelet authentication only; the API server and the rights granted are other parts.',
  'HCB-KUBELET-AUTHORIZATION-MODE':
    'Kubelet authorization only; the API server and the rights granted are other parts.',
  'HCB-KUBELET-WEBHOOK-AUTHN':
    'Kubelet token authentication only; other components and least privilege are other parts.',
  'HCB-RBAC-BROAD-GROUP-BINDINGS':
    'Catches rights granted to everyone; minimal rights for named users cannot be read from configuration.',
  'HCB-RBAC-CLUSTER-ADMIN-BINDINGS':
    'Restricts unrestricted rights (the requirement\'s "very restrictively"); other grants are not judged minimal.',
  'HCB-RBAC-NO-ESCALATION-VERBS':
    'Catches rights that lead to more rights; minimal rights overall cannot be read from configuration.',
  'HCB-RBAC-NO-WILDCARDS': 'Catches unrestricted rules; explicitly listed rights can still exceed what a user needs.',
  'HCB-RBAC-PERSISTENT-VOLUMES':
    "The requirement's Persistent Volume sentence only; who may define automation processes is not checked.",
  'HCB-RBAC-SECRETS-READ': 'One kind of sensitive right; least privilege overall cannot be read from configuration.',
});

const A4_USERS = 'the user-ID separation A4 names (user namespaces, hostUsers: false) is not checked';
partial('bsi', 'APP.4.4.A4', {
  'HCB-ADMISSION-POD-SECURITY-DEFAULTS': `Pod Security admission enforces a level by default; ${A4_USERS}.`,
  'HCB-KUBELET-SECCOMP-DEFAULT': `Kernel attack surface (seccomp) on every container; ${A4_USERS}.`,
  'HCB-NAMESPACE-POD-SECURITY-LABELS': `Pod Security level per namespace; ${A4_USERS}.`,
  'HCB-WORKLOAD-CAPABILITIES': `Capabilities only; ${A4_USERS}.`,
  'HCB-WORKLOAD-HOST-NAMESPACES': `PID, IPC and network (with hostname) namespaces; ${A4_USERS}.`,
  'HCB-WORKLOAD-HOST-PATH': `Filesystem separation from the host; ${A4_USERS}.`,
  'HCB-WORKLOAD-PRIVILEGE-ESCALATION': `Privilege escalation only; ${A4_USERS}.`,
  'HCB-WORKLOAD-PRIVILEGED': `Privileged mode, which lifts every separation; ${A4_USERS}.`,
  'HCB-WORKLOAD-READ-ONLY-ROOT-FS': `Container filesystem writes only; ${A4_USERS}.`,
  'HCB-WORKLOAD-RESOURCE-LIMITS': `Resource usage (cgroups) only; ${A4_USERS}.`,
  'HCB-WORKLOAD-EPHEMERAL-STORAGE': `Disk usage on the node only; ${A4_USERS}.`,
  'HCB-WORKLOAD-RUN-AS-NON-ROOT': `Non-root user inside the container, not a separate user namespace; ${A4_USERS}.`,
  'HCB-WORKLOAD-SECCOMP': `Seccomp profile per container; ${A4_USERS}.`,
});

const A5_SCOPE =
  'Persistent Volumes, cluster objects beyond etcd, infrastructure applications and registries are outside the backup checked';
partial('bsi', 'APP.4.4.A5', {
  'HCB-BACKUP-CONFIGURED': `etcd, PKI and encryption configuration are backed up; ${A5_SCOPE}.`,
  'HCB-BACKUP-ENCRYPTED': `Protection of the backup, not its scope; ${A5_SCOPE}.`,
  'HCB-BACKUP-RECENT': `Age of the newest etcd backup; ${A5_SCOPE}.`,
});

partial('bsi', 'APP.4.4.A7', {
  'HCB-KUBE-PROXY-METRICS-LOOPBACK':
    "kube-proxy's unauthenticated metrics endpoint stays off the network; the other node and component ports and the separation of networks are not checked.",
  'HCB-NAMESPACE-DEFAULT-DENY-EGRESS':
    'Outgoing traffic denied by default; separation of administration, control-plane and application networks is not checked.',
  'HCB-NAMESPACE-DEFAULT-DENY-INGRESS':
    'Incoming traffic denied by default; separation of administration, control-plane and application networks is not checked.',
  'HCB-RBAC-NETWORK-POLICY-WRITE':
    'Who may change network rules; management of the CNI itself and the network separation are not checked.',
  'HCB-WORKLOAD-HOST-PORTS': "No pod port on the node's network; which ports reach which network is not checked.",
  'HCB-WORKLOAD-PRIVILEGED-HOST-PORTS': 'No privileged host port; which ports reach which network is not checked.',
});

partial('bsi', 'APP.4.4.A8', {
  'HCB-NODEFILE-BLUEPRINT-CONFIGS':
    "File rights of the control plane's configuration; versioning, annotation and the configuration management software are organisational.",
  'HCB-NODEFILE-KUBELET-CONFIG':
    'File rights of the kubelet configuration; versioning, annotation and the configuration management software are organisational.',
  'HCB-NODEFILE-STATIC-POD-MANIFESTS':
    'File rights of the static pod manifests; versioning, annotation and the configuration management software are organisational.',
});

partial('bsi', 'APP.4.4.A9', {
  'HCB-CONTROLLER-MANAGER-SA-CREDENTIALS':
    'Control-plane controllers get their own accounts; application pods and token handling are other parts.',
  'HCB-CONTROLLER-MANAGER-SA-KEY':
    'Tokens are signed with a dedicated key; which pods use which accounts is not checked.',
  'HCB-NAMESPACE-DEFAULT-SA-LOCKED':
    'The default account mounts no token; rights of the accounts pods use are not judged.',
  'HCB-RBAC-DEFAULT-SA-UNBOUND':
    "The default account holds no rights; whether other accounts' rights are minimal is not checked.",
  'HCB-WORKLOAD-DEDICATED-SERVICE-ACCOUNT':
    'Pods avoid the default account; one account per application and minimal rights are not checked.',
  'HCB-WORKLOAD-SA-TOKEN-AUTOMOUNT':
    'Pods without need get no token; whether a pod needs one and own tokens per automation program are not checked.',
});

partial('bsi', 'APP.4.4.A11', {
  'HCB-WORKLOAD-PROBES':
    "Checks that liveness and readiness probes exist, not that they test the software's function or that their periods fit the service.",
});

partial('bsi', 'APP.4.4.A12', {
  'HCB-APISERVER-AUDIT-POLICY-FILE':
    'Logs changes made through the Kubernetes API; the infrastructure applications (registry, automation, storage) and their accounts, TLS and backups are not checked.',
  'HCB-AUDIT-POLICY-COVERAGE':
    'Logs changes made through the Kubernetes API; the infrastructure applications (registry, automation, storage) and their accounts, TLS and backups are not checked.',
});

partial('bsi', 'APP.4.4.A13', {
  'HCB-ADMISSION-POD-SECURITY-DEFAULTS':
    'One enforcing tool connected to the cluster; the regular audit of nodes and pods against a benchmark is the manual control.',
  'HCB-APISERVER-NO-ALWAYS-ADMIT': 'A precondition for enforcement by admission; the audit itself is not checked.',
  'HCB-APISERVER-VALIDATING-WEBHOOK':
    'A precondition for connecting enforcement tools; the audit itself is not checked.',
});

partial('bsi', 'APP.4.4.A14', {
  'HCB-APISERVER-NODE-RESTRICTION':
    'Keeps a kubelet from relabelling other nodes (a precondition for dedicated nodes); which pods run on which nodes is not checked.',
});

partial('bsi', 'APP.4.4.A18', {
  'HCB-NAMESPACE-DEFAULT-DENY-INGRESS':
    'Incoming traffic inside a namespace is denied by default; precise sources, targets and ports of the allow rules are not checked.',
  'HCB-RBAC-NETWORK-POLICY-WRITE':
    'Who may change network rules; who may change the labels the rules select is not checked.',
});

const A20_DISKS = 'encryption of the filesystems holding etcd and application data is not visible in the configuration';
partial('bsi', 'APP.4.4.A20', {
  'HCB-APISERVER-ENCRYPTION-CONFIG': `Encrypts chosen resources inside etcd; ${A20_DISKS}.`,
  'HCB-ENCRYPTION-SECRETS-PROVIDER': `Encrypts Secrets inside etcd; ${A20_DISKS}.`,
  'HCB-NODEFILE-ETCD-DATA': `File rights on the etcd data, not encryption; ${A20_DISKS}.`,
});

// ---------------------------------------------------------------------------------------------
// CCN-STIC, checklist of section 4, read with the tables of section 3 that give its settings.
// ---------------------------------------------------------------------------------------------

partial('ccn', 'CCN-CL-02', {
  'HCB-WORKLOAD-SINGLE-IMAGE-VERSION':
    'Checks that superseded images are removed, not that the Kubernetes version is supported and patched.',
});

const CL03 =
  "certificate setting of one connection; etcd --trusted-ca-file (table 1) and the kubelet's connection to the API server are not checked";
partial('ccn', 'CCN-CL-03', {
  'HCB-APISERVER-ETCD-TLS': `API server to etcd: ${CL03}.`,
  'HCB-APISERVER-KUBELET-CA': `API server to kubelet (server verified): ${CL03}.`,
  'HCB-APISERVER-KUBELET-CLIENT-CERT': `API server to kubelet (client certificate): ${CL03}.`,
  'HCB-APISERVER-SERVING-CERT': `API server serving: ${CL03}.`,
  'HCB-ETCD-AUTO-TLS': `etcd without self-signed certificates: ${CL03}.`,
  'HCB-ETCD-CLIENT-CERT-AUTH': `etcd client certificates required: ${CL03}.`,
  'HCB-ETCD-PEER-AUTO-TLS': `etcd peers without self-signed certificates: ${CL03}.`,
  'HCB-ETCD-PEER-CLIENT-CERT-AUTH': `etcd peer certificates required: ${CL03}.`,
  'HCB-ETCD-PEER-TLS': `etcd peer TLS: ${CL03}.`,
  'HCB-ETCD-SERVER-TLS': `etcd serving: ${CL03}.`,
  'HCB-KUBELET-CERT-ROTATION': `Kubelet certificate rotation: ${CL03}.`,
  'HCB-KUBELET-SERVING-CERT': `Kubelet serving: ${CL03}.`,
});

jointly(
  'ccn',
  'CCN-CL-04',
  ['HCB-APISERVER-TLS-MIN-VERSION', 'HCB-CONTROLLER-MANAGER-TLS', 'HCB-KUBELET-TLS', 'HCB-SCHEDULER-TLS'],
  'TLS 1.2 or newer on every Kubernetes TLS server; etcd accepts only TLS1.2 or TLS1.3 for --tls-min-version (etcd tlsutil.GetTLSVersion).',
);
partial('ccn', 'CCN-CL-04', {
  'HCB-APISERVER-TLS-CIPHER-SUITES': 'Cipher suites of the API server, not the protocol versions the item asks for.',
});

const TABLE3 = 'CNI configuration files and the etcd database of table 3 are not checked';
partial('ccn', 'CCN-CL-05', {
  'HCB-NODEFILE-BLUEPRINT-CONFIGS': `The blueprint's own configuration files; ${TABLE3}.`,
  'HCB-NODEFILE-CONTROL-PLANE-KUBECONFIGS': `admin.conf, scheduler.conf, controller-manager.conf; ${TABLE3}.`,
  'HCB-NODEFILE-STATIC-POD-MANIFESTS': `The static pod manifests; ${TABLE3}.`,
});
partial('ccn', 'CCN-CL-12', {
  'HCB-NODEFILE-BLUEPRINT-CONFIGS': `The blueprint's own configuration files; ${TABLE3}.`,
  'HCB-NODEFILE-CONTROL-PLANE-KUBECONFIGS': `admin.conf, scheduler.conf, controller-manager.conf; ${TABLE3}.`,
  'HCB-NODEFILE-STATIC-POD-MANIFESTS': `The static pod manifests; ${TABLE3}.`,
});

partial('ccn', 'CCN-CL-06', {
  'HCB-NODEFILE-PKI-OWNER':
    "Files under /etc/kubernetes/pki; the kubelet's own certificates and keys (/var/lib/kubelet/pki) are not checked.",
  'HCB-NODEFILE-KUBELET-CLIENT-CA':
    "The kubelet's client CA file; the kubelet's own certificates and keys (/var/lib/kubelet/pki) are not checked.",
});

partial('ccn', 'CCN-CL-07', {
  'HCB-NODEFILE-CONTROL-PLANE-KUBECONFIGS': 'Kubeconfigs that embed keys; certificate and key files are other parts.',
  'HCB-NODEFILE-PKI-CCN-MODES':
    "Table 3's 640 for .crt and 400 for .key files (root:root) under the PKI directories; the kubelet's own certificate and key (.pem under /var/lib/kubelet/pki) and who holds root are not checked.",
});

const TABLE5 =
  'File owner root:root and mode 644 or stricter for the worker files of table 5 and the kubelet configuration';
jointly(
  'ccn',
  'CCN-CL-08',
  [
    'HCB-NODEFILE-KUBE-PROXY-KUBECONFIG',
    'HCB-NODEFILE-KUBEADM-DROPIN',
    'HCB-NODEFILE-KUBELET-CONFIG',
    'HCB-NODEFILE-KUBELET-KUBECONFIG',
  ],
  `${TABLE5}.`,
);
jointly(
  'ccn',
  'CCN-CL-13',
  [
    'HCB-NODEFILE-KUBE-PROXY-KUBECONFIG',
    'HCB-NODEFILE-KUBEADM-DROPIN',
    'HCB-NODEFILE-KUBELET-CONFIG',
    'HCB-NODEFILE-KUBELET-KUBECONFIG',
  ],
  `${TABLE5}.`,
);

jointly(
  'ccn',
  'CCN-CL-09',
  ['HCB-APISERVER-ANONYMOUS-AUTH', 'HCB-KUBELET-ANONYMOUS-AUTH'],
  'Anonymous requests are refused by the API server (table 8) and by every kubelet.',
);

jointly(
  'ccn',
  'CCN-CL-10',
  ['HCB-APISERVER-AUDIT-POLICY-FILE', 'HCB-APISERVER-AUDIT-LOG-DESTINATION'],
  'Audit logging is on: a policy file and a log path or webhook (table 12).',
);
partial('ccn', 'CCN-CL-10', {
  'HCB-AUDIT-POLICY-COVERAGE':
    'What the policy records; that audit logging is switched on is checked by the policy-file and destination controls.',
});

jointly(
  'ccn',
  'CCN-CL-11',
  ['HCB-APISERVER-AUTHORIZATION-MODE', 'HCB-WORKLOAD-USER-NAMESPACE'],
  'RBAC authorizes requests and workloads run in namespaces of their own.',
);
partial('ccn', 'CCN-CL-11', {
  'HCB-NAMESPACE-DEFAULT-DENY-INGRESS': 'Network policies per namespace go beyond the item; RBAC is not checked here.',
  'HCB-NAMESPACE-NO-DEFAULT-OBJECTS': 'Objects stay out of the shared namespaces; RBAC is not checked here.',
  'HCB-RBAC-NO-WILDCARDS': 'Quality of the roles; that RBAC is the authorizer is checked elsewhere.',
});

jointly(
  'ccn',
  'CCN-CL-14',
  ['HCB-APISERVER-ENCRYPTION-CONFIG', 'HCB-ENCRYPTION-SECRETS-PROVIDER'],
  'The API server loads an encryption configuration (table 6) that encrypts Secrets with a strong provider.',
);

partial('ccn', 'CCN-CL-15', {
  'HCB-RBAC-DEFAULT-SA-UNBOUND':
    "The default account holds no rights; whether other accounts' rights fit their tasks cannot be read from configuration.",
  'HCB-RBAC-SECRETS-READ':
    "One kind of excessive right; whether rights fit each account's task cannot be read from configuration.",
  'HCB-WORKLOAD-DEDICATED-SERVICE-ACCOUNT':
    "Pods use their own accounts; whether those accounts' rights fit their tasks is not checked.",
});

jointly(
  'ccn',
  'CCN-CL-16',
  ['HCB-POD-SECURITY-ADMISSION-ENABLED', 'HCB-ADMISSION-POD-SECURITY-DEFAULTS'],
  'Pod Security admission (the successor of PSP the guide names) is enabled and enforces a level by default.',
);
partial('ccn', 'CCN-CL-16', {
  'HCB-APISERVER-ADMISSION-CONFIG-FILE':
    'The admission configuration is loaded; what it enforces is checked by the Pod Security controls.',
  'HCB-NAMESPACE-POD-SECURITY-LABELS':
    'Per-namespace levels; the cluster-wide default is checked by the Pod Security controls.',
  'HCB-WORKLOAD-CAPABILITIES':
    'One setting a pod security policy governs, checked on the workloads rather than the policy.',
  'HCB-WORKLOAD-HOST-NAMESPACES':
    'One setting a pod security policy governs, checked on the workloads rather than the policy.',
  'HCB-WORKLOAD-PRIVILEGE-ESCALATION':
    'One setting a pod security policy governs, checked on the workloads rather than the policy.',
  'HCB-WORKLOAD-PRIVILEGED':
    'One setting a pod security policy governs, checked on the workloads rather than the policy.',
  'HCB-WORKLOAD-RUN-AS-NON-ROOT':
    'One setting a pod security policy governs, checked on the workloads rather than the policy.',
});

jointly(
  'ccn',
  'CCN-CL-17',
  ['HCB-NAMESPACE-DEFAULT-SA-LOCKED', 'HCB-WORKLOAD-SA-TOKEN-AUTOMOUNT'],
  'Default accounts and pods without need get no automatic token (tables 7 and 11).',
);

jointly(
  'ccn',
  'CCN-CL-18',
  ['HCB-AUDIT-POLICY-COVERAGE', 'HCB-AUDIT-POLICY-SENSITIVE-METADATA'],
  'The policy records every change at a level that shows it and keeps Secrets at Metadata, as section 3.3.5 describes.',
);
partial('ccn', 'CCN-CL-18', {
  'HCB-AUDIT-POLICY-OMIT-REQUEST-RECEIVED': 'One stage setting of the example policy, not the levels per event.',
  'HCB-AUDIT-POLICY-RBAC-CHANGES': 'The level for RBAC changes only.',
});

jointly(
  'ccn',
  'CCN-CL-19',
  ['HCB-APISERVER-AUDIT-LOG-MAXAGE', 'HCB-APISERVER-AUDIT-LOG-MAXBACKUP', 'HCB-APISERVER-AUDIT-LOG-MAXSIZE'],
  'Rotation and retention of the audit log as table 12 lists them.',
);
partial('ccn', 'CCN-CL-19', {
  'HCB-AUDIT-POLICY-OMIT-REQUEST-RECEIVED':
    'Reduces the log volume; the storage policy is the rotation and retention settings.',
});

const SECCOMP_LOG =
  'seccomp filtering is on, but no check asks for a profile that logs kernel calls (SCMP_ACT_LOG), which is what the item asks';
partial('ccn', 'CCN-CL-20', {
  'HCB-KUBELET-SECCOMP-DEFAULT': `SeccompDefault (table 14); ${SECCOMP_LOG}.`,
  'HCB-WORKLOAD-SECCOMP': `Seccomp profile per container; ${SECCOMP_LOG}.`,
});

full(
  'ccn',
  'CCN-CL-22',
  'HCB-NAMESPACE-RESOURCE-QUOTA',
  'Every namespace has a ResourceQuota with hard limits (section 3.1.5).',
);
partial('ccn', 'CCN-CL-22', {
  'HCB-NAMESPACE-LIMIT-RANGE': 'Defaults per container; the quota is the segmentation the item asks for.',
  'HCB-WORKLOAD-RESOURCE-LIMITS': 'Limits per container; the quota is the segmentation the item asks for.',
  'HCB-WORKLOAD-EPHEMERAL-STORAGE':
    'Ephemeral-storage figures per container; the quota is the segmentation the item asks for.',
});

full(
  'ccn',
  'CCN-CL-23',
  'HCB-WORKLOAD-READ-ONLY-ROOT-FS',
  'readOnlyRootFilesystem: true on every container (section 3.2.3, table 9).',
);

// ---------------------------------------------------------------------------------------------
// SCS Kubernetes cluster baseline security, Decision section.
// ---------------------------------------------------------------------------------------------

full(
  'scs',
  'SCS-BASE-CA',
  'HCB-CLUSTER-CA-SELF-CONTROLLED',
  'The controller manager signs certificates with a CA the operator holds (--cluster-signing-cert-file/--cluster-signing-key-file).',
);
partial('scs', 'SCS-BASE-CA', {
  'HCB-APISERVER-CLIENT-CA': 'Trust in a client CA; whether the operator controls that CA is the signing check.',
  'HCB-APISERVER-KUBELET-CA': 'Trust in the kubelet CA; whether the operator controls it is the signing check.',
  'HCB-APISERVER-SERVING-CERT': 'A serving certificate exists; who issued it is not checked.',
  'HCB-CONTROLLER-MANAGER-ROOT-CA': 'Publishes the CA to pods; whether the operator controls it is the signing check.',
  'HCB-ETCD-AUTO-TLS': 'No self-signed etcd certificates; the CA that issues them is not checked.',
  'HCB-ETCD-PEER-AUTO-TLS': 'No self-signed etcd peer certificates; the CA that issues them is not checked.',
  'HCB-KUBELET-CERT-ROTATION': 'Certificates are renewed; the CA that signs them is the signing check.',
  'HCB-KUBELET-CLIENT-CA': 'Trust in a client CA; whether the operator controls it is the signing check.',
  'HCB-KUBELET-SERVING-CERT': 'A verifiable serving certificate; the CA that issues it is not checked.',
  'HCB-NODEFILE-PKI-KEY-MODE': "Protects the CA key on disk; not whether the CA is the operator's.",
  'HCB-NODEFILE-PKI-OWNER': "Protects the PKI files on disk; not whether the CA is the operator's.",
});

jointly(
  'scs',
  'SCS-BASE-TLS',
  [
    'HCB-APISERVER-SECURE-PORT',
    'HCB-APISERVER-INSECURE-PORT',
    'HCB-ETCD-SERVER-TLS',
    'HCB-ETCD-PEER-TLS',
    'HCB-KUBELET-SERVING-CERT',
    'HCB-KUBELET-READ-ONLY-PORT',
    'HCB-SCHEDULER-TLS',
    'HCB-CONTROLLER-MANAGER-TLS',
  ],
  "Every endpoint of the standard's table serves TLS: API server, etcd client and peer, kubelet, read-only kubelet port closed; scheduler and controller manager have no plain port in current Kubernetes.",
);
partial('scs', 'SCS-BASE-TLS', {
  'HCB-APISERVER-ETCD-TLS': "The API server's client side to etcd; the endpoints are checked by the serving controls.",
  'HCB-APISERVER-KUBELET-CA': 'The API server verifies kubelets; the endpoints are checked by the serving controls.',
  'HCB-APISERVER-KUBELET-CLIENT-CERT':
    'Client certificate towards kubelets; the endpoints are checked by the serving controls.',
  'HCB-APISERVER-SERVING-CERT': "The API server's certificate; its port is checked by the secure-port controls.",
  'HCB-APISERVER-TLS-CIPHER-SUITES': "Strength of the API server's TLS, not which endpoints use TLS.",
  'HCB-APISERVER-TLS-MIN-VERSION': "Strength of the API server's TLS, not which endpoints use TLS.",
  'HCB-ETCD-CLIENT-CERT-AUTH': 'Client authentication on etcd; its TLS endpoint is the serving control.',
  'HCB-ETCD-PEER-CLIENT-CERT-AUTH': 'Peer authentication on etcd; its TLS endpoint is the peer control.',
  'HCB-KUBELET-TLS': "Strength of the kubelet's TLS, not which endpoints use TLS.",
});

full(
  'scs',
  'SCS-BASE-API-AUTHN',
  'HCB-APISERVER-ANONYMOUS-AUTH',
  'With anonymous requests refused every API request must authenticate; the standard leaves the method to the provider.',
);
partial('scs', 'SCS-BASE-API-AUTHN', {
  'HCB-APISERVER-BASIC-AUTH-FILE':
    'Removes one weak authenticator; that every request authenticates is the anonymous-auth control.',
  'HCB-APISERVER-CLIENT-CA':
    'One authentication method; that every request authenticates is the anonymous-auth control.',
  'HCB-APISERVER-STATIC-TOKEN-FILE':
    'Removes one weak authenticator; that every request authenticates is the anonymous-auth control.',
});

jointly(
  'scs',
  'SCS-BASE-API-RBAC',
  [
    'HCB-APISERVER-AUTHORIZATION-MODE',
    'HCB-RBAC-NO-WILDCARDS',
    'HCB-RBAC-NO-ESCALATION-VERBS',
    'HCB-RBAC-CLUSTER-ADMIN-BINDINGS',
    'HCB-RBAC-BROAD-GROUP-BINDINGS',
  ],
  'RBAC authorizes; roles name what they grant, grant no way to more rights, and no full or write access goes to everyone.',
);

jointly(
  'scs',
  'SCS-BASE-KUBELET-AUTHN',
  ['HCB-KUBELET-ANONYMOUS-AUTH', 'HCB-KUBELET-READ-ONLY-PORT'],
  'The kubelet refuses anonymous requests and has no unauthenticated read-only port.',
);
partial('scs', 'SCS-BASE-KUBELET-AUTHN', {
  'HCB-KUBELET-CLIENT-CA':
    'One of the two authentication methods the standard names; anonymous access is the other controls.',
  'HCB-KUBELET-WEBHOOK-AUTHN':
    'One of the two authentication methods the standard names; anonymous access is the other controls.',
});

full(
  'scs',
  'SCS-BASE-KUBELET-AUTHZ',
  'HCB-KUBELET-AUTHORIZATION-MODE',
  'Kubelet authorization mode Webhook (SubjectAccessReview), as the standard asks.',
);

/** Every claim, keyed by control id, then framework, then requirement id. */
export const COVERAGE_CLAIMS: Readonly<
  Record<string, Partial<Record<ClaimedFramework, Readonly<Record<string, CoverageClaim>>>>>
> = table;

export function isClaimedFramework(f: Framework): f is ClaimedFramework {
  return (CLAIMED_FRAMEWORKS as readonly string[]).includes(f);
}

/** The claim of one mapping, or undefined when none is recorded (or the framework is not graded). */
export function claimOf(control: string, framework: Framework, id: string): CoverageClaim | undefined {
  if (!isClaimedFramework(framework)) return undefined;
  return COVERAGE_CLAIMS[control]?.[framework]?.[id];
}
