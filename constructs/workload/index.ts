// Re-exports of constructs/workload.
export { Probe } from 'cdk8s-plus-28';
export * from './hardened-container';
export * from './hardened-workload';
export * from './image-reference';
export * from './max-pod-age';
export * from './placement';
export * from './pod-restart-schedule';
export * from './pod-template-checks';
