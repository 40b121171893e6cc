// Public part of constructs/rbac (re-exported by constructs/index.ts). Rule and subject rendering
// stay internal: code of this package imports them by file path.
export { ACCESS_PRESETS, type AccessPreset, type AccessPresetOptions } from './access-presets';
export { type AccessRule, READ, WRITE } from './access-rule';
export { AutomationIdentity, type AutomationIdentityProps } from './automation-identity';
export {
  DefaultServiceAccountLockdown,
  type DefaultServiceAccountLockdownProps,
  SYSTEM_NAMESPACES,
  SystemServiceAccountLockdown,
  type SystemServiceAccountLockdownProps,
} from './default-service-account';
export { NamespaceAccess, type NamespaceAccessProps } from './namespace-access';
export { PLATFORM_ROLES, PlatformAccess, type PlatformAccessProps, type PlatformRole } from './platform-access';
export { type ServiceAccountRef, Subject } from './subject';
export { WorkloadIdentity, type WorkloadIdentityProps } from './workload-identity';
