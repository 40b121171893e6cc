// Re-exports of constructs/admission.
export * from './admission-configuration';
export * from './event-rate-limit';
export * from './pod-security-admission';
export * from './pod-security-exemption';
export * from './catalogue-admission-policies';
