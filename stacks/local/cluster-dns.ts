/**
 * The local target's cluster DNS: with the node, the blueprint gets its DNS add-on (ClusterDns,
 * constructs/addons/cluster-dns.ts) with the CoreDNS image packed from the toolchain's coredns
 * binary (stacks/local/node/services.ts, reproducible: the digest depends on the binary only).
 * The Pulumi program (stacks/index.ts) and `hcb synth|verify --stack-config` (cli/stack-config.ts)
 * both go through this, so the policy pack's exceptions (written by `hcb synth`) match what
 * `pulumi up` applies.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { StackSpec } from '../spec';
import { defaultCacheRoot } from './node/images';
import { LOCAL_NODE_NETWORK } from './node/network';
import { coreDnsImage } from './node/services';

/**
 * The stack spec with `clusterDns` set when the target is local with a node and the toolchain
 * (binDir: HCB_TOOLCHAIN_BIN) is known; unchanged otherwise (also when the spec sets clusterDns itself).
 */
export function withLocalClusterDns(s: StackSpec, binDir: string | undefined): StackSpec {
  if (s.target !== 'local' || !s.node || !binDir || s.spec.clusterDns) return s;
  if (!fs.existsSync(path.join(binDir, 'coredns')))
    throw new Error(`the local node's DNS add-on needs coredns in ${binDir}. Run: npm run toolchain`);
  const image = coreDnsImage(binDir, path.join(defaultCacheRoot(), 'images')).ref;
  // The kubelet's probes reach pods from the pod gateway (the node's address on the bridge).
  return { ...s, spec: { ...s.spec, clusterDns: { image, probeSources: [`${LOCAL_NODE_NETWORK.podGateway}/32`] } } };
}
