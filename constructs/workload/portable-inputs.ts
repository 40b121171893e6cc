// Probes and environment values in a form that does not tie the app to our cdk8s-plus major.
//
// cdk8s-plus' Probe and EnvValue are classes with private members, so TypeScript treats a
// cdk8s-plus-33 Probe and a cdk8s-plus-28 Probe as unrelated types. The container props therefore
// take structural types: a Probe of any cdk8s-plus version (recognised by the method cdk8s-plus
// renders it with), a plain Kubernetes probe object, and any `{ value }` / `{ valueFrom }` for an
// environment variable (which is also what every cdk8s-plus EnvValue is). Each input is turned
// into a plain Kubernetes object at construction time, checked, and handed to cdk8s-plus-28 in the
// two shapes its Container reads (container.js: a probe's `_toKube(container)`, an env value's
// `value` and `valueFrom`); test/unit/constructs/workload/portable-inputs.test.ts pins that.
import * as kplus from 'cdk8s-plus-28';
import { IntOrString, Probe as KubeProbe, Quantity } from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';
import { isPortNumber } from '../network/network-port';

/**
 * A Probe of any cdk8s-plus version: the Probe this package re-exports (cdk8s-plus-28), or the
 * app's own, e.g. `Probe.fromHttpGet('/healthz')` of cdk8s-plus-33. Only the method cdk8s-plus
 * renders a probe with is required, so the app's cdk8s-plus types fit without a cast.
 */
export interface CdkPlusProbe {
  /** cdk8s-plus' rendering method (it reads the container's first port for probes without a port). */
  _toKube(container: never): unknown;
}

/** An HTTP GET probe action (core/v1 HTTPGetAction). */
export interface HttpGetProbeSpec {
  readonly path: string;
  /** Port number or container port name. @default - the container's first port */
  readonly port?: number | string;
  /** @default 'HTTP' */
  readonly scheme?: 'HTTP' | 'HTTPS';
  /** @default - the pod IP */
  readonly host?: string;
  /** @default - none */
  readonly httpHeaders?: ReadonlyArray<{ readonly name: string; readonly value: string }>;
}

/**
 * A probe as the Kubernetes API writes it (core/v1 Probe): exactly one of `httpGet`, `tcpSocket`,
 * `exec`, `grpc`, and the timing fields. A port left out is the container's first port.
 */
export interface ProbeSpec {
  readonly httpGet?: HttpGetProbeSpec;
  readonly tcpSocket?: { readonly port?: number | string; readonly host?: string };
  readonly exec?: { readonly command: readonly string[] };
  readonly grpc?: { readonly port?: number; readonly service?: string };
  /** @default 0 */
  readonly initialDelaySeconds?: number;
  /** @default 10 (API server default) */
  readonly periodSeconds?: number;
  /** @default 1 (API server default) */
  readonly timeoutSeconds?: number;
  /** @default 3 */
  readonly failureThreshold?: number;
  /** Must be 1 for liveness and startup probes. @default 1 */
  readonly successThreshold?: number;
  /** Liveness and startup only. @default - the pod's terminationGracePeriodSeconds */
  readonly terminationGracePeriodSeconds?: number;
}

/** A container probe: a cdk8s-plus Probe of any version, or a plain probe object. */
export type ProbeInput = CdkPlusProbe | ProbeSpec;

/** Where a value of an environment variable comes from (Secrets are refused: STIG V-242415). */
export interface EnvVarSourceSpec {
  readonly configMapKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean };
  readonly fieldRef?: { readonly fieldPath: string; readonly apiVersion?: string };
  readonly resourceFieldRef?: { readonly resource: string; readonly containerName?: string; readonly divisor?: string };
}

/**
 * An environment value as an object: `{ value }` or `{ valueFrom }`. Every cdk8s-plus EnvValue
 * (of any cdk8s-plus version, e.g. `EnvValue.fromFieldRef(...)`) has this shape.
 */
export interface EnvValueSpec {
  readonly value?: string;
  readonly valueFrom?: EnvVarSourceSpec;
}

type ProbeKind = 'liveness' | 'readiness' | 'startup';
const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;
const TIMINGS = [
  'initialDelaySeconds',
  'periodSeconds',
  'timeoutSeconds',
  'failureThreshold',
  'successThreshold',
  'terminationGracePeriodSeconds',
] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCdkPlusProbe = (v: unknown): v is CdkPlusProbe =>
  isObject(v) && typeof (v as { _toKube?: unknown })._toKube === 'function';

function portOf(scope: Construct, where: string, port: unknown, firstPort: number | undefined): IntOrString {
  const p = port ?? firstPort;
  if (p === undefined) {
    throw new BlueprintPropError(
      scope,
      where,
      undefined,
      'no port given and the container has no ports',
      'give the probe a port, or add ports to the container',
    );
  }
  if (typeof p === 'number' && isPortNumber(p)) return IntOrString.fromNumber(p);
  if (
    typeof p === 'string' &&
    /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p) &&
    p.length <= 15 &&
    !p.includes('--')
  )
    return IntOrString.fromString(p);
  throw new BlueprintPropError(
    scope,
    where,
    p,
    'is neither a port number nor a port name',
    'use 1-65535 or the name of a container port, e.g. "http"',
  );
}

/** A plain probe object in cdk8s-plus-28's typed form (IntOrString ports). */
function fromSpec(
  scope: Construct,
  prop: string,
  spec: Record<string, unknown>,
  firstPort: number | undefined,
): KubeProbe {
  const out: Record<string, unknown> = {};
  const h = spec.httpGet,
    t = spec.tcpSocket,
    e = spec.exec,
    g = spec.grpc;
  if (isObject(h)) {
    if (typeof h.path !== 'string' || !h.path.startsWith('/')) {
      throw new BlueprintPropError(
        scope,
        `${prop}.httpGet.path`,
        h.path,
        'must be an absolute URL path',
        "e.g. '/healthz'",
      );
    }
    if (h.scheme !== undefined && h.scheme !== 'HTTP' && h.scheme !== 'HTTPS') {
      throw new BlueprintPropError(
        scope,
        `${prop}.httpGet.scheme`,
        h.scheme,
        'is not HTTP or HTTPS',
        "use 'HTTP' or 'HTTPS'",
      );
    }
    out.httpGet = {
      path: h.path,
      port: portOf(scope, `${prop}.httpGet.port`, h.port, firstPort),
      scheme: h.scheme ?? 'HTTP',
      host: h.host,
      httpHeaders: h.httpHeaders,
    };
  }
  if (isObject(t)) out.tcpSocket = { port: portOf(scope, `${prop}.tcpSocket.port`, t.port, firstPort), host: t.host };
  if (isObject(e)) {
    if (!Array.isArray(e.command) || e.command.length === 0 || e.command.some((c) => typeof c !== 'string')) {
      throw new BlueprintPropError(
        scope,
        `${prop}.exec.command`,
        e.command,
        'must be a non-empty list of strings',
        "e.g. ['/bin/health', '--quick']",
      );
    }
    out.exec = { command: [...e.command] };
  }
  if (isObject(g)) {
    const port = g.port ?? firstPort;
    if (!isPortNumber(port))
      throw new BlueprintPropError(
        scope,
        `${prop}.grpc.port`,
        port,
        'is not a port number (gRPC probes take a number)',
        'use 1-65535',
      );
    out.grpc = { port, service: g.service };
  }
  for (const k of TIMINGS) if (spec[k] !== undefined) out[k] = spec[k];
  return out as KubeProbe;
}

/**
 * Turns a probe prop (cdk8s-plus Probe of any version, or a plain object) into what cdk8s-plus-28's
 * Container renders, after checking it as the API server would (one handler, non-negative
 * timings, successThreshold 1 for liveness and startup).
 */
export function toPlusProbe(
  scope: Construct,
  prop: string,
  kind: ProbeKind,
  input: unknown,
  firstPort: number | undefined,
): kplus.Probe {
  let rendered: Record<string, unknown>;
  if (isCdkPlusProbe(input)) {
    // cdk8s-plus probes read only the container's first port (Action.fromHttpGet/TcpSocket/Grpc).
    const out = (input._toKube as (c: { portNumber?: number }) => unknown)({ portNumber: firstPort });
    if (!isObject(out))
      throw new BlueprintPropError(
        scope,
        prop,
        input,
        'did not render a probe',
        'use Probe.fromHttpGet/fromTcpSocket/fromCommand/fromGrpc, or a plain probe object',
      );
    rendered = out;
  } else if (isObject(input)) {
    rendered = fromSpec(scope, prop, input, firstPort) as Record<string, unknown>;
  } else {
    throw new BlueprintPropError(
      scope,
      prop,
      input,
      'is not a probe',
      "use Probe.fromHttpGet('/healthz') (any cdk8s-plus version) or { httpGet: { path: '/healthz' } }",
    );
  }
  const handlers = HANDLERS.filter((h) => rendered[h] !== undefined && rendered[h] !== null);
  if (handlers.length !== 1) {
    throw new BlueprintPropError(
      scope,
      prop,
      handlers,
      handlers.length === 0 ? 'has no handler' : `has ${handlers.length} handlers (${handlers.join(', ')})`,
      'give exactly one of httpGet, tcpSocket, exec, grpc',
    );
  }
  for (const k of TIMINGS) {
    const v = rendered[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) {
      throw new BlueprintPropError(
        scope,
        `${prop}.${k}`,
        v,
        'must be a non-negative whole number',
        'give seconds or counts as integers',
      );
    }
  }
  if (kind !== 'readiness' && rendered.successThreshold !== undefined && rendered.successThreshold !== 1) {
    throw new BlueprintPropError(
      scope,
      `${prop}.successThreshold`,
      rendered.successThreshold,
      `must be 1 for a ${kind} probe (the API server refuses other values)`,
      'drop successThreshold or set it to 1',
    );
  }
  if (kind === 'readiness' && rendered.terminationGracePeriodSeconds !== undefined) {
    throw new BlueprintPropError(
      scope,
      `${prop}.terminationGracePeriodSeconds`,
      rendered.terminationGracePeriodSeconds,
      'is not allowed on a readiness probe',
      'drop it',
    );
  }
  if (rendered.terminationGracePeriodSeconds === 0) {
    throw new BlueprintPropError(
      scope,
      `${prop}.terminationGracePeriodSeconds`,
      0,
      'must be greater than 0',
      "drop it to use the pod's grace period",
    );
  }
  const probe = rendered as KubeProbe;
  return { _toKube: () => probe } as unknown as kplus.Probe;
}

const ENV_SOURCES = ['configMapKeyRef', 'fieldRef', 'resourceFieldRef'] as const;

/**
 * Turns an env prop value (a string, a cdk8s-plus EnvValue of any version, or `{ value }` /
 * `{ valueFrom }`) into what cdk8s-plus-28's Container renders. Secret sources are refused by the
 * caller before this runs.
 */
export function toPlusEnvValue(scope: Construct, prop: string, v: unknown): kplus.EnvValue {
  if (typeof v === 'string') return kplus.EnvValue.fromValue(v);
  if (v instanceof kplus.EnvValue) return v;
  const fix =
    "use a string, { valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, or a cdk8s-plus EnvValue (not from a Secret)";
  if (!isObject(v)) throw new BlueprintPropError(scope, prop, v, 'is not an environment value', fix);
  const { value, valueFrom } = v;
  if ((value === undefined) === (valueFrom === undefined || valueFrom === null)) {
    throw new BlueprintPropError(scope, prop, v, 'needs exactly one of value and valueFrom', fix);
  }
  if (value !== undefined) {
    if (typeof value !== 'string')
      throw new BlueprintPropError(scope, `${prop}.value`, value, 'must be a string', 'quote numbers and booleans');
    return kplus.EnvValue.fromValue(value);
  }
  if (!isObject(valueFrom))
    throw new BlueprintPropError(scope, `${prop}.valueFrom`, valueFrom, 'is not a value source', fix);
  const sources = Object.keys(valueFrom).filter((k) => valueFrom[k] !== undefined && valueFrom[k] !== null);
  if (sources.length !== 1 || !(ENV_SOURCES as readonly string[]).includes(sources[0])) {
    throw new BlueprintPropError(
      scope,
      `${prop}.valueFrom`,
      sources,
      `must name exactly one of ${ENV_SOURCES.join(', ')}`,
      fix,
    );
  }
  const src = valueFrom[sources[0]];
  if (!isObject(src))
    throw new BlueprintPropError(scope, `${prop}.valueFrom.${sources[0]}`, src, 'is not an object', fix);
  const need = (field: string) => {
    if (typeof src[field] !== 'string' || src[field] === '') {
      throw new BlueprintPropError(
        scope,
        `${prop}.valueFrom.${sources[0]}.${field}`,
        src[field],
        'must be a non-empty string',
        fix,
      );
    }
  };
  let rendered: Record<string, unknown>;
  switch (sources[0]) {
    case 'configMapKeyRef':
      need('name');
      need('key');
      rendered = { configMapKeyRef: { name: src.name, key: src.key, optional: src.optional } };
      break;
    case 'fieldRef':
      need('fieldPath');
      rendered = { fieldRef: { fieldPath: src.fieldPath, apiVersion: src.apiVersion } };
      break;
    default: {
      need('resource');
      // cdk8s-plus renders divisor from a Quantity's `value`; a plain string becomes one.
      const divisor = typeof src.divisor === 'string' ? Quantity.fromString(src.divisor) : src.divisor;
      rendered = { resourceFieldRef: { resource: src.resource, containerName: src.containerName, divisor } };
    }
  }
  return { value: undefined, valueFrom: rendered } as unknown as kplus.EnvValue;
}
