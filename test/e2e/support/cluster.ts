/**
 * A real local control plane for an end-to-end test file, started from the blueprint's own
 * node files on ports of its own, stopped and purged afterwards.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  synthesizeBlueprint,
  BlueprintSpec,
  LocalEndpoints,
  SynthesizedBlueprint,
} from '../../../constructs/blueprint';
import { LocalControlPlane, localEndpointsFrom } from '../../../stacks/local/control-plane';
import { ApiClient, tempDir, toolchainBin } from './env';

export interface TestCluster {
  cp: LocalControlPlane;
  api: ApiClient;
  kubeconfig: string;
  stateDir: string;
  rootfs: string;
  ports: LocalEndpoints;
  blueprint: SynthesizedBlueprint;
  stop(): Promise<void>;
}

/** Ports from a base number, so each test file gets its own range. */
export function portsFrom(base: number): LocalEndpoints {
  return localEndpointsFrom(base);
}

/** `node: true` also starts the node (containerd, kubelet, CNI) and waits until it is Ready. */
export async function startCluster(
  name: string,
  basePort: number,
  spec: Omit<BlueprintSpec, 'local'> = {},
  options: { node?: boolean } = {},
): Promise<TestCluster> {
  const ports = portsFrom(basePort);
  const blueprint = synthesizeBlueprint({ ...spec, local: ports });
  const stateDir = tempDir(`cluster-${name}`);
  const logs: string[] = [];
  const cp = new LocalControlPlane({
    stateDir,
    binDir: toolchainBin(),
    nodeFiles: blueprint.nodeFiles,
    log: (l) => logs.push(l),
    node: options.node,
  });
  try {
    const info = await cp.up();
    return {
      cp,
      api: new ApiClient(info.kubeconfig),
      kubeconfig: info.kubeconfig,
      stateDir,
      rootfs: cp.rootfs,
      ports,
      blueprint,
      async stop() {
        await cp.down({ purge: true });
        fs.rmSync(stateDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await cp.down({ purge: true }).catch(() => undefined);
    throw new Error(`${(e as Error).message}\n${logs.join('\n')}`, { cause: e });
  }
}

/** Polls until fn returns a value (not undefined) or the timeout passes. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export function auditEvents(rootfs: string, auditPath: string): Array<Record<string, any>> {
  const dir = path.dirname(path.join(rootfs, auditPath));
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => path.join(dir, f));
  return files.flatMap((f) =>
    fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, any>),
  );
}
