import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';
import { isPortNumber } from '../network/network-port';
import { isDnsLabel, requireDnsSubdomain } from '../tenant/names';
import { parseQuantity, requireNotAbove, requireQuantity } from '../tenant/quantity';
import { requireImageReference } from './image-reference';
import { EnvValueSpec, ProbeInput, toPlusEnvValue, toPlusProbe } from './portable-inputs';

/** CPU, memory and ephemeral storage of one container. */
export interface ContainerResources {
  /** @default '100m' */
  readonly cpuRequest?: string;
  /** @default '500m' */
  readonly cpuLimit?: string;
  /** @default '128Mi' */
  readonly memoryRequest?: string;
  /** @default '512Mi' */
  readonly memoryLimit?: string;
  /**
   * Node disk the scheduler reserves for the container: its writable layer, its logs and its
   * share of the pod's emptyDir volumes (writablePaths).
   * @default '64Mi'
   */
  readonly ephemeralStorageRequest?: string;
  /**
   * Node disk the container may use before the kubelet evicts the pod; it must hold the
   * container's writablePaths (count x writablePathSizeLimit).
   * @default '1Gi'
   */
  readonly ephemeralStorageLimit?: string;
}

/** A Secret mounted read-only as files (the only way Secrets reach containers: STIG V-242415). */
export interface SecretMount {
  readonly secretName: string;
  readonly mountPath: string;
}

/**
 * A PersistentVolumeClaim mounted into the container: one of the StatefulSet's
 * `volumeClaimTemplates` (each pod gets its own claim) or, when no template has this name, an
 * existing claim of the namespace (e.g. one the platform created).
 */
export interface ClaimMount {
  /** Name of a `volumeClaimTemplates` entry of the workload, or of an existing PersistentVolumeClaim. */
  readonly claim: string;
  /** Absolute path in the container. */
  readonly mountPath: string;
  /** @default false */
  readonly readOnly?: boolean;
}

/** A ConfigMap mounted read-only as files. */
export interface ConfigMapMount {
  readonly configMapName: string;
  readonly mountPath: string;
}

/** A container port. */
export interface ContainerPortSpec {
  readonly number: number;
  /** @default - unnamed */
  readonly name?: string;
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
  /**
   * Port on the node. Ports below 1024 are refused (STIG V-242414); any host port is rejected by
   * Pod Security `baseline` and `restricted`, so it is only useful in an exempted namespace.
   * @default - none
   */
  readonly hostPort?: number;
}

/**
 * An environment value: a literal, `{ valueFrom: ... }` (a ConfigMap key, a pod field or a resource
 * figure, never a Secret), or a cdk8s-plus EnvValue of any cdk8s-plus version (it has that shape).
 */
export type EnvValueInput = string | EnvValueSpec;

/** Props shared by app and init containers. */
export interface HardenedContainerBaseProps {
  /** Container name (RFC 1123 label). */
  readonly name: string;
  /** Image; pin it by digest (`@sha256:...`), otherwise the workload records a warning. */
  readonly image: string;
  /** @default - the image's entrypoint */
  readonly command?: string[];
  /** @default - the image's arguments */
  readonly args?: string[];
  /**
   * Environment variables. Values from Secrets are refused (STIG V-242415): mount them.
   * @default - none
   */
  readonly env?: Record<string, EnvValueInput>;
  /** @default - 100m/500m CPU, 128Mi/512Mi memory, 64Mi/1Gi ephemeral storage (request/limit) */
  readonly resources?: ContainerResources;
  /** @default - none */
  readonly secretMounts?: SecretMount[];
  /** @default - none */
  readonly configMapMounts?: ConfigMapMount[];
  /**
   * Persistent volumes: claims of the StatefulSet's `volumeClaimTemplates`, or existing
   * PersistentVolumeClaims of the namespace.
   * @default - none
   */
  readonly claimMounts?: ClaimMount[];
  /**
   * Paths that must be writable despite the read-only root filesystem; each gets an emptyDir.
   * @default - none
   */
  readonly writablePaths?: string[];
  /**
   * Size limit of each writable path's emptyDir.
   * @default '64Mi'
   */
  readonly writablePathSizeLimit?: string;
}

/** An application container: probes are required (BSI APP.4.4.A11). */
export interface HardenedContainerProps extends HardenedContainerBaseProps {
  /**
   * Liveness check: the kubelet restarts the container when it fails. A cdk8s-plus Probe of any
   * version (`Probe.fromHttpGet('/healthz')`, re-exported from cdk8s-plus-28, or the app's own
   * cdk8s-plus-NN) or a plain probe object (`{ httpGet: { path: '/healthz' } }`).
   */
  readonly liveness: ProbeInput;
  /** Readiness check: the pod gets traffic only while it passes. Same forms as liveness. */
  readonly readiness: ProbeInput;
  /** @default - cdk8s-plus' default (TCP on the first port, if any) */
  readonly startup?: ProbeInput;
  /** @default - none */
  readonly ports?: ContainerPortSpec[];
}

/** An init container (BSI APP.4.4.A6): runs to completion before the app containers start. */
export type HardenedInitContainerProps = HardenedContainerBaseProps;

/** Mode of the files of a mounted Secret: readable by the owner only (with fsGroup, the kubelet adds group read). */
export const SECRET_DEFAULT_MODE = 0o400;

/** A mount of a StatefulSet volumeClaimTemplate, added to the rendered pod spec by HardenedWorkload. */
export interface TemplateMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
}

/** Shared volume registry so that one Secret, ConfigMap or claim becomes one volume. */
export class VolumeRegistry {
  private readonly volumes = new Map<string, kplus.Volume>();
  /** Names of the workload's volumeClaimTemplates (the StatefulSet renders their volumes). */
  public readonly claimTemplates = new Set<string>();
  /** Template mounts per container name, in the order given. */
  public readonly templateMounts = new Map<string, TemplateMount[]>();
  constructor(private readonly scope: Construct) {}
  /** Names of the pod volumes registered so far. */
  public get volumeNames(): string[] {
    return [...this.volumes.values()].map((v) => v.name);
  }
  public secret(name: string): kplus.Volume {
    // Secret files 0400 instead of the API server's default 0644 (SecretVolumeSource.defaultMode).
    return this.get(`secret-${name}`, () =>
      kplus.Volume.fromSecret(
        this.scope,
        `SecretVolume-${name}`,
        kplus.Secret.fromSecretName(this.scope, `Secret-${name}`, name),
        { name: volumeName('secret', name), defaultMode: SECRET_DEFAULT_MODE },
      ),
    );
  }
  public claim(name: string, readOnly: boolean): kplus.Volume {
    return this.get(`pvc-${name}-${readOnly}`, () =>
      kplus.Volume.fromPersistentVolumeClaim(
        this.scope,
        `ClaimVolume-${name}-${readOnly ? 'ro' : 'rw'}`,
        kplus.PersistentVolumeClaim.fromClaimName(this.scope, `Claim-${name}-${readOnly ? 'ro' : 'rw'}`, name),
        { name: volumeName(readOnly ? 'pvc-ro' : 'pvc', name), readOnly },
      ),
    );
  }
  public configMap(name: string): kplus.Volume {
    return this.get(`configmap-${name}`, () =>
      kplus.Volume.fromConfigMap(
        this.scope,
        `ConfigMapVolume-${name}`,
        kplus.ConfigMap.fromConfigMapName(this.scope, `ConfigMap-${name}`, name),
        { name: volumeName('cm', name) },
      ),
    );
  }
  public emptyDir(container: string, index: number, sizeLimit: string): kplus.Volume {
    const name = volumeName('tmp', `${container}-${index}`);
    return this.get(`empty-${name}`, () =>
      kplus.Volume.fromEmptyDir(this.scope, `EmptyDir-${container}-${index}`, name, {
        sizeLimit: Size.mebibytes(Math.max(1, Math.ceil(Number(parseQuantity(sizeLimit)! / 1_000_000_000n) / 1048576))),
      }),
    );
  }
  private get(key: string, make: () => kplus.Volume): kplus.Volume {
    let v = this.volumes.get(key);
    if (!v) {
      v = make();
      this.volumes.set(key, v);
    }
    return v;
  }
}

// Volume names are RFC 1123 labels; long object names are shortened with a stable hash.
function volumeName(prefix: string, name: string): string {
  const full = `${prefix}-${name}`.replace(/\./g, '-');
  if (full.length <= 63) return full;
  let h = 0;
  for (const ch of full) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `${full.slice(0, 54)}-${h.toString(16).padStart(8, '0')}`;
}

/** Ephemeral-storage figures a container gets when its props give none. */
export const DEFAULT_EPHEMERAL_STORAGE_REQUEST = '64Mi';
export const DEFAULT_EPHEMERAL_STORAGE_LIMIT = '1Gi';

const RESERVED_ENV = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Validates one container's props and turns them into cdk8s-plus ContainerProps, hardened. */
export function toPlusContainer(
  scope: Construct,
  prop: string,
  c: HardenedContainerBaseProps & Partial<HardenedContainerProps>,
  init: boolean,
  volumes: VolumeRegistry,
  identity: { user: number; group: number },
): kplus.ContainerProps {
  if (!c || typeof c !== 'object')
    throw new BlueprintPropError(scope, prop, c, 'must be a container spec', 'pass { name, image, ... }');
  if (!isDnsLabel(c.name)) {
    throw new BlueprintPropError(
      scope,
      `${prop}.name`,
      c.name,
      'must be an RFC 1123 label',
      "use lower-case letters, digits and '-'",
    );
  }
  requireImageReference(scope, `${prop}.image`, c.image);
  if (!init) {
    for (const probe of ['liveness', 'readiness'] as const) {
      if (c[probe] === undefined || c[probe] === null) {
        throw new BlueprintPropError(
          scope,
          `${prop}.${probe}`,
          c[probe],
          `a ${probe} probe is required (BSI APP.4.4.A11)`,
          `add e.g. ${probe}: Probe.fromHttpGet('/healthz') (Probe re-exported by this package, or your own cdk8s-plus version's) or { httpGet: { path: '/healthz' } }`,
        );
      }
    }
  }
  const res = resolvedResources(c);
  for (const k of Object.keys(res) as Array<keyof typeof res>)
    requireQuantity(scope, `${prop}.resources.${k}`, res[k], { positive: true });
  requireNotAbove(scope, `${prop}.resources.cpuRequest`, res.cpuRequest, `${prop}.resources.cpuLimit`, res.cpuLimit);
  requireNotAbove(
    scope,
    `${prop}.resources.memoryRequest`,
    res.memoryRequest,
    `${prop}.resources.memoryLimit`,
    res.memoryLimit,
  );
  requireNotAbove(
    scope,
    `${prop}.resources.ephemeralStorageRequest`,
    res.ephemeralStorageRequest,
    `${prop}.resources.ephemeralStorageLimit`,
    res.ephemeralStorageLimit,
  );

  const envVariables: Record<string, kplus.EnvValue> = {};
  for (const key of Object.keys(c.env ?? {}).sort()) {
    const v: unknown = (c.env as Record<string, unknown>)[key];
    if (!RESERVED_ENV.test(key)) {
      throw new BlueprintPropError(
        scope,
        `${prop}.env.${key}`,
        key,
        'is not an environment variable name',
        'use letters, digits, "_", "-" and "."',
      );
    }
    const from = (v as { valueFrom?: unknown } | undefined)?.valueFrom ?? v;
    if (from && typeof from === 'object' && ('secretKeyRef' in from || 'secretRef' in from)) {
      throw new BlueprintPropError(
        scope,
        `${prop}.env.${key}`,
        'secretKeyRef',
        'Secrets must not be passed as environment variables (STIG V-242415)',
        `mount the Secret as files instead: secretMounts: [{ secretName: '...', mountPath: '/etc/secrets/...' }]`,
      );
    }
    envVariables[key] = toPlusEnvValue(scope, `${prop}.env.${key}`, v);
  }

  const mounts: kplus.VolumeMount[] = [];
  const paths = new Set<string>();
  const usePath = (p: string, where: string) => {
    if (typeof p !== 'string' || !p.startsWith('/') || p.includes('..') || p.length > 1024 || p === '/') {
      throw new BlueprintPropError(
        scope,
        where,
        p,
        'is not an absolute mount path',
        'use an absolute path below /, e.g. /etc/app/secret',
      );
    }
    if (paths.has(p))
      throw new BlueprintPropError(scope, where, p, 'is mounted twice in this container', 'use distinct mount paths');
    paths.add(p);
    return p;
  };
  (c.secretMounts ?? []).forEach((m, i) => {
    const name = requireDnsSubdomain(scope, `${prop}.secretMounts[${i}].secretName`, m?.secretName);
    mounts.push({
      path: usePath(m.mountPath, `${prop}.secretMounts[${i}].mountPath`),
      volume: volumes.secret(name),
      readOnly: true,
    });
  });
  (c.configMapMounts ?? []).forEach((m, i) => {
    const name = requireDnsSubdomain(scope, `${prop}.configMapMounts[${i}].configMapName`, m?.configMapName);
    mounts.push({
      path: usePath(m.mountPath, `${prop}.configMapMounts[${i}].mountPath`),
      volume: volumes.configMap(name),
      readOnly: true,
    });
  });
  if (c.claimMounts !== undefined && !Array.isArray(c.claimMounts)) {
    throw new BlueprintPropError(
      scope,
      `${prop}.claimMounts`,
      c.claimMounts,
      'must be a list',
      "pass [{ claim: 'data', mountPath: '/var/lib/app' }]",
    );
  }
  const templateMounts: TemplateMount[] = [];
  (c.claimMounts ?? []).forEach((m, i) => {
    const where = `${prop}.claimMounts[${i}]`;
    const claim = requireDnsSubdomain(scope, `${where}.claim`, m?.claim);
    if (m.readOnly !== undefined && typeof m.readOnly !== 'boolean') {
      throw new BlueprintPropError(
        scope,
        `${where}.readOnly`,
        m.readOnly,
        'must be true or false',
        'omit it for a writable mount',
      );
    }
    const path = usePath(m.mountPath, `${where}.mountPath`);
    const readOnly = m.readOnly === true;
    if (volumes.claimTemplates.has(claim)) templateMounts.push({ name: claim, mountPath: path, readOnly });
    else mounts.push({ path, volume: volumes.claim(claim, readOnly), readOnly });
  });
  if (templateMounts.length > 0) volumes.templateMounts.set(c.name, templateMounts);
  const sizeLimit = c.writablePathSizeLimit ?? '64Mi';
  requireQuantity(scope, `${prop}.writablePathSizeLimit`, sizeLimit, { positive: true });
  const writable = (c.writablePaths ?? []).length;
  if (writable > 0 && parseQuantity(sizeLimit)! * BigInt(writable) > parseQuantity(res.ephemeralStorageLimit)!) {
    // emptyDir volumes on the node's disk count against the pod's ephemeral storage: the
    // kubelet would evict the pod before the writable paths are full.
    throw new BlueprintPropError(
      scope,
      `${prop}.resources.ephemeralStorageLimit`,
      res.ephemeralStorageLimit,
      `is below what the ${writable} writable path(s) may hold (${writable} x writablePathSizeLimit ${sizeLimit})`,
      'raise resources.ephemeralStorageLimit or lower writablePathSizeLimit',
    );
  }
  (c.writablePaths ?? []).forEach((p, i) => {
    mounts.push({ path: usePath(p, `${prop}.writablePaths[${i}]`), volume: volumes.emptyDir(c.name, i, sizeLimit) });
  });

  const ports: kplus.ContainerPort[] = [];
  const seenPorts = new Set<string>();
  (c.ports ?? []).forEach((p, i) => {
    const where = `${prop}.ports[${i}]`;
    if (!isPortNumber(p?.number))
      throw new BlueprintPropError(
        scope,
        `${where}.number`,
        p?.number,
        'is not a port number',
        'use an integer from 1 to 65535',
      );
    const protocol = p.protocol ?? 'TCP';
    if (!['TCP', 'UDP', 'SCTP'].includes(protocol))
      throw new BlueprintPropError(scope, `${where}.protocol`, protocol, 'is not a protocol', 'use TCP, UDP or SCTP');
    const key = `${p.number}/${protocol}`;
    if (seenPorts.has(key))
      throw new BlueprintPropError(scope, `${where}.number`, p.number, 'is listed twice', 'list each port once');
    seenPorts.add(key);
    if (
      p.name !== undefined &&
      (!/^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p.name) || p.name.length > 15 || p.name.includes('--'))
    ) {
      throw new BlueprintPropError(
        scope,
        `${where}.name`,
        p.name,
        'is not a port name (IANA_SVC_NAME)',
        "use at most 15 lower-case letters, digits and '-', e.g. 'http'",
      );
    }
    if (p.hostPort !== undefined) {
      if (!isPortNumber(p.hostPort))
        throw new BlueprintPropError(
          scope,
          `${where}.hostPort`,
          p.hostPort,
          'is not a port number',
          'use an integer from 1024 to 65535, or no host port',
        );
      if (p.hostPort < 1024) {
        throw new BlueprintPropError(
          scope,
          `${where}.hostPort`,
          p.hostPort,
          'host ports below 1024 are privileged (STIG V-242414)',
          'drop the host port and expose the pod through a Service, or use a host port from 1024 up',
        );
      }
    }
    ports.push({ number: p.number, name: p.name, protocol: protocol as kplus.Protocol, hostPort: p.hostPort });
  });

  const firstPort = init || ports.length === 0 ? undefined : ports[0].number;
  return {
    name: c.name,
    image: c.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: c.command,
    args: c.args,
    // cdk8s-plus aims probes without an explicit port at `portNumber` (else port 80), so the
    // first port goes there; HardenedWorkload restores its name and protocol on the rendered spec.
    portNumber: firstPort,
    ports: init ? undefined : ports.slice(1),
    envVariables,
    volumeMounts: mounts,
    liveness: init ? undefined : toPlusProbe(scope, `${prop}.liveness`, 'liveness', c.liveness, firstPort),
    readiness: init ? undefined : toPlusProbe(scope, `${prop}.readiness`, 'readiness', c.readiness, firstPort),
    startup:
      init || c.startup === undefined
        ? undefined
        : toPlusProbe(scope, `${prop}.startup`, 'startup', c.startup, firstPort),
    resources: {
      cpu: { request: kplus.Cpu.millis(millicores(res.cpuRequest)), limit: kplus.Cpu.millis(millicores(res.cpuLimit)) },
      memory: {
        request: Size.mebibytes(mebibytes(res.memoryRequest)),
        limit: Size.mebibytes(mebibytes(res.memoryLimit)),
      },
      // ephemeral storage: cdk8s-plus renders it in whole Gi only; HardenedWorkload patches in
      // the figures of ephemeralStorage() as written.
    },
    securityContext: {
      ensureNonRoot: true,
      user: identity.user,
      group: identity.group,
      privileged: false,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: [kplus.Capability.ALL] },
      seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
    },
  };
}

/** Every request and limit the container renders: its props, else the defaults (validated by toPlusContainer). */
export function resolvedResources(c: HardenedContainerBaseProps): Required<ContainerResources> {
  const r = c.resources ?? {};
  return {
    cpuRequest: r.cpuRequest ?? '100m',
    cpuLimit: r.cpuLimit ?? '500m',
    memoryRequest: r.memoryRequest ?? '128Mi',
    memoryLimit: r.memoryLimit ?? '512Mi',
    ephemeralStorageRequest: r.ephemeralStorageRequest ?? DEFAULT_EPHEMERAL_STORAGE_REQUEST,
    ephemeralStorageLimit: r.ephemeralStorageLimit ?? DEFAULT_EPHEMERAL_STORAGE_LIMIT,
  };
}

/** The container's ephemeral-storage request and limit as its props give them (validated by toPlusContainer). */
export function ephemeralStorage(c: HardenedContainerBaseProps): { request: string; limit: string } {
  return {
    request: c.resources?.ephemeralStorageRequest ?? DEFAULT_EPHEMERAL_STORAGE_REQUEST,
    limit: c.resources?.ephemeralStorageLimit ?? DEFAULT_EPHEMERAL_STORAGE_LIMIT,
  };
}

// cdk8s-plus renders CPU in millicores and memory in Mi; round up so the rendered value is never
// below what was asked for.
function millicores(q: string): number {
  const nano = parseQuantity(q)!;
  return Math.max(1, Number((nano + 999_999n) / 1_000_000n));
}
function mebibytes(q: string): number {
  const bytes = (parseQuantity(q)! + 999_999_999n) / 1_000_000_000n;
  return Math.max(1, Number((bytes + 1048575n) / 1048576n));
}
