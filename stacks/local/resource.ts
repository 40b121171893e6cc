/**
 * A Pulumi resource for the embedded local control plane. Creating it starts the processes,
 * deleting it stops them and removes their data. When the processes are gone (machine
 * restarted), the next preview shows an update and `pulumi up` starts them again.
 *
 * The provider runs in Pulumi's dynamic-provider host, a separate Node.js process: it loads
 * the runner module by absolute path at run time instead of capturing it in the closure.
 */
import * as pulumi from '@pulumi/pulumi';
import type { NodeFile } from '../../policies/model';

export interface LocalControlPlaneArgs {
  /** Private state directory of this cluster. */
  stateDir: pulumi.Input<string>;
  /** Directory of the built toolchain (kubeadm, etcd, kube-apiserver, kube-controller-manager). */
  binDir: pulumi.Input<string>;
  /** The blueprint's node files (secrets appear only as {{hcb-secret:NAME}} tokens). */
  nodeFiles: pulumi.Input<NodeFile[]>;
  /** Also run the node (stacks/local/node) and wait until it is Ready. @default false */
  node?: pulumi.Input<boolean>;
}

interface ProviderInputs {
  stateDir: string;
  binDir: string;
  nodeFiles: NodeFile[];
  node?: boolean;
  runnerModule: string;
}

/** Inputs that change what runs; the runner module's location does not. */
function sameInputs(a: ProviderInputs, b: ProviderInputs): boolean {
  return (
    a.stateDir === b.stateDir &&
    a.binDir === b.binDir &&
    Boolean(a.node) === Boolean(b.node) &&
    JSON.stringify(a.nodeFiles) === JSON.stringify(b.nodeFiles)
  );
}

function loadRunner(runnerModule: string): typeof import('./control-plane') {
  if (runnerModule.endsWith('.ts')) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(runnerModule);
}

function runner(inputs: ProviderInputs) {
  const { LocalControlPlane } = loadRunner(inputs.runnerModule);
  return new LocalControlPlane({
    stateDir: inputs.stateDir,
    binDir: inputs.binDir,
    nodeFiles: inputs.nodeFiles,
    node: Boolean(inputs.node),
  });
}

async function start(inputs: ProviderInputs): Promise<Record<string, unknown>> {
  const info = await runner(inputs).up();
  return {
    ...inputs,
    kubeconfig: info.kubeconfig,
    apiServerUrl: info.apiServerUrl,
    serverVersion: info.serverVersion,
    nodeName: info.node?.nodeName ?? '',
    nodeAddress: info.node?.nodeAddress ?? '',
    nodeImages: info.node?.images ?? {},
  };
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ProviderInputs) {
    return { id: `local:${inputs.stateDir}`, outs: await start(inputs) };
  },
  async diff(_id: string, olds: ProviderInputs, news: ProviderInputs) {
    if (!sameInputs(olds, news)) return { changes: true };
    // Ready includes the node (kubelet and containerd running, Node Ready) when it should run.
    const status = await runner(news).status();
    return { changes: !status.ready };
  },
  async update(_id: string, _olds: ProviderInputs, news: ProviderInputs) {
    return { outs: await start(news) };
  },
  async delete(_id: string, olds: ProviderInputs) {
    await runner(olds).down({ purge: true });
  },
};

export class LocalControlPlaneResource extends pulumi.dynamic.Resource {
  /** Admin kubeconfig (a secret in the stack's state). */
  public readonly kubeconfig!: pulumi.Output<string>;
  public readonly apiServerUrl!: pulumi.Output<string>;
  public readonly serverVersion!: pulumi.Output<string>;
  /** The node's name and address ('' without a node). */
  public readonly nodeName!: pulumi.Output<string>;
  public readonly nodeAddress!: pulumi.Output<string>;
  /** Images on the node (nothing is pulled there), name → digest reference. */
  public readonly nodeImages!: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: LocalControlPlaneArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      provider,
      name,
      {
        ...args,
        runnerModule: require.resolve('./control-plane'),
        kubeconfig: undefined,
        apiServerUrl: undefined,
        serverVersion: undefined,
        nodeName: undefined,
        nodeAddress: undefined,
        nodeImages: undefined,
      },
      { ...opts, additionalSecretOutputs: ['kubeconfig'] },
      'hcb',
      'LocalControlPlane',
    );
  }
}
