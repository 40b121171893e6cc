/**
 * Stack configuration → BlueprintSpec. One function for the Pulumi program and for
 * `hcb synth --stack-config`, so the report describes exactly what the stack applies.
 */
import type { BlueprintSpec, ProtectionProfile } from '../constructs/blueprint';

export type Target = 'local' | 'existing';

/** Reads one config key (without the `hcb:` prefix); undefined when unset. */
export type ConfigReader = (key: string) => unknown;

export interface StackSpec {
  target: Target;
  spec: BlueprintSpec;
  manifests: string[];
  stateDir?: string;
}

const PROFILES: readonly ProtectionProfile[] = ['basic', 'standard', 'high'];

export function stackSpec(get: ConfigReader): StackSpec {
  const target = (get('target') ?? 'local') as string;
  if (target !== 'local' && target !== 'existing') {
    throw new Error(`hcb: config "hcb:target" = "${target}" is invalid. Fix: pulumi config set hcb:target local|existing`);
  }
  const profile = (get('profile') ?? 'standard') as string;
  if (!PROFILES.includes(profile as ProtectionProfile)) {
    throw new Error(`hcb: config "hcb:profile" = "${profile}" is invalid. Fix: pulumi config set hcb:profile basic|standard|high`);
  }
  const num = (key: string, dflt: number): number => {
    const v = get(key);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`hcb: config "hcb:${key}" = "${String(v)}" is not a port. Fix: pulumi config set hcb:${key} <1-65535>`);
    return n;
  };
  const list = (key: string, dflt: string[]): string[] => {
    const v = get(key);
    if (v === undefined) return dflt;
    let arr: unknown = v;
    if (typeof v === 'string') {
      try {
        arr = JSON.parse(v) as unknown;
      } catch {
        arr = undefined;
      }
    }
    if (!Array.isArray(arr) || !arr.every((x) => typeof x === 'string')) {
      throw new Error(`hcb: config "hcb:${key}" must be a list of strings. Fix: pulumi config set --path '${key}[0]' <value>`);
    }
    return arr as string[];
  };
  const spec: BlueprintSpec = {
    profile: profile as ProtectionProfile,
    namespaces: list('namespaces', ['hcb-demo']).map((name) => ({ name })),
    local:
      target === 'local'
        ? {
            apiServerPort: num('apiServerPort', 6443),
            etcdClientPort: num('etcdClientPort', 2379),
            etcdPeerPort: num('etcdPeerPort', 2380),
            etcdMetricsPort: num('etcdMetricsPort', 2381),
            controllerManagerPort: num('controllerManagerPort', 10257),
            schedulerPort: num('schedulerPort', 10259),
          }
        : undefined,
  };
  const stateDir = get('stateDir');
  return { target, spec, manifests: list('manifests', []), stateDir: typeof stateDir === 'string' && stateDir ? stateDir : undefined };
}

/**
 * A reader over the output of `pulumi config --json` ({"hcb:key": {"value": ..., "objectValue"?: ...}}).
 */
export function readerFromPulumiConfigJson(json: Record<string, { value?: unknown; objectValue?: unknown }>): ConfigReader {
  return (key) => {
    const entry = json[`hcb:${key}`];
    if (!entry) return undefined;
    return entry.objectValue ?? entry.value;
  };
}
