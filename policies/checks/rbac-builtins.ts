/**
 * The roles the API server creates and reconciles itself (RBAC bootstrap policy), by exact name.
 * Names taken from k8s.io/kubernetes v1.36.3 plugin/pkg/auth/authorizer/rbac/bootstrappolicy
 * (policy.go, controller_policy.go, namespace_policy.go). A role is treated as built-in only when
 * its name is in these lists AND it carries the label the API server puts on every bootstrap
 * object (kubernetes.io/bootstrapping: rbac-defaults); a custom role named `system:…` is checked
 * like any other.
 */
export const BOOTSTRAP_CLUSTER_ROLES: ReadonlySet<string> = new Set([
  'admin',
  'cluster-admin',
  'edit',
  'system:aggregate-to-admin',
  'system:aggregate-to-edit',
  'system:aggregate-to-view',
  'system:auth-delegator',
  'system:basic-user',
  'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
  'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
  'system:certificates.k8s.io:kube-apiserver-client-approver',
  'system:certificates.k8s.io:kube-apiserver-client-kubelet-approver',
  'system:certificates.k8s.io:kubelet-serving-approver',
  'system:certificates.k8s.io:legacy-unknown-approver',
  'system:cluster-trust-bundle-discovery',
  'system:controller:attachdetach-controller',
  'system:controller:certificate-controller',
  'system:controller:clusterrole-aggregation-controller',
  'system:controller:cronjob-controller',
  'system:controller:daemon-set-controller',
  'system:controller:deployment-controller',
  'system:controller:device-taint-eviction-controller',
  'system:controller:disruption-controller',
  'system:controller:endpoint-controller',
  'system:controller:endpointslice-controller',
  'system:controller:endpointslicemirroring-controller',
  'system:controller:ephemeral-volume-controller',
  'system:controller:expand-controller',
  'system:controller:generic-garbage-collector',
  'system:controller:horizontal-pod-autoscaler',
  'system:controller:job-controller',
  'system:controller:kube-apiserver-serving-clustertrustbundle-publisher',
  'system:controller:legacy-service-account-token-cleaner',
  'system:controller:namespace-controller',
  'system:controller:node-controller',
  'system:controller:persistent-volume-binder',
  'system:controller:pod-garbage-collector',
  'system:controller:podcertificaterequestcleaner',
  'system:controller:podgroup-protection-controller',
  'system:controller:pv-protection-controller',
  'system:controller:pvc-protection-controller',
  'system:controller:replicaset-controller',
  'system:controller:replication-controller',
  'system:controller:resource-claim-controller',
  'system:controller:resourcepoolstatusrequest-controller',
  'system:controller:resourcequota-controller',
  'system:controller:root-ca-cert-publisher',
  'system:controller:route-controller',
  'system:controller:selinux-warning-controller',
  'system:controller:service-account-controller',
  'system:controller:service-cidrs-controller',
  'system:controller:service-controller',
  'system:controller:statefulset-controller',
  'system:controller:storage-version-garbage-collector',
  'system:controller:storage-version-migrator-controller',
  'system:controller:ttl-after-finished-controller',
  'system:controller:ttl-controller',
  'system:controller:validatingadmissionpolicy-status-controller',
  'system:controller:volumeattributesclass-protection-controller',
  'system:discovery',
  'system:heapster',
  'system:kube-aggregator',
  'system:kube-controller-manager',
  'system:kube-dns',
  'system:kube-scheduler',
  'system:kubelet-api-admin',
  'system:monitoring',
  'system:node',
  'system:node-bootstrapper',
  'system:node-problem-detector',
  'system:node-proxier',
  'system:persistent-volume-provisioner',
  'system:public-info-viewer',
  'system:service-account-issuer-discovery',
  'system:volume-scheduler',
  'view',
]);

/** Namespaced bootstrap Roles: namespace → names. */
export const BOOTSTRAP_ROLES: Readonly<Record<string, ReadonlySet<string>>> = {
  'kube-system': new Set([
    'extension-apiserver-authentication-reader',
    'system:controller:bootstrap-signer',
    'system:controller:cloud-provider',
    'system:controller:token-cleaner',
    'system::leader-locking-kube-controller-manager',
    'system::leader-locking-kube-scheduler',
  ]),
  'kube-public': new Set(['system:controller:bootstrap-signer']),
};

export const BOOTSTRAP_LABEL = 'kubernetes.io/bootstrapping';
export const BOOTSTRAP_LABEL_VALUE = 'rbac-defaults';

/**
 * Built-in ClusterRoles whose bootstrap rules grant no write verb and no Secret read
 * (rbac-rules.ts dangerousGrants on the API server's own policy): binding them to broad groups is
 * harmless, and the API server itself binds system:discovery, system:basic-user and
 * system:public-info-viewer to system:authenticated (and the latter to system:unauthenticated).
 * `view` is aggregated from system:aggregate-to-view, which is in this list; roles of the input
 * labelled for aggregation into it are resolved on top (catalogue/rbac.ts).
 */
export const READ_ONLY_BUILTIN_ROLES: ReadonlySet<string> = new Set([
  'system:aggregate-to-view',
  'system:basic-user',
  'system:certificates.k8s.io:kube-apiserver-client-approver',
  'system:certificates.k8s.io:kube-apiserver-client-kubelet-approver',
  'system:certificates.k8s.io:kubelet-serving-approver',
  'system:certificates.k8s.io:legacy-unknown-approver',
  'system:cluster-trust-bundle-discovery',
  'system:discovery',
  'system:heapster',
  'system:kube-aggregator',
  'system:kube-dns',
  'system:monitoring',
  'system:public-info-viewer',
  'system:service-account-issuer-discovery',
  'view',
]);

/** Namespaced bootstrap Roles (namespace/name) that grant only reads of non-secret data. */
export const READ_ONLY_BUILTIN_NAMESPACED_ROLES: ReadonlySet<string> = new Set([
  'kube-system/extension-apiserver-authentication-reader',
]);

/**
 * The bootstrap ClusterRoles the API server fills by aggregation, and the label (value "true")
 * that selects the roles aggregated into each (policy.go: admin, edit, view).
 */
export const BUILTIN_AGGREGATION_LABELS: Readonly<Record<string, string>> = {
  admin: 'rbac.authorization.k8s.io/aggregate-to-admin',
  edit: 'rbac.authorization.k8s.io/aggregate-to-edit',
  view: 'rbac.authorization.k8s.io/aggregate-to-view',
};

/**
 * For each role check, the bootstrap roles whose own rules (as v1.36.3 ships them) the check
 * flags: a built-in role named here is reported not-applicable for that check, a built-in role
 * not named here that the check flags was changed after bootstrap and fails. ClusterRoles by
 * name, Roles as namespace/name. Found by running the predicates of rbac-rules.ts over the
 * bootstrap policy (testdata/*.yaml next to policy.go), plus the feature-gated controller role
 * that testdata leaves out and controller_policy.go gives list/create/patch on every resource
 * (system:controller:storage-version-migrator-controller).
 */
export const BUILTIN_ROLES_FLAGGED_BY: Readonly<
  Record<
    'wildcards' | 'escalation' | 'secretsRead' | 'persistentVolumeWrite' | 'networkPolicyWrite',
    ReadonlySet<string>
  >
> = {
  wildcards: new Set([
    'cluster-admin',
    'system:controller:disruption-controller',
    'system:controller:generic-garbage-collector',
    'system:controller:horizontal-pod-autoscaler',
    'system:controller:namespace-controller',
    'system:controller:resourcequota-controller',
    'system:controller:storage-version-migrator-controller',
    'system:discovery',
    'system:kube-controller-manager',
    'system:kubelet-api-admin',
    'system:monitoring',
  ]),
  escalation: new Set([
    'cluster-admin',
    'system:aggregate-to-edit',
    'system:controller:clusterrole-aggregation-controller',
  ]),
  secretsRead: new Set([
    'cluster-admin',
    'system:aggregate-to-edit',
    'system:controller:generic-garbage-collector',
    'system:controller:namespace-controller',
    'system:controller:resourcequota-controller',
    'system:controller:storage-version-migrator-controller',
    'system:kube-controller-manager',
    'system:node',
    'kube-system/system:controller:bootstrap-signer',
    'kube-system/system:controller:token-cleaner',
  ]),
  persistentVolumeWrite: new Set([
    'cluster-admin',
    'system:controller:expand-controller',
    'system:controller:generic-garbage-collector',
    'system:controller:namespace-controller',
    'system:controller:persistent-volume-binder',
    'system:controller:pv-protection-controller',
    'system:controller:storage-version-migrator-controller',
    'system:persistent-volume-provisioner',
    'system:volume-scheduler',
  ]),
  networkPolicyWrite: new Set([
    'cluster-admin',
    'system:aggregate-to-edit',
    'system:controller:generic-garbage-collector',
    'system:controller:namespace-controller',
    'system:controller:storage-version-migrator-controller',
  ]),
};

/** Groups and users that stand for everyone, every service account, or nobody in particular. */
export function isBroadSubject(kind: string | undefined, name: string | undefined): boolean {
  if (name === undefined) return false;
  if (kind === 'Group') {
    return (
      name === 'system:authenticated' ||
      name === 'system:unauthenticated' ||
      name === 'system:anonymous' ||
      name === 'system:serviceaccounts' ||
      name.startsWith('system:serviceaccounts:')
    );
  }
  if (kind === 'User') return name === 'system:anonymous';
  return false;
}
