/**
 * The whole cluster as one construct: a hardened control plane (node files) and the cluster
 * objects (hardened namespaces and what they contain), from one typed BlueprintSpec.
 */
import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import type { ControlException, KubeObject, NodeFile } from '../policies/model';
import {
  AdmissionPolicyLayout,
  AdmissionPolicyMode,
  CatalogueAdmissionPolicies,
} from './admission/catalogue-admission-policies';
import { ClusterDns, clusterDnsAddress } from './addons/cluster-dns';
import { blueprintExceptions } from './blueprint-exceptions';
import { BlueprintPropError } from './common/errors';
import { HardenedControlPlane, HardenedControlPlaneProps } from './control-plane';
import { HardenedNamespace, HardenedNamespaceProps } from './tenant';
import { SystemServiceAccountLockdown } from './rbac/default-service-account';

import type { ProtectionProfile } from './control-plane/profile';

/** The protection profiles (one definition: constructs/control-plane/profile.ts). */
export type { ProtectionProfile };

/** Ports of the embedded local control plane (all on 127.0.0.1). */
export interface LocalEndpoints {
  readonly apiServerPort: number;
  readonly etcdClientPort: number;
  readonly etcdPeerPort: number;
  readonly etcdMetricsPort: number;
  readonly controllerManagerPort: number;
  readonly schedulerPort: number;
}

export interface BlueprintSpec {
  /** BSI protection level that picks defaults. @default 'standard' */
  readonly profile?: ProtectionProfile;
  /** Hardened namespaces. @default none */
  readonly namespaces?: HardenedNamespaceProps[];
  /** Control-plane settings beyond the profile's defaults. @default the profile's */
  readonly controlPlane?: HardenedControlPlaneProps;
  /**
   * Set for the embedded local control plane: every component listens on 127.0.0.1 only, at
   * these ports. @default unset (a real node: kubeadm's defaults and autodetected addresses)
   */
  readonly local?: LocalEndpoints;
  /**
   * Reviewed exceptions (owner, justification, expiry) for failures this cluster accepts; they
   * come after the blueprint's own (BLUEPRINT_EXCEPTIONS in ./blueprint-exceptions). @default none
   */
  readonly exceptions?: ControlException[];
  /**
   * Render ValidatingAdmissionPolicies from the catalogue (CatalogueAdmissionPolicies) into the
   * cluster objects; the exceptions above exclude their namespaces from the bindings.
   * @default true
   */
  readonly admissionPolicies?: boolean;
  /**
   * How the admission policies bind (CatalogueAdmissionPolicies `mode` and `modes`): 'enforce'
   * (Deny, Audit) or 'dry-run' (Warn, Audit), for every control or per control. The stack setting
   * `hcb:admissionModes` sets it. @default each control's own (enforce; image digests dry-run)
   */
  readonly admissionModes?: {
    readonly mode?: AdmissionPolicyMode;
    readonly modes?: Readonly<Record<string, AdmissionPolicyMode>>;
  };
  /**
   * How the admission policies are laid out (CatalogueAdmissionPolicies `layout`): 'grouped', one
   * policy per target and mode with one validation per control, or 'per-control'.
   * @default 'grouped'
   */
  readonly admissionLayout?: AdmissionPolicyLayout;
  /**
   * The cluster's DNS add-on (CoreDNS, constructs/addons/cluster-dns.ts) in the cluster objects.
   * The local stack sets it with the CoreDNS image it builds from the toolchain.
   * @default unset (no DNS add-on rendered)
   */
  readonly clusterDns?: BlueprintClusterDns;
  /**
   * Lock the `default` ServiceAccount of the namespaces the cluster brings itself (default,
   * kube-node-lease, kube-public, kube-system: SystemServiceAccountLockdown, CIS 5.1.5).
   * @default true
   */
  readonly lockSystemServiceAccounts?: boolean;
}

export interface BlueprintClusterDns {
  /** The CoreDNS image, pinned by digest. */
  readonly image: string;
  /**
   * API server endpoint addresses (CIDRs) CoreDNS may connect to.
   * @default - the control plane's serviceAdvertiseAddress or advertiseAddress as a /32
   */
  readonly apiServerEndpoints?: string[];
  /** Where kubelet probes come from (CIDRs). @default - none */
  readonly probeSources?: string[];
  /** @default 2 */
  readonly replicas?: number;
}

export class Blueprint extends Construct {
  readonly controlPlane: HardenedControlPlane;
  readonly cluster: Chart;
  readonly namespaces: HardenedNamespace[];
  /** The blueprint's own exceptions, then the spec's (validated). */
  readonly exceptions: ControlException[];
  /** The catalogue's admission policies, unless spec.admissionPolicies is false. */
  readonly admissionPolicies?: CatalogueAdmissionPolicies;
  /** The DNS add-on, when spec.clusterDns is set. */
  readonly clusterDns?: ClusterDns;
  /** The lockdown of the system namespaces' default ServiceAccounts, unless spec.lockSystemServiceAccounts is false. */
  readonly systemServiceAccounts?: SystemServiceAccountLockdown;

  constructor(scope: Construct, id: string, spec: BlueprintSpec = {}) {
    super(scope, id);
    const profile = spec.profile ?? 'standard';
    const local = spec.local ? localControlPlaneProps(spec.local) : {};
    this.controlPlane = new HardenedControlPlane(this, 'control-plane', {
      ...local,
      ...spec.controlPlane,
      ...(local.kubelet || spec.controlPlane?.kubelet
        ? { kubelet: { ...local.kubelet, ...spec.controlPlane?.kubelet } }
        : {}),
      ...(local.kubeProxy || spec.controlPlane?.kubeProxy
        ? { kubeProxy: { ...local.kubeProxy, ...spec.controlPlane?.kubeProxy } }
        : {}),
      profile: spec.controlPlane?.profile ?? profile,
    });
    this.cluster = new Chart(this, 'cluster');
    this.namespaces = (spec.namespaces ?? []).map(
      (ns, i) => new HardenedNamespace(this.cluster, ns.name ?? `namespace-${i}`, ns),
    );
    this.exceptions = blueprintExceptions(
      this,
      spec.exceptions,
      spec.local !== undefined,
      spec.clusterDns !== undefined,
    );
    if (spec.lockSystemServiceAccounts ?? true) {
      if (typeof spec.lockSystemServiceAccounts !== 'boolean' && spec.lockSystemServiceAccounts !== undefined) {
        throw new BlueprintPropError(
          this,
          'lockSystemServiceAccounts',
          spec.lockSystemServiceAccounts,
          'must be true or false',
          'leave it unset (true) or set false when another tool manages those accounts',
        );
      }
      this.systemServiceAccounts = new SystemServiceAccountLockdown(this.cluster, 'system-service-accounts');
    }
    if (spec.admissionPolicies ?? true) {
      this.admissionPolicies = new CatalogueAdmissionPolicies(this.cluster, 'admission-policies', {
        ...spec.admissionModes,
        ...(spec.admissionLayout ? { layout: spec.admissionLayout } : {}),
        exceptions: this.exceptions,
      });
    }
    if (spec.clusterDns) {
      const cp: HardenedControlPlaneProps = { ...local, ...spec.controlPlane };
      const advertised =
        cp.serviceAdvertiseAddress ?? (this.controlPlane.loopbackAddress ? undefined : cp.advertiseAddress);
      const endpoints =
        spec.clusterDns.apiServerEndpoints ??
        (advertised ? [`${advertised}/${advertised.includes(':') ? 128 : 32}`] : undefined);
      if (!endpoints) {
        throw new BlueprintPropError(
          this,
          'clusterDns.apiServerEndpoints',
          undefined,
          'the API server address is not known to the blueprint',
          'set clusterDns.apiServerEndpoints (CIDRs of the API server endpoints) or controlPlane.advertiseAddress',
        );
      }
      this.clusterDns = new ClusterDns(this.cluster, 'cluster-dns', {
        image: spec.clusterDns.image,
        clusterIP: clusterDnsAddress(cp.serviceSubnet ?? '10.96.0.0/12'),
        clusterDomain: cp.dnsDomain,
        apiServerEndpoints: endpoints,
        apiServerPort: cp.apiServerPort,
        probeSources: spec.clusterDns.probeSources,
        replicas: spec.clusterDns.replicas,
      });
    }
  }
}

/**
 * The local target: loopback only, a fixed node name, the API server reached at 127.0.0.1.
 * Its node (stacks/local/node) lives in a network namespace of its own with addresses from
 * 198.18.0.0/15 only, so services get 198.19.0.0/16. The kubelet uses cgroupfs (no systemd
 * as PID 1 here), a cgroup parent of its own per cluster (two local clusters never manage
 * each other's pods), and starts on cgroup v1 hosts (failCgroupV1: false; without effect on
 * cgroup v2 hosts).
 */
/** The local node's address (LOCAL_NODE_NETWORK.nodeAddress in stacks/local/node/network.ts). */
export const LOCAL_NODE_ADDRESS = '198.18.0.2';
/** The local node's pod gateway, the source of the kubelet's probes (LOCAL_NODE_NETWORK.podGateway). */
export const LOCAL_POD_GATEWAY = '198.18.16.1';

function localControlPlaneProps(local: LocalEndpoints): HardenedControlPlaneProps {
  return {
    serviceSubnet: '198.19.0.0/16',
    // The node's address (stacks/local/node/network.ts): a forwarder there serves the API to
    // pods through the `kubernetes` Service (endpoints may not be loopback addresses).
    serviceAdvertiseAddress: LOCAL_NODE_ADDRESS,
    // The API server cannot route into the node's namespace: its cluster traffic (kubelet logs,
    // exec, port-forward; proxies, webhooks) goes through the node's HTTP CONNECT proxy on this
    // socket (stacks/local/node/node.ts serves it; TLS to the kubelet stays end to end).
    clusterEgressProxySocket: '/etc/kubernetes/egress-proxy/cluster.sock',
    // The node is a network namespace: the host-wide nf_conntrack_max is not kube-proxy's to set.
    kubeProxy: { conntrackMaxPerCore: 0 },
    kubelet: { cgroupDriver: 'cgroupfs', cgroupRoot: `/hcb-local-${local.apiServerPort}`, failCgroupV1: false },
    nodeName: 'hcb-local',
    clusterName: 'hcb-local',
    loopbackOnly: true,
    apiServerPort: local.apiServerPort,
    etcdClientPort: local.etcdClientPort,
    etcdPeerPort: local.etcdPeerPort,
    etcdMetricsPort: local.etcdMetricsPort,
    controllerManagerPort: local.controllerManagerPort,
    schedulerPort: local.schedulerPort,
  };
}

export interface SynthesizedBlueprint {
  /** Objects to apply to the cluster, in synthesis order. */
  clusterObjects: KubeObject[];
  /** Files for control-plane nodes (secrets as tokens only), sorted by path. */
  nodeFiles: NodeFile[];
  /** Control-plane configuration documents (kubeadm, kubelet, audit, encryption, admission) and the node file manifest. */
  configDocuments: KubeObject[];
  namespaceNames: string[];
  /** The blueprint's own exceptions, then the spec's: what `hcb synth` writes to exceptions.yaml. */
  exceptions: ControlException[];
}

/** Pure: synthesizes a spec into everything the stacks apply and the audit checks. */
export function synthesizeBlueprint(spec: BlueprintSpec): SynthesizedBlueprint {
  const app = new App({ outdir: '/nonexistent-hcb-synth' });
  const blueprint = new Blueprint(app, 'hcb', spec);
  return {
    clusterObjects: blueprint.cluster.toJson() as KubeObject[],
    nodeFiles: blueprint.controlPlane.nodeFiles,
    configDocuments: [...blueprint.controlPlane.documents, blueprint.controlPlane.nodeFileManifest()],
    namespaceNames: blueprint.namespaces.map((n) => n.namespaceName),
    exceptions: blueprint.exceptions,
  };
}
