/**
 * Admission plugin names kube-apiserver 1.36 knows (from its --enable-admission-plugins help),
 * and the ones the blueprint always enables and never lets anyone disable.
 */
export const KNOWN_ADMISSION_PLUGINS: readonly string[] = [
  'AlwaysAdmit',
  'AlwaysDeny',
  'AlwaysPullImages',
  'CertificateApproval',
  'CertificateSigning',
  'CertificateSubjectRestriction',
  'ClusterTrustBundleAttest',
  'DefaultIngressClass',
  'DefaultStorageClass',
  'DefaultTolerationSeconds',
  'DenyServiceExternalIPs',
  'EventRateLimit',
  'ExtendedResourceToleration',
  'ImagePolicyWebhook',
  'JobValidation',
  'LimitPodHardAntiAffinityTopology',
  'LimitRanger',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionWebhook',
  'NamespaceAutoProvision',
  'NamespaceExists',
  'NamespaceLifecycle',
  'NodeDeclaredFeatureValidator',
  'NodeRestriction',
  'OwnerReferencesPermissionEnforcement',
  'PersistentVolumeClaimResize',
  'PodGroupProtection',
  'PodGroupWorkloadExists',
  'PodNodeSelector',
  'PodResizeValidator',
  'PodSecurity',
  'PodTolerationRestriction',
  'PodTopologyLabels',
  'Priority',
  'ResourceQuota',
  'RuntimeClass',
  'ServiceAccount',
  'StorageObjectInUseProtection',
  'TaintNodesByCondition',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionWebhook',
];

/**
 * Always enabled: NodeRestriction (kubelets only touch their own node and pods), PodSecurity,
 * ServiceAccount, NamespaceLifecycle, ValidatingAdmissionWebhook (STIG V-242436) and
 * ValidatingAdmissionPolicy (the catalogue's admission-time enforcement). Listing the
 * default-on ones explicitly makes the flag self-describing for auditors.
 */
export const REQUIRED_ADMISSION_PLUGINS: readonly string[] = [
  'NamespaceLifecycle',
  'NodeRestriction',
  'PodSecurity',
  'ServiceAccount',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionWebhook',
];

/** Plugins that defeat admission control altogether. */
export const FORBIDDEN_ADMISSION_PLUGINS: readonly string[] = ['AlwaysAdmit'];
