import { Chart, Testing } from 'cdk8s';
import { stringify } from 'yaml';
import {
  AllowInNamespaceTraffic,
  AutomationIdentity,
  HardenedWorkload,
  NamespaceAccess,
  NetworkAllowPolicy,
  NetworkPeer,
  NetworkPort,
  PlatformAccess,
  PodRestartSchedule,
  PodSelection,
  Probe,
  Subject,
} from '../../constructs';

const DIGEST = `@sha256:${'0123456789abcdef'.repeat(4)}`;

function synthYaml(build: (chart: Chart) => void): string {
  const chart = Testing.chart();
  build(chart);
  return Testing.synth(chart)
    .map((doc) => stringify(doc))
    .join('---\n');
}

describe('workload, network and RBAC snapshots', () => {
  test('HardenedWorkload: Deployment, high availability, dedicated nodes, init container, restart schedule', () => {
    expect(
      synthYaml((chart) => {
        const web = new HardenedWorkload(chart, 'web', {
          namespace: 'shop',
          protectionNeed: 'very-high',
          dedicatedNodes: {
            nodeSelector: { 'hcb.dev/pool': 'shop' },
            tolerations: [{ key: 'hcb.dev/dedicated', value: 'shop' }],
          },
          initContainers: [
            { name: 'migrate', image: `registry.example.com/shop/migrate${DIGEST}`, command: ['/migrate'] },
          ],
          containers: [
            {
              name: 'web',
              image: `registry.example.com/shop/web${DIGEST}`,
              ports: [{ number: 8080, name: 'http' }],
              liveness: Probe.fromHttpGet('/healthz'),
              readiness: Probe.fromHttpGet('/ready'),
              resources: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '256Mi', memoryLimit: '1Gi' },
              secretMounts: [{ secretName: 'web-tls', mountPath: '/etc/tls' }],
              writablePaths: ['/tmp'],
              env: { LOG_LEVEL: 'info' },
            },
          ],
        });
        new PodRestartSchedule(chart, 'web-restart', {
          workload: web,
          kubectlImage: `registry.k8s.io/kubectl${DIGEST}`,
          apiServerEndpoints: ['192.168.10.2/32'],
        });
      }),
    ).toMatchSnapshot();
  });

  test('HardenedWorkload: StatefulSet', () => {
    expect(
      synthYaml(
        (chart) =>
          new HardenedWorkload(chart, 'db', {
            namespace: 'shop',
            kind: 'StatefulSet',
            replicas: 3,
            highAvailability: true,
            containers: [
              {
                name: 'db',
                image: `registry.example.com/db${DIGEST}`,
                ports: [{ number: 5432, name: 'pg' }],
                liveness: Probe.fromTcpSocket(),
                readiness: Probe.fromCommand(['pg_isready']),
                writablePaths: ['/var/run/postgresql'],
              },
            ],
          }),
      ),
    ).toMatchSnapshot();
  });

  test('HardenedWorkload: autoscaling, expose, image pull secrets, claim templates and an existing claim', () => {
    expect(
      synthYaml(
        (chart) =>
          new HardenedWorkload(chart, 'queue', {
            namespace: 'shop',
            kind: 'StatefulSet',
            protectionNeed: 'high',
            imagePullSecrets: ['shop-registry'],
            autoscaling: { minReplicas: 2, maxReplicas: 5, cpuUtilization: 70, memoryUtilization: 85 },
            expose: [{ port: 'amqp', servicePort: 5672, from: [NetworkPeer.serviceAccount('web')] }],
            volumeClaimTemplates: [
              { name: 'data', size: '20Gi', storageClass: 'fast-ssd', accessMode: 'ReadWriteOncePod' },
            ],
            containers: [
              {
                name: 'queue',
                image: `registry.example.com/queue${DIGEST}`,
                ports: [{ number: 5672, name: 'amqp' }],
                liveness: Probe.fromTcpSocket(),
                readiness: Probe.fromTcpSocket(),
                secretMounts: [{ secretName: 'queue-tls', mountPath: '/etc/tls' }],
                claimMounts: [
                  { claim: 'data', mountPath: '/var/lib/queue' },
                  { claim: 'shop-shared', mountPath: '/srv/shared', readOnly: true },
                ],
              },
            ],
          }),
      ),
    ).toMatchSnapshot();
  });

  test('network rules and micro-segmentation', () => {
    expect(
      synthYaml((chart) => {
        new NetworkAllowPolicy(chart, 'allow-web-from-ingress', {
          namespace: 'shop',
          appliesTo: PodSelection.labels({ 'hcb.dev/app': 'web' }),
          ingress: [{ peers: [NetworkPeer.namespace('ingress-nginx')], ports: [NetworkPort.tcp(8080)] }],
        });
        new NetworkAllowPolicy(chart, 'allow-api-egress', {
          namespace: 'shop',
          appliesTo: PodSelection.serviceAccount('operator'),
          egress: [
            { peers: [NetworkPeer.apiServer(['192.168.10.2/32'])], ports: [NetworkPort.tcp(6443)] },
            { peers: [NetworkPeer.cidr('10.20.0.0/16', ['10.20.5.0/24'])], ports: [NetworkPort.tcpRange(5432, 5433)] },
          ],
        });
        new AllowInNamespaceTraffic(chart, 'web-to-db', {
          namespace: 'shop',
          from: PodSelection.serviceAccount('web'),
          to: PodSelection.labels({ 'hcb.dev/app': 'db' }),
          ports: [NetworkPort.tcp(5432)],
        });
      }),
    ).toMatchSnapshot();
  });

  test('RBAC presets, platform roles, automation identity', () => {
    expect(
      synthYaml((chart) => {
        for (const preset of ['viewer', 'developer', 'deployer', 'namespace-admin'] as const) {
          new NamespaceAccess(chart, preset, {
            namespace: 'shop',
            preset,
            subjects: [Subject.group(`shop-${preset}s`)],
          });
        }
        new PlatformAccess(chart, 'storage', { role: 'storage-admin', subjects: [Subject.group('platform-storage')] });
        new PlatformAccess(chart, 'network', { role: 'network-admin', subjects: [Subject.group('platform-network')] });
        new AutomationIdentity(chart, 'ci', { namespace: 'shop', programs: ['build', 'release'], tokens: 'secret' });
      }),
    ).toMatchSnapshot();
  });
});
