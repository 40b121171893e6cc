// The shop team's manifests: one hardened namespace and one hardened workload, plus the two
// network rules the application needs. `npm run synth` writes cdk8s.out/shop.k8s.yaml.
import { App, Chart } from 'cdk8s';
import {
  HardenedNamespace, HardenedWorkload, NetworkAllowPolicy, NetworkPeer, NetworkPort, PodSelection, Probe,
} from 'hardened-cluster-blueprint';

const app = new App({ outdir: 'cdk8s.out' });
const chart = new Chart(app, 'shop');

const ns = new HardenedNamespace(chart, 'shop', {
  app: 'shop',
  team: 'shop-team',
  environment: 'prod',
  protectionNeed: 'high',
  size: 'small',
});

const web = new HardenedWorkload(chart, 'web', {
  namespace: ns.namespaceName,
  protectionNeed: 'high',
  initContainers: [{
    name: 'render-config',
    image: 'registry.example.com/shop/config-renderer@sha256:4c5e3b0f7a1d2e9c8b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa',
    command: ['/render', '--out', '/work/config'],
    writablePaths: ['/work'],
  }],
  containers: [{
    name: 'web',
    image: 'registry.example.com/shop/web@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0',
    ports: [{ number: 8080, name: 'http' }],
    liveness: Probe.fromHttpGet('/healthz'),
    readiness: Probe.fromHttpGet('/ready'),
    resources: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    secretMounts: [{ secretName: 'shop-db', mountPath: '/etc/shop/db' }],
    writablePaths: ['/tmp'],
    env: { LOG_LEVEL: 'info' },
  }],
});

// The ingress controller may reach the web pods on 8080; nothing else may.
new NetworkAllowPolicy(chart, 'allow-web-from-ingress', {
  namespace: ns.namespaceName,
  appliesTo: PodSelection.serviceAccount(web.serviceAccountName),
  ingress: [{ peers: [NetworkPeer.namespace('ingress-nginx')], ports: [NetworkPort.tcp(8080)] }],
});

// The web pods may reach the database network on 5432.
new NetworkAllowPolicy(chart, 'allow-web-to-db', {
  namespace: ns.namespaceName,
  appliesTo: PodSelection.serviceAccount(web.serviceAccountName),
  egress: [{ peers: [NetworkPeer.cidr('10.40.0.0/24')], ports: [NetworkPort.tcp(5432)] }],
});

app.synth();
