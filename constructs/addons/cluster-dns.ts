import { Construct } from 'constructs';
import {
  IntOrString,
  KubeClusterRole,
  KubeClusterRoleBinding,
  KubeConfigMap,
  KubeDeployment,
  KubeNetworkPolicy,
  KubePodDisruptionBudget,
  KubeService,
  KubeServiceAccount,
  Quantity,
} from 'cdk8s-plus-28/lib/imports/k8s';
import { BlueprintPropError } from '../common/errors';
import { checkCidr, checkIp } from '../control-plane/validation';
import { stampProvenance } from '../tenant/provenance';
import { isPinnedByDigest, requireImageReference } from '../workload/image-reference';
import { checkPodSpec } from '../workload/pod-template-checks';

export interface ClusterDnsProps {
  /** The CoreDNS image, pinned by digest (`...@sha256:<64 hex>`); its entrypoint is the coredns binary. */
  readonly image: string;
  /** The Service's ClusterIP: the address the kubelets' clusterDNS names (kubeadm: the 10th address of the service subnet). */
  readonly clusterIP: string;
  /** The cluster domain (the kubelets' clusterDomain). @default 'cluster.local' */
  readonly clusterDomain?: string;
  /**
   * Addresses of the API server endpoints (the `kubernetes` Service's endpoints) as CIDRs: the
   * only place CoreDNS may connect to (NetworkPolicy sees the address after the Service is resolved).
   */
  readonly apiServerEndpoints: string[];
  /** Port of those endpoints. @default 6443 */
  readonly apiServerPort?: number;
  /**
   * Where the kubelets' health probes come from (CIDRs), allowed to reach the health and
   * readiness ports. @default - none (the network add-on's own handling of node traffic)
   */
  readonly probeSources?: string[];
  /** @default 2 */
  readonly replicas?: number;
}

/**
 * The port CoreDNS serves DNS on inside its pod: 53, without CAP_NET_BIND_SERVICE. The pod sets
 * the namespaced, kubelet-safe sysctl net.ipv4.ip_unprivileged_port_start to 53 in its own network
 * namespace. A high port behind the Service's targetPort would also need no capability, but
 * NetworkPolicy ports name the pod's port, so every namespace's DNS egress rule (port 53,
 * DnsEgressNetworkPolicy) would stop matching.
 */
export const CLUSTER_DNS_CONTAINER_PORT = 53;
const HEALTH_PORT = 8080;
const READY_PORT = 8181;
const UID = 65532;
const NAMESPACE = 'kube-system';
const NAME = 'coredns';
const LABELS = { 'k8s-app': 'kube-dns', 'app.kubernetes.io/name': 'coredns' };

/**
 * The cluster's DNS (CoreDNS) as a hardened add-on in kube-system: its own ServiceAccount with
 * a ClusterRole that may only list and watch Services, EndpointSlices and Namespaces (what the
 * kubernetes plugin reads with `pods disabled`); a Deployment that runs as UID 65532 with a
 * read-only root, no capabilities (DNS on port 53 through the pod's own unprivileged-port sysctl), seccomp
 * RuntimeDefault, no privilege escalation and bounded resources; the `kube-dns` Service at the
 * kubelets' clusterDNS address; a PodDisruptionBudget; and a NetworkPolicy that lets DNS in
 * from every pod and lets CoreDNS out only to the API server. No upstream resolver: names
 * outside the cluster domain are not forwarded anywhere.
 */
export class ClusterDns extends Construct {
  public readonly serviceName = 'kube-dns';
  public readonly namespace = NAMESPACE;
  public readonly clusterIP: string;

  constructor(scope: Construct, id: string, props: ClusterDnsProps) {
    super(scope, id);
    const image = requireImageReference(this, 'image', props.image);
    if (!isPinnedByDigest(image)) {
      throw new BlueprintPropError(
        this,
        'image',
        image,
        'the cluster DNS image is not pinned by digest',
        'reference it as repository@sha256:<digest>',
      );
    }
    this.clusterIP = checkIp(this, 'clusterIP', props.clusterIP);
    const domain = props.clusterDomain ?? 'cluster.local';
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain)) {
      throw new BlueprintPropError(this, 'clusterDomain', domain, 'not a DNS domain', "use e.g. 'cluster.local'");
    }
    if (!props.apiServerEndpoints?.length) {
      throw new BlueprintPropError(
        this,
        'apiServerEndpoints',
        props.apiServerEndpoints,
        'CoreDNS must reach the API server and the NetworkPolicy must name where',
        "pass the API server endpoint addresses as /32 CIDRs, e.g. ['192.0.2.10/32']",
      );
    }
    const endpoints = props.apiServerEndpoints.map((c, i) => checkCidr(this, `apiServerEndpoints[${i}]`, c));
    const probeSources = (props.probeSources ?? []).map((c, i) => checkCidr(this, `probeSources[${i}]`, c));
    const apiPort = props.apiServerPort ?? 6443;
    if (!Number.isInteger(apiPort) || apiPort < 1 || apiPort > 65535) {
      throw new BlueprintPropError(this, 'apiServerPort', apiPort, 'not a port number', 'use 1-65535');
    }
    const replicas = props.replicas ?? 2;
    if (!Number.isInteger(replicas) || replicas < 1)
      throw new BlueprintPropError(this, 'replicas', replicas, 'not a positive integer', 'use 1 or more');

    const meta = (name: string, namespaced = true) => ({
      name,
      ...(namespaced ? { namespace: NAMESPACE } : {}),
      labels: { ...LABELS },
    });
    stampProvenance(
      new KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(NAME), automountServiceAccountToken: false }),
    );
    const roleName = 'hcb:coredns';
    stampProvenance(
      new KubeClusterRole(this, 'ClusterRole', {
        metadata: meta(roleName, false),
        rules: [
          { apiGroups: [''], resources: ['services', 'namespaces'], verbs: ['list', 'watch'] },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        ],
      }),
    );
    stampProvenance(
      new KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
        metadata: meta(roleName, false),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
        subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: NAMESPACE }],
      }),
    );

    const corefile = [
      `.:${CLUSTER_DNS_CONTAINER_PORT} {`,
      '    errors',
      `    health :${HEALTH_PORT} {`,
      '        lameduck 5s',
      '    }',
      `    ready :${READY_PORT}`,
      `    kubernetes ${domain} in-addr.arpa ip6.arpa {`,
      '        pods disabled',
      '        fallthrough in-addr.arpa ip6.arpa',
      '        ttl 30',
      '    }',
      '    cache 30',
      '    reload',
      '    loadbalance',
      '}',
      '',
    ].join('\n');
    stampProvenance(new KubeConfigMap(this, 'Config', { metadata: meta(NAME), data: { Corefile: corefile } }));

    const podSpec = {
      serviceAccountName: NAME,
      // The kubernetes plugin authenticates with the projected token.
      automountServiceAccountToken: true,
      priorityClassName: 'system-cluster-critical',
      // CoreDNS does not resolve through itself.
      dnsPolicy: 'Default',
      enableServiceLinks: false,
      hostNetwork: false,
      hostPid: false,
      hostIpc: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: UID,
        runAsGroup: UID,
        seccompProfile: { type: 'RuntimeDefault' },
        // Binding port 53 without a capability, in the pod's own network namespace only.
        sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: String(CLUSTER_DNS_CONTAINER_PORT) }],
      },
      tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
      containers: [
        {
          name: 'coredns',
          image,
          imagePullPolicy: 'IfNotPresent',
          args: ['-conf', '/etc/coredns/Corefile'],
          ports: [
            { name: 'dns', containerPort: CLUSTER_DNS_CONTAINER_PORT, protocol: 'UDP' },
            { name: 'dns-tcp', containerPort: CLUSTER_DNS_CONTAINER_PORT, protocol: 'TCP' },
          ],
          livenessProbe: {
            httpGet: { path: '/health', port: IntOrString.fromNumber(HEALTH_PORT) },
            initialDelaySeconds: 10,
            periodSeconds: 10,
            timeoutSeconds: 5,
            failureThreshold: 5,
          },
          readinessProbe: {
            httpGet: { path: '/ready', port: IntOrString.fromNumber(READY_PORT) },
            periodSeconds: 5,
            timeoutSeconds: 3,
          },
          resources: {
            requests: {
              cpu: Quantity.fromString('50m'),
              memory: Quantity.fromString('64Mi'),
              'ephemeral-storage': Quantity.fromString('16Mi'),
            },
            limits: {
              cpu: Quantity.fromString('500m'),
              memory: Quantity.fromString('170Mi'),
              'ephemeral-storage': Quantity.fromString('64Mi'),
            },
          },
          securityContext: {
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            runAsUser: UID,
            runAsGroup: UID,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
        },
      ],
      volumes: [{ name: 'config', configMap: { name: NAME, items: [{ key: 'Corefile', path: 'Corefile' }] } }],
    };
    const deployment = stampProvenance(
      new KubeDeployment(this, 'Deployment', {
        metadata: meta(NAME),
        spec: {
          replicas,
          selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: IntOrString.fromNumber(1) } },
          template: { metadata: { labels: { ...LABELS } }, spec: podSpec },
        },
      }),
    );
    this.node.addValidation({
      validate: () => checkPodSpec(deployment.toJson().spec.template.spec).map((p) => `${this.node.path}: ${p}`),
    });

    stampProvenance(
      new KubePodDisruptionBudget(this, 'Pdb', {
        metadata: meta(NAME),
        spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
      }),
    );
    stampProvenance(
      new KubeService(this, 'Service', {
        metadata: meta(this.serviceName),
        spec: {
          type: 'ClusterIP',
          clusterIp: this.clusterIP,
          selector: { 'k8s-app': 'kube-dns' },
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP', targetPort: IntOrString.fromNumber(CLUSTER_DNS_CONTAINER_PORT) },
            {
              name: 'dns-tcp',
              port: 53,
              protocol: 'TCP',
              targetPort: IntOrString.fromNumber(CLUSTER_DNS_CONTAINER_PORT),
            },
          ],
        },
      }),
    );
    stampProvenance(
      new KubeNetworkPolicy(this, 'NetworkPolicy', {
        metadata: meta(NAME),
        spec: {
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          policyTypes: ['Ingress', 'Egress'],
          ingress: [
            {
              from: [{ namespaceSelector: {}, podSelector: {} }],
              ports: [
                { protocol: 'UDP', port: IntOrString.fromNumber(CLUSTER_DNS_CONTAINER_PORT) },
                { protocol: 'TCP', port: IntOrString.fromNumber(CLUSTER_DNS_CONTAINER_PORT) },
              ],
            },
            ...(probeSources.length
              ? [
                  {
                    from: probeSources.map((cidr) => ({ ipBlock: { cidr } })),
                    ports: [HEALTH_PORT, READY_PORT].map((p) => ({ protocol: 'TCP', port: IntOrString.fromNumber(p) })),
                  },
                ]
              : []),
          ],
          egress: [
            {
              to: endpoints.map((cidr) => ({ ipBlock: { cidr } })),
              ports: [{ protocol: 'TCP', port: IntOrString.fromNumber(apiPort) }],
            },
          ],
        },
      }),
    );
  }
}

/** The address kubeadm gives the kubelets as clusterDNS: the 10th address of the (first) service subnet. */
export function clusterDnsAddress(serviceSubnet: string): string {
  const first = serviceSubnet.split(',')[0].trim();
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(first);
  if (!m) throw new Error(`clusterDnsAddress: only IPv4 service subnets are supported here (${serviceSubnet})`);
  const bits = Number(m[5]);
  const base = [1, 2, 3, 4].reduce((acc, i) => acc * 256 + Number(m[i]), 0);
  const size = 2 ** (32 - bits);
  if (size < 12) throw new Error(`clusterDnsAddress: ${first} is too small for a 10th address`);
  const n = Math.floor(base / size) * size + 10;
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
