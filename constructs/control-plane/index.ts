// Public part of constructs/control-plane (re-exported by constructs/index.ts): the control plane,
// its props, and the configuration constructs it exposes as members. Node paths, plugin lists,
// validation and rendering helpers stay internal: code of this package imports them by file path.
export { type AuditLogProps, type AuditLogSettings } from './audit-log';
export {
  type AuditGroupResources,
  type AuditLevel,
  AuditPolicy,
  type AuditPolicyProps,
  type AuditRule,
  type AuditStage,
} from './audit-policy';
export { AuthenticationConfiguration, type AuthenticationConfigurationProps } from './authentication-configuration';
export { BackupConfiguration, type BackupConfigurationProps } from './backup-configuration';
export { HostBackupSchedule, type HostBackupScheduleProps } from './host-backup-schedule';
export {
  type AnonymousAuthMode,
  type ApiServerHardeningProps,
  type ControllerManagerHardeningProps,
  type EtcdHardeningProps,
  type ExtraArg,
  type ExtraVolume,
  KubeadmClusterConfiguration,
  type PkiKeyAlgorithm,
  type PkiProps,
  type SchedulerHardeningProps,
} from './cluster-configuration';
export { EgressSelectorConfiguration, type EgressSelectorConfigurationProps } from './egress-selector-configuration';
export {
  EncryptionConfiguration,
  type EncryptionConfigurationProps,
  type EncryptionProviderType,
  type KmsV2Provider,
} from './encryption-configuration';
export {
  type ControlPlaneAdmissionProps,
  type ControlPlaneAuditProps,
  type ControlPlaneFileModeProps,
  HardenedControlPlane,
  type HardenedControlPlaneProps,
} from './hardened-control-plane';
export { KubeadmInitConfiguration } from './init-configuration';
export { KubeadmJoinConfiguration, type KubeadmJoinConfigurationProps } from './join-configuration';
export { KubeadmConfigFile, type KubeadmConfigFileProps } from './kubeadm-config-file';
export { KubeProxyConfiguration, type KubeProxyHardeningProps } from './kube-proxy-configuration';
export { KubeletConfiguration, type KubeletHardeningProps } from './kubelet-configuration';
export { NodeFileManifest, type NodeFileManifestProps } from './node-file-manifest';
export { PROTECTION_PROFILES, type ProtectionProfile } from './profile';
export {
  APPROVED_CIPHER_SUITES,
  DEFAULT_CIPHER_SUITES,
  TlsPolicy,
  type TlsPolicyProps,
  type TlsVersion,
} from './tls-policy';
