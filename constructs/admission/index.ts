// Public part of constructs/admission (re-exported by constructs/index.ts). Policy naming and CEL
// targets stay internal: code of this package imports them by file path.
export { AdmissionConfiguration, type AdmissionConfigurationProps } from './admission-configuration';
export { EventRateLimit, type EventRateLimitProps, type EventRateLimitValues } from './event-rate-limit';
export { PodSecurityAdmission, type PodSecurityAdmissionProps, type PodSecurityLevel } from './pod-security-admission';
export { type ExemptionRecord, PodSecurityExemption, type PodSecurityExemptionKind } from './pod-security-exemption';
export {
  ADMISSION_POLICY_CONTROLS,
  type AdmissionPolicyLayout,
  type AdmissionPolicyMode,
  CatalogueAdmissionPolicies,
  type CatalogueAdmissionPoliciesProps,
  type RenderedAdmissionPolicy,
} from './catalogue-admission-policies';
