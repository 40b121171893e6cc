import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';

/**
 * T-shirt sizes for a namespace: they pick the ResourceQuota and LimitRange defaults. Every
 * figure can be overridden one by one through the quota and container-limit props.
 */
export type NamespaceSize = 'small' | 'medium' | 'large';

export const NAMESPACE_SIZES: readonly NamespaceSize[] = ['small', 'medium', 'large'];

/** Quota figures of one size. */
export interface SizedQuota {
  readonly requestsCpu: string;
  readonly requestsMemory: string;
  readonly limitsCpu: string;
  readonly limitsMemory: string;
  readonly requestsStorage: string;
  readonly requestsEphemeralStorage: string;
  readonly limitsEphemeralStorage: string;
  readonly pods: number;
  readonly services: number;
  readonly persistentVolumeClaims: number;
  readonly configMaps: number;
  readonly secrets: number;
}

/** Per-container LimitRange figures of one size. */
export interface SizedContainerLimits {
  readonly defaultRequestCpu: string;
  readonly defaultRequestMemory: string;
  readonly defaultLimitCpu: string;
  readonly defaultLimitMemory: string;
  readonly maxCpu: string;
  readonly maxMemory: string;
  readonly defaultRequestEphemeralStorage: string;
  readonly defaultLimitEphemeralStorage: string;
  readonly maxEphemeralStorage: string;
}

export const SIZED_QUOTA: Readonly<Record<NamespaceSize, SizedQuota>> = {
  small: {
    requestsCpu: '2',
    requestsMemory: '4Gi',
    limitsCpu: '4',
    limitsMemory: '8Gi',
    requestsStorage: '20Gi',
    requestsEphemeralStorage: '4Gi',
    limitsEphemeralStorage: '20Gi',
    pods: 20,
    services: 10,
    persistentVolumeClaims: 5,
    configMaps: 50,
    secrets: 50,
  },
  medium: {
    requestsCpu: '8',
    requestsMemory: '16Gi',
    limitsCpu: '16',
    limitsMemory: '32Gi',
    requestsStorage: '100Gi',
    requestsEphemeralStorage: '16Gi',
    limitsEphemeralStorage: '64Gi',
    pods: 50,
    services: 20,
    persistentVolumeClaims: 20,
    configMaps: 100,
    secrets: 100,
  },
  large: {
    requestsCpu: '32',
    requestsMemory: '64Gi',
    limitsCpu: '64',
    limitsMemory: '128Gi',
    requestsStorage: '500Gi',
    requestsEphemeralStorage: '64Gi',
    limitsEphemeralStorage: '256Gi',
    pods: 200,
    services: 50,
    persistentVolumeClaims: 50,
    configMaps: 200,
    secrets: 200,
  },
};

export const SIZED_CONTAINER_LIMITS: Readonly<Record<NamespaceSize, SizedContainerLimits>> = {
  small: {
    defaultRequestCpu: '100m',
    defaultRequestMemory: '128Mi',
    defaultLimitCpu: '500m',
    defaultLimitMemory: '512Mi',
    maxCpu: '2',
    maxMemory: '4Gi',
    defaultRequestEphemeralStorage: '64Mi',
    defaultLimitEphemeralStorage: '1Gi',
    maxEphemeralStorage: '4Gi',
  },
  medium: {
    defaultRequestCpu: '100m',
    defaultRequestMemory: '128Mi',
    defaultLimitCpu: '500m',
    defaultLimitMemory: '512Mi',
    maxCpu: '4',
    maxMemory: '8Gi',
    defaultRequestEphemeralStorage: '64Mi',
    defaultLimitEphemeralStorage: '1Gi',
    maxEphemeralStorage: '8Gi',
  },
  large: {
    defaultRequestCpu: '250m',
    defaultRequestMemory: '256Mi',
    defaultLimitCpu: '1',
    defaultLimitMemory: '1Gi',
    maxCpu: '8',
    maxMemory: '16Gi',
    defaultRequestEphemeralStorage: '128Mi',
    defaultLimitEphemeralStorage: '2Gi',
    maxEphemeralStorage: '16Gi',
  },
};

/** Throws unless `size` is one of the sizes. */
export function requireSize(scope: Construct, prop: string, size: unknown): NamespaceSize {
  if (!NAMESPACE_SIZES.includes(size as NamespaceSize)) {
    throw new BlueprintPropError(
      scope,
      prop,
      size,
      'is not a namespace size',
      `use one of ${NAMESPACE_SIZES.join(', ')}`,
    );
  }
  return size as NamespaceSize;
}
