// The shop team's manifests in two charts, because two identities apply them:
// - shop-platform (the platform team): the hardened namespace (quota, limit range, default-deny),
//   the pipeline's ServiceAccount with the deployer preset, and every NetworkPolicy;
// - shop-app (the pipeline, as ServiceAccount shop-deployer): the workload, its ServiceAccount,
//   Service and PodDisruptionBudget, all of which the deployer preset may apply.
// `npm run synth` writes cdk8s.out/shop-platform.k8s.yaml and cdk8s.out/shop-app.k8s.yaml.
import { App, Chart } from 'cdk8s';
import {
  AutomationIdentity,
  HardenedNamespace,
  HardenedWorkload,
  NetworkAllowPolicy,
  NetworkPeer,
  NetworkPort,
  PodSelection,
  Probe,
  Subject,
} from 'hardened-cluster-blueprint';

const app = new App({ outdir: 'cdk8s.out' });

// Platform chart.
const platform = new Chart(app, 'shop-platform');
const ns = new HardenedNamespace(platform, 'shop', {
  app: 'shop',
  team: 'shop-team',
  environment: 'prod',
  protectionNeed: 'high',
  size: 'small',
});
// The pipeline's identity: the deployer preset in this namespace, no Secret read. Its short-lived
// tokens come from the TokenRequest API; the platform team may request them for this account only.
new AutomationIdentity(platform, 'shop-deployer', {
  namespace: ns.namespaceName,
  programs: ['shop-main'],
  tokenIssuers: [Subject.group('platform-team')],
});

// App chart.
const appChart = new Chart(app, 'shop-app');
const web = new HardenedWorkload(appChart, 'web', {
  namespace: ns.namespaceName,
  protectionNeed: 'high',
  initContainers: [
    {
      name: 'render-config',
      image:
        'registry.example.com/shop/config-renderer@sha256:4c5e3b0f7a1d2e9c8b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa',
      command: ['/render', '--out', '/work/config'],
      writablePaths: ['/work'],
    },
  ],
  containers: [
    {
      name: 'web',
      image: 'registry.example.com/shop/web@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0',
      ports: [{ number: 8080, name: 'http' }],
      liveness: Probe.fromHttpGet('/healthz'),
      readiness: { httpGet: { path: '/ready' }, periodSeconds: 5 },
      resources: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
      secretMounts: [{ secretName: 'shop-db', mountPath: '/etc/shop/db' }],
      writablePaths: ['/tmp'],
      env: { LOG_LEVEL: 'info', POD_NAME: { valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } } },
    },
  ],
  // A ClusterIP Service, and a NetworkPolicy letting only the ingress controller in on 8080. The
  // policy goes into the platform chart: the deployer preset may not change NetworkPolicies.
  expose: [{ port: 'http', from: [NetworkPeer.namespace('ingress-nginx')] }],
  exposeRulesScope: platform,
});

// The web pods may reach the database network on 5432 (platform chart, like every NetworkPolicy).
new NetworkAllowPolicy(platform, 'allow-web-to-db', {
  namespace: ns.namespaceName,
  appliesTo: PodSelection.serviceAccount(web.serviceAccountName),
  egress: [{ peers: [NetworkPeer.cidr('198.18.40.0/24')], ports: [NetworkPort.tcp(5432)] }],
});

app.synth();
