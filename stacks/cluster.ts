/**
 * `hcb:index:Cluster`: one Pulumi component for a hardened cluster, whatever the target.
 *
 *   local     the embedded control plane (LocalControlPlaneResource) and, with `node`, its node
 *   existing  the cluster of the current kubeconfig (nothing is started)
 *   hosts     machines reached over SSH: kubeadm init on the control-plane host (HostControlPlaneResource),
 *             kubeadm join on each worker (HostWorkerResource), then the pod routes, kube-proxy and
 *             the NetworkPolicy enforcer on every host (HostsNetworkResource)
 *
 * then a Kubernetes provider on the cluster's admin kubeconfig and the blueprint's cluster objects
 * (and the stack's own manifests) applied through it, Namespaces first. Every child has
 * `{ parent: this }`.
 *
 * Outputs: `kubeconfig` (secret), `apiEndpoint`, `nodes` (name, address, role), `compliance` (the
 * catalogue's counts on the rendered artefacts: cluster objects, control-plane configuration,
 * node file manifest, with the blueprint's reviewed exceptions).
 *
 * The args are checked before any resource is created (`validateClusterArgs`); errors name the
 * stack setting, its value and the fix.
 *
 * Upgrading stacks made before the component: the local and existing targets' resources had the
 * stack as parent. Their children here carry `aliases: [{ parent: rootStackResource }]` under the
 * same names, so Pulumi moves them under the component instead of replacing them (the control
 * plane keeps running; the e2e pulumi-cluster-upgrade proves it).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import type { SynthesizedBlueprint } from '../constructs/blueprint';
import { evaluate, summarize } from '../policies/engine';
import type { Document, KubeObject } from '../policies/model';
import { handOff, handoffFromEnv, prepareObjects } from './apply';
import type { HostsTargetSpec, HostSpec } from './hosts/config';
import { hostPodNetwork as podNetworkIn } from './hosts/program';
import { blueprintRanges, hostsInPodSubnet } from './hosts/ranges';
import {
  HostControlPlaneResource,
  HostDial,
  HostsNetworkResource,
  HostWorkerResource,
  kubeconfigForDial,
  kubeconfigServer,
} from './hosts/target';
import { HostBackupScheduleResource } from './hosts/backup-resource';
import { LocalControlPlaneResource } from './local/resource';

export type ClusterTargetArgs =
  | {
      kind: 'local';
      /** Private state directory of the cluster (hcb:stateDir). */
      stateDir: string;
      /** The toolchain's bin directory (HCB_TOOLCHAIN_BIN). */
      binDir: string;
      /** Also run the node (hcb:node). */
      node: boolean;
    }
  | {
      kind: 'existing';
    }
  | {
      kind: 'hosts';
      hosts: HostsTargetSpec;
      /** hcb:sshPrivateKey, a secret. */
      sshPrivateKey: pulumi.Input<string>;
      binDir: string;
      /** Local working directory (image archives, progress logs). */
      workDir: string;
      /** HCB_HOSTS_DIAL entries (forwarders, bastions), by host name. */
      dial?: Record<string, HostDial>;
      /**
       * A worker's (and a further control plane's) kubelet settings over the cluster's (a kubeadm
       * patch), e.g. its own cgroupRoot where hosts share one kernel (the test lab). @default none
       */
      workerKubelet?: (host: HostSpec) => Record<string, unknown> | undefined;
      /** hcb:backup with hcb:backupKey (a secret, base64): the scheduled backup on every control plane. */
      backup?: { interval: string; retain: number; key: pulumi.Input<string>; cluster: string };
    };

export interface ClusterArgs {
  blueprint: SynthesizedBlueprint;
  /** The stack's own manifests (hcb:manifests), applied after the blueprint's objects. */
  manifests?: KubeObject[];
  target: ClusterTargetArgs;
}

export interface ClusterNode {
  name: string;
  address: string;
  role: 'control-plane' | 'worker';
}

/** Counts per status of the catalogue's findings on the rendered artefacts. */
export interface ComplianceSummary {
  total: number;
  pass: number;
  fail: number;
  accepted: number;
  notApplicable: number;
  notEvaluated: number;
  error: number;
}

/**
 * Checks the args before anything is created. Each error names the stack setting (or the
 * environment variable), the value and the fix.
 */
export function validateClusterArgs(args: ClusterArgs, opts: { workersSupported?: boolean } = {}): void {
  const b = args.blueprint;
  if (!b || !Array.isArray(b.clusterObjects) || !Array.isArray(b.nodeFiles) || !Array.isArray(b.configDocuments)) {
    throw new Error(
      'hcb: Cluster needs a synthesized blueprint (synthesizeBlueprint(spec)): clusterObjects, nodeFiles and configDocuments',
    );
  }
  const t = args.target;
  const toolchain = (binDir: string | undefined, need: string[]) => {
    if (!binDir)
      throw new Error(
        'hcb: HCB_TOOLCHAIN_BIN is not set. Run the stack through `npm run up` (scripts/env.sh sets it up), or export HCB_TOOLCHAIN_BIN=$(bash tools/build-toolchain.sh --bin-dir)',
      );
    const missing = need.filter((n) => !fs.existsSync(path.join(binDir, n)));
    if (missing.length)
      throw new Error(`hcb: HCB_TOOLCHAIN_BIN=${binDir} lacks ${missing.join(', ')}. Fix: npm run toolchain`);
  };
  if (t.kind === 'local') {
    toolchain(t.binDir, ['kubeadm', 'kube-apiserver', 'etcd']);
    if (!path.isAbsolute(t.stateDir))
      throw new Error(
        `hcb: config "hcb:stateDir" = ${JSON.stringify(t.stateDir)} is not an absolute path. Fix: pulumi config set hcb:stateDir /absolute/path (or pulumi config rm hcb:stateDir for <repo>/.hcb/clusters/<stack>)`,
      );
    return;
  }
  if (t.kind === 'existing') return;
  toolchain(t.binDir, ['kubeadm', 'kubelet', 'containerd', 'runc', 'kube-proxy', 'kube-router']);
  if (!path.isAbsolute(t.workDir))
    throw new Error(
      `hcb: the hosts target's working directory ${JSON.stringify(t.workDir)} is not absolute. Fix: pulumi config set hcb:stateDir /absolute/path`,
    );
  const hosts = t.hosts.hosts;
  const cps = hosts.map((h, i) => ({ h, i })).filter((x) => x.h.role === 'control-plane');
  if (cps.length === 0)
    throw new Error(
      `hcb: config "hcb:hosts" has no host with role control-plane (kubeadm init needs one). Fix: pulumi config set --path 'hosts[0].role' control-plane`,
    );
  if (cps.length > 1 && !t.hosts.controlPlaneEndpoint) {
    const { h, i } = cps[1];
    throw new Error(
      `hcb: config "hcb:hosts[${i}]" (host "${h.name}") is a further control plane, but "hcb:controlPlaneEndpoint" is not set (kubeadm joins control planes only to a cluster with a stable endpoint). ` +
        'Fix: pulumi config set hcb:controlPlaneEndpoint <load balancer>:6443',
    );
  }
  const workersSupported = opts.workersSupported ?? true;
  hosts.forEach((h, i) => {
    if (h.role === 'worker' && !workersSupported) {
      throw new Error(
        `hcb: config "hcb:hosts[${i}]" (host "${h.name}") has role worker; worker joins are not built into the hosts target yet, only the control-plane host is brought up. ` +
          `Nothing was changed on any host. Fix: pulumi config rm --path 'hosts[${i}]'`,
      );
    }
  });
  const kubeadm = b.nodeFiles.find((f) => f.role === 'kubeadm-config');
  const first = cps[0].h;
  if (!kubeadm?.content || !new RegExp(`^\\s*name: ${first.name}\\s*$`, 'm').test(kubeadm.content)) {
    throw new Error(
      `hcb: the blueprint's kubeadm configuration does not name the node "${first.name}" (hcb:hosts[${cps[0].i}]); synthesize it with hostsBlueprintSpec (stacks/hosts/program.ts)`,
    );
  }
  const { podSubnet } = blueprintRanges(b.nodeFiles);
  if (hosts.length > hostsInPodSubnet(podSubnet))
    throw new Error(
      `hcb: config "hcb:hosts" lists ${hosts.length} hosts; the pod range ${podSubnet} (hcb:podSubnet) gives each a /24 and has room for ${hostsInPodSubnet(podSubnet)}. Fix: pulumi config set hcb:podSubnet <a larger range>`,
    );
  // HCB_HOSTS_DIAL may name more hosts than hcb:hosts lists (e.g. a host about to be added); those entries are unused.
}

/** The catalogue on what the stack renders: cluster objects, control-plane configuration, manifests. */
export function complianceSummary(
  blueprint: SynthesizedBlueprint,
  manifests: KubeObject[] = [],
  now?: Date,
): ComplianceSummary {
  const docs: Document[] = [
    ...blueprint.clusterObjects.map((object) => ({ object, source: { file: 'cluster.yaml' } })),
    ...blueprint.configDocuments.map((object) => ({ object, source: { file: 'control-plane.yaml' } })),
    ...manifests.map((object) => ({ object, source: { file: 'hcb:manifests' } })),
  ];
  const s = summarize(evaluate(docs, { exceptions: blueprint.exceptions, ...(now ? { now } : {}) }));
  return {
    total: s.total,
    pass: s.byStatus.pass,
    fail: s.byStatus.fail,
    accepted: s.byStatus.accepted,
    notApplicable: s.byStatus['not-applicable'],
    notEvaluated: s.byStatus['not-evaluated'],
    error: s.byStatus.error,
  };
}

/** Children of stacks made before the component had the stack as parent. */
const FROM_STACK_ROOT: pulumi.Alias[] = [{ parent: pulumi.rootStackResource }];

export class Cluster extends pulumi.ComponentResource {
  /** Admin kubeconfig (secret); undefined on the existing target (the current kubeconfig is used). */
  public readonly kubeconfig: pulumi.Output<string | undefined>;
  /** API server URL (local: loopback; hosts: https://<control-plane address>:6443). */
  public readonly apiEndpoint: pulumi.Output<string | undefined>;
  public readonly nodes: pulumi.Output<ClusterNode[]>;
  public readonly compliance: pulumi.Output<ComplianceSummary>;
  /** The Kubernetes provider on this cluster. */
  public readonly provider: k8s.Provider;
  /** The applied groups of objects (blueprint, then manifests). */
  public readonly applied: pulumi.Resource[];
  /** The local target's control-plane resource (its outputs: serverVersion, node, images). */
  public readonly local?: LocalControlPlaneResource;
  /** The hosts target's control-plane host resource. */
  public readonly controlPlaneHost?: HostControlPlaneResource;
  /** The hosts target's further control planes (kubeadm join with the controlPlane section). */
  public readonly controlPlaneJoins: HostControlPlaneResource[] = [];
  /** The hosts target's workers. */
  public readonly workers: HostWorkerResource[] = [];
  /** The hosts target's pod network and node services (kube-proxy, NetworkPolicy enforcer). */
  public readonly network?: HostsNetworkResource;
  /** hcb:backup: the scheduled backup on each control-plane host (stacks/hosts/backup-resource.ts). */
  public readonly backupSchedules: HostBackupScheduleResource[] = [];

  constructor(name: string, args: ClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('hcb:index:Cluster', name, {}, opts);
    validateClusterArgs(args);
    const t = args.target;
    const upgrade = t.kind === 'hosts' ? {} : { aliases: FROM_STACK_ROOT };
    let kubeconfig: pulumi.Output<string | undefined>;
    let apiEndpoint: pulumi.Output<string | undefined>;
    let nodes: pulumi.Output<ClusterNode[]>;
    let applyAfter: pulumi.Resource[] | undefined;

    if (t.kind === 'local') {
      this.local = new LocalControlPlaneResource(
        'local-control-plane',
        { stateDir: t.stateDir, binDir: t.binDir, nodeFiles: args.blueprint.nodeFiles, node: t.node },
        { parent: this, ...upgrade },
      );
      this.provider = new k8s.Provider(
        'local',
        { kubeconfig: this.local.kubeconfig },
        { parent: this, dependsOn: [this.local], ...upgrade },
      );
      kubeconfig = this.local.kubeconfig;
      apiEndpoint = this.local.apiServerUrl;
      nodes = pulumi
        .all([this.local.nodeName, this.local.nodeAddress])
        .apply(([n, a]) => (n ? [{ name: n, address: a, role: 'control-plane' as const }] : []));
    } else if (t.kind === 'existing') {
      this.provider = new k8s.Provider('existing', {}, { parent: this, ...upgrade });
      kubeconfig = pulumi.output(undefined);
      apiEndpoint = pulumi.output(undefined);
      nodes = pulumi.output([]);
    } else {
      const hosts = t.hosts.hosts;
      // Each host's /24 of the pod range the blueprint's ClusterConfiguration names (hcb:podSubnet).
      const { podSubnet } = blueprintRanges(args.blueprint.nodeFiles);
      const hostPodNetwork = (i: number) => podNetworkIn(i, podSubnet);
      const cpIndex = hosts.findIndex((h) => h.role === 'control-plane');
      const cp: HostSpec = hosts[cpIndex];
      const endpoint = (h: HostSpec) => ({
        name: h.name,
        address: h.address,
        port: h.port,
        user: h.user,
        hostKey: h.hostKey,
      });
      this.controlPlaneHost = new HostControlPlaneResource(
        `host-${cp.name}`,
        {
          host: endpoint(cp),
          sshPrivateKey: pulumi.secret(t.sshPrivateKey),
          binDir: t.binDir,
          workDir: t.workDir,
          nodeFiles: args.blueprint.nodeFiles,
          podNetwork: hostPodNetwork(cpIndex),
        },
        { parent: this },
      );
      // Further control planes (stacked etcd) join one after the other (etcd adds one member at a
      // time); removing one from hcb:hosts checks quorum, drains and deletes its Node, removes its
      // etcd member and resets it. They use the same kubelet patch as workers (own cgroup parent).
      let previous: HostControlPlaneResource = this.controlPlaneHost;
      hosts.forEach((h, i) => {
        if (h.role !== 'control-plane' || i === cpIndex) return;
        const patch = t.workerKubelet?.(h);
        previous = new HostControlPlaneResource(
          `host-${h.name}`,
          {
            host: endpoint(h),
            joinTo: endpoint(cp),
            sshPrivateKey: pulumi.secret(t.sshPrivateKey),
            binDir: t.binDir,
            workDir: t.workDir,
            nodeFiles: args.blueprint.nodeFiles,
            podNetwork: hostPodNetwork(i),
            ...(patch ? { kubeletConfigPatch: patch } : {}),
          },
          { parent: this, dependsOn: [previous] },
        );
        this.controlPlaneJoins.push(previous);
      });
      // Workers join once the control plane is up; removing one from hcb:hosts drains, deletes and resets it.
      hosts.forEach((h, i) => {
        if (h.role !== 'worker') return;
        const patch = t.workerKubelet?.(h);
        this.workers.push(
          new HostWorkerResource(
            `worker-${h.name}`,
            {
              controlPlane: endpoint(cp),
              worker: endpoint(h),
              sshPrivateKey: pulumi.secret(t.sshPrivateKey),
              binDir: t.binDir,
              workDir: t.workDir,
              nodeFiles: args.blueprint.nodeFiles,
              podNetwork: hostPodNetwork(i),
              ...(patch ? { kubeletConfigPatch: patch } : {}),
            },
            { parent: this, dependsOn: [this.controlPlaneHost!] },
          ),
        );
      });
      // Then routes between the pod ranges, kube-proxy and the NetworkPolicy enforcer on every host.
      this.network = new HostsNetworkResource(
        'network',
        {
          controlPlane: endpoint(cp),
          hosts: hosts.map((h, i) => ({ endpoint: endpoint(h), podCidr: hostPodNetwork(i).podCidr })),
          sshPrivateKey: pulumi.secret(t.sshPrivateKey),
          binDir: t.binDir,
          workDir: t.workDir,
          nodeFiles: args.blueprint.nodeFiles,
        },
        { parent: this, dependsOn: [this.controlPlaneHost, ...this.controlPlaneJoins, ...this.workers] },
      );
      // hcb:backup: the schedule on every control plane, after its bring-up (removed before its reset).
      const backup = t.backup;
      const cpHosts = [cp, ...hosts.filter((h, i) => h.role === 'control-plane' && i !== cpIndex)];
      [this.controlPlaneHost, ...this.controlPlaneJoins].forEach((r, j) => {
        if (!backup) return;
        const schedule = { interval: backup.interval, retain: backup.retain };
        this.backupSchedules.push(
          new HostBackupScheduleResource(
            `backup-${cpHosts[j].name}`,
            {
              host: endpoint(cpHosts[j]),
              sshPrivateKey: pulumi.secret(t.sshPrivateKey),
              backupKey: pulumi.secret(backup.key),
              binDir: t.binDir,
              workDir: t.workDir,
              cluster: backup.cluster,
              backup: schedule,
            },
            { parent: this, dependsOn: [r] },
          ),
        );
      });
      // The baseline's NetworkPolicies are enforced when `up` has applied them.
      applyAfter = [this.network];
      const dial = t.dial?.[cp.name];
      const admin = this.controlPlaneHost.adminKubeconfig;
      this.provider = new k8s.Provider(
        'hosts',
        { kubeconfig: pulumi.secret(admin.apply((a) => kubeconfigForDial(a, cp.address, dial))) },
        { parent: this, dependsOn: [this.controlPlaneHost] },
      );
      kubeconfig = admin;
      // The URL is not secret; the kubeconfig it is read from is.
      apiEndpoint = pulumi.unsecret(admin.apply((a) => kubeconfigServer(a)));
      nodes = pulumi.output(hosts.map((h) => ({ name: h.name, address: h.address, role: h.role })));
    }

    const local = t.kind === 'local';
    const runsPods = t.kind !== 'local' || t.node;
    this.applied = this.apply('blueprint', args.blueprint.clusterObjects, {
      local,
      runsPods,
      upgrade,
      dependsOn: applyAfter,
    });
    if (args.manifests?.length) {
      // A copy: pushing into the array the new resources depend on would make them depend on themselves.
      this.applied.push(
        ...this.apply('manifests', args.manifests, { local, runsPods, dependsOn: [...this.applied], upgrade }),
      );
    }

    this.kubeconfig = pulumi.secret(kubeconfig);
    this.apiEndpoint = apiEndpoint;
    this.nodes = nodes;
    this.compliance = pulumi.output(complianceSummary(args.blueprint, args.manifests));
    this.registerOutputs({
      kubeconfig: this.kubeconfig,
      apiEndpoint: this.apiEndpoint,
      nodes: this.nodes,
      compliance: this.compliance,
    });
  }

  /**
   * The objects through the cluster's provider, Namespaces first (as stacks/apply.ts's
   * applyClusterObjects, with this component as parent and the same resource names).
   */
  private apply(
    name: string,
    objects: KubeObject[],
    o: { local: boolean; runsPods: boolean; dependsOn?: pulumi.Resource[]; upgrade: { aliases?: pulumi.Alias[] } },
  ): pulumi.Resource[] {
    return handOff(name, prepareObjects(objects, o.local, o.runsPods), {
      parent: this,
      provider: this.provider,
      dependsOn: o.dependsOn,
      aliases: o.upgrade.aliases,
      handoff: handoffFromEnv(),
    });
  }
}
