// Public part of constructs/tenant (re-exported by constructs/index.ts). Validation and
// rendering helpers stay internal: code of this package imports them by file path.
export { HardenedNamespace, type HardenedNamespaceProps } from './hardened-namespace';
export { type ContainerLimitDefaults, NamespaceLimitRange, type NamespaceLimitRangeProps } from './limit-range';
export { NAMESPACE_SIZES, type NamespaceSize } from './namespace-size';
export { type NamespacePodSecurityLevel, type PodSecurityException } from './pod-security';
export {
  APP_LABEL,
  ENVIRONMENT_LABEL,
  PROTECTION_NEEDS,
  PROTECTION_NEED_LABEL,
  type ProtectionNeed,
  TEAM_LABEL,
} from './protection-need';
export { CONSTRUCT_PATH_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './provenance';
export { NamespaceResourceQuota, type NamespaceResourceQuotaProps, type ResourceQuotaLimits } from './resource-quota';
export { Tenant, type TenantAccess, type TenantAutomation, type TenantEnvironment, type TenantProps } from './tenant';
