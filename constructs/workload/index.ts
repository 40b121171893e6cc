// Public part of constructs/workload (re-exported by constructs/index.ts). Container conversion,
// placement rendering, image/age validation and the synth-time pod checks stay internal: code of
// this package imports them by file path.
export { Probe } from 'cdk8s-plus-28';
export {
  type ClaimMount,
  type ConfigMapMount,
  type ContainerPortSpec,
  type ContainerResources,
  DEFAULT_EPHEMERAL_STORAGE_LIMIT,
  DEFAULT_EPHEMERAL_STORAGE_REQUEST,
  type EnvValueInput,
  type HardenedContainerBaseProps,
  type HardenedContainerProps,
  type HardenedInitContainerProps,
  SECRET_DEFAULT_MODE,
  type SecretMount,
  type TemplateMount,
} from './hardened-container';
export {
  HardenedWorkload,
  type HardenedWorkloadProps,
  type VolumeAccessMode,
  type VolumeClaimTemplate,
  WORKLOAD_LABEL,
  type WorkloadAutoscaling,
  type WorkloadExposure,
  type WorkloadKind,
  type ZoneSpread,
} from './hardened-workload';
export { MAX_POD_AGE_ANNOTATION } from './max-pod-age';
export {
  type CdkPlusProbe,
  type EnvValueSpec,
  type EnvVarSourceSpec,
  type HttpGetProbeSpec,
  type ProbeInput,
  type ProbeSpec,
} from './portable-inputs';
export { type DedicatedNodeToleration, type DedicatedNodes } from './placement';
export { PodRestartSchedule, type PodRestartScheduleProps } from './pod-restart-schedule';
