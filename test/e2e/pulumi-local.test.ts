/**
 * Walking skeleton, end to end: the real Pulumi CLI runs `pulumi up` on the stack `local`,
 * which starts the real local control plane and its node (hcb:node, default true) and applies
 * a HardenedNamespace; the node is Ready; the objects are read back through the API; a
 * HardenedWorkload is awaited until it runs (no skipAwait with a node); a second `up` changes
 * nothing; `destroy` removes the objects and stops every process, and leaves no namespace,
 * mount, interface or cgroup of the node behind.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { HardenedNamespace, HardenedWorkload, Probe } from '../../constructs';
import { synthesizeBlueprint } from '../../constructs/blueprint';
import { withLocalClusterDns } from '../../stacks/local/cluster-dns';
import { COMPONENTS } from '../../stacks/local/control-plane';
import { cgroupDirs } from '../../stacks/local/node/node';
import { eventually } from './support/cluster';
import {
  ApiClient,
  installProvider,
  mustRun,
  processAlive,
  pulumiEnv,
  REPO,
  run,
  tempDir,
  tempProject,
  toolchainBin,
} from './support/env';

jest.setTimeout(900_000);

// Ports of their own, so the test never meets a cluster started by `npm run up`.
const PORTS = {
  apiServerPort: 26443,
  etcdClientPort: 22379,
  etcdPeerPort: 22380,
  etcdMetricsPort: 22381,
  controllerManagerPort: 20257,
  schedulerPort: 20259,
};
const NAMESPACE = 'hcb-e2e-skeleton';

describe('pulumi up on the local stack', () => {
  const bin = toolchainBin();
  const home = tempDir('pulumi');
  const project = tempProject();
  const stateDir = path.join(home, 'cluster');
  const env = pulumiEnv(home, bin);
  const pulumi = (args: string[]) =>
    mustRun(path.join(bin, 'pulumi'), [...args, '--non-interactive'], { cwd: project, env });
  let pids: number[] = [];
  let nodePids: number[] = [];
  let netns = '';
  let cgroupRoot = '';
  let destroyed = false;
  const hostLinks = () =>
    spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((l) => l.split(':')[1]?.trim())
      .filter(Boolean)
      .sort();
  const linksBefore = hostLinks();

  beforeAll(() => {
    installProvider(bin, project, env);
    pulumi(['stack', 'init', 'local']);
    pulumi(['config', 'set', 'stateDir', stateDir]);
    pulumi(['config', 'set', '--path', 'namespaces[0]', NAMESPACE]);
    for (const [k, v] of Object.entries(PORTS)) pulumi(['config', 'set', k, String(v)]);
  });

  afterAll(() => {
    if (!destroyed) run(path.join(bin, 'pulumi'), ['destroy', '--yes', '--non-interactive'], { cwd: project, env });
    for (const pid of pids) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  test('up starts the control plane and applies the hardened namespace', async () => {
    const out = pulumi(['up', '--yes', '--skip-preview']);
    expect(out).toMatch(/Resources:\s*\n\s*\+ \d+ created/);

    const kubeconfig = pulumi(['stack', 'output', 'kubeconfig', '--show-secrets']).trim();
    const api = new ApiClient(kubeconfig);
    const version = await api.json<{ gitVersion: string }>('/version');
    expect(version.gitVersion).toBe('v1.36.3');

    const ns = await api.json<{ metadata: { labels: Record<string, string> } }>(`/api/v1/namespaces/${NAMESPACE}`);
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce-version']).toMatch(/^v1\.\d+$/);
    // With the node the stack deploys the cluster DNS add-on, awaited by Pulumi (ready when up returns).
    const dns = await api.json<{
      status: { readyReplicas?: number };
      spec: { template: { spec: { containers: Array<{ image: string }> } } };
    }>('/apis/apps/v1/namespaces/kube-system/deployments/coredns');
    expect(dns.status.readyReplicas).toBe(2);
    expect(dns.spec.template.spec.containers[0].image).toMatch(/^hcb\.local\/hcb\/coredns@sha256:[0-9a-f]{64}$/);

    const policies = await api.json<{
      items: Array<{ spec: { podSelector: unknown; policyTypes: string[]; ingress?: unknown[]; egress?: unknown[] } }>;
    }>(`/apis/networking.k8s.io/v1/namespaces/${NAMESPACE}/networkpolicies`);
    const denyAll = policies.items.filter(
      (p) =>
        JSON.stringify(p.spec.podSelector) === '{}' &&
        p.spec.policyTypes.includes('Ingress') &&
        p.spec.policyTypes.includes('Egress') &&
        !p.spec.ingress?.length &&
        !p.spec.egress?.length,
    );
    expect(denyAll).toHaveLength(1);

    // The catalogue's admission policies and their bindings were applied through the provider.
    for (const kind of ['validatingadmissionpolicies', 'validatingadmissionpolicybindings']) {
      const list = await api.json<{ items: Array<{ metadata: { name: string } }> }>(
        `/apis/admissionregistration.k8s.io/v1/${kind}?labelSelector=hcb.dev%2Fcontrol-group`,
      );
      expect(list.items.map((i) => i.metadata.name)).toContain('hcb-workloads-enforce');
    }

    // The state never holds the encryption key: only the token the stack materializes on the node.
    const exported = pulumi(['stack', 'export']);
    expect(exported).toContain('{{hcb-secret:');
    const keyFiles = fs.readdirSync(path.join(stateDir, 'secrets'));
    expect(keyFiles.length).toBeGreaterThan(0);
    for (const f of keyFiles) {
      const key = fs.readFileSync(path.join(stateDir, 'secrets', f), 'utf8').trim();
      expect(exported).not.toContain(key);
    }

    pids = fs
      .readdirSync(path.join(stateDir, 'run'))
      .map((f) => (JSON.parse(fs.readFileSync(path.join(stateDir, 'run', f), 'utf8')) as { pid: number }).pid);
    expect(pids).toHaveLength(COMPONENTS.length);
    for (const pid of pids) expect(processAlive(pid)).toBe(true);
  });

  test('up also gives a Ready node (hcb:node defaults to true), named in the stack outputs', async () => {
    const kubeconfig = pulumi(['stack', 'output', 'kubeconfig', '--show-secrets']).trim();
    const api = new ApiClient(kubeconfig);
    expect(pulumi(['stack', 'output', 'nodeName']).trim()).toBe('hcb-local');
    expect(pulumi(['stack', 'output', 'nodeAddress']).trim()).toBe('198.18.0.2');
    const node = await api.json<{
      status: { conditions: Array<{ type: string; status: string }>; nodeInfo: { kubeletVersion: string } };
    }>('/api/v1/nodes/hcb-local');
    expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status.nodeInfo.kubeletVersion).toBe('v1.36.3');
    // What teardown must remove: the node's processes, its network namespace and its cgroups.
    const nodeRun = path.join(stateDir, 'node', 'run');
    nodePids = fs
      .readdirSync(nodeRun)
      .filter((f) => f.endsWith('.json'))
      .map((f) => (JSON.parse(fs.readFileSync(path.join(nodeRun, f), 'utf8')) as { pid: number }).pid);
    expect(nodePids.length).toBeGreaterThanOrEqual(5); // holder, containerd, two forwarders, kubelet
    for (const pid of nodePids) expect(processAlive(pid)).toBe(true);
    netns = (JSON.parse(fs.readFileSync(path.join(nodeRun, 'holder.json'), 'utf8')) as { netns: string }).netns;
    expect(fs.existsSync(`/run/netns/${netns}`)).toBe(true);
    cgroupRoot = fs.readFileSync(path.join(stateDir, 'node', 'cgroup-root'), 'utf8').trim();
    expect(cgroupRoot).toBe(`/hcb-local-${PORTS.apiServerPort}`);
    expect(cgroupDirs(cgroupRoot).length).toBeGreaterThan(0);
  });

  test('with the node, a HardenedWorkload is awaited until it runs (no skipAwait), and removed again', async () => {
    const kubeconfig = pulumi(['stack', 'output', 'kubeconfig', '--show-secrets']).trim();
    const api = new ApiClient(kubeconfig);
    const images = JSON.parse(pulumi(['stack', 'output', 'nodeImages', '--json'])) as Record<string, string>;
    expect(images.probe).toMatch(/@sha256:[0-9a-f]{64}$/);
    const app = new App();
    const chart = new Chart(app, 'work');
    const ns = new HardenedNamespace(chart, 'work', {
      name: 'hcb-e2e-work',
      app: 'probe',
      team: 'e2e',
      environment: 'test',
      protectionNeed: 'normal',
      size: 'small',
    } as never);
    new HardenedWorkload(chart, 'probe', {
      namespace: ns.namespaceName,
      containers: [
        {
          name: 'probe',
          image: images.probe,
          args: ['serve', ':8080'],
          ports: [{ number: 8080, name: 'http' }],
          liveness: Probe.fromHttpGet('/healthz', { port: 8080 }),
          readiness: Probe.fromHttpGet('/ready', { port: 8080 }),
          resources: { cpuRequest: '10m', cpuLimit: '200m', memoryRequest: '16Mi', memoryLimit: '64Mi' },
        },
      ],
    });
    const file = path.join(home, 'workload.yaml');
    fs.writeFileSync(file, app.synthYaml());
    pulumi(['config', 'set', '--path', 'manifests[0]', file]);
    try {
      pulumi(['up', '--yes', '--skip-preview']);
      // (an idle keep-alive socket from before the long up may have been closed: retried)
      const deployments = await eventually('the Deployment', () =>
        api.json<{
          items: Array<{ metadata: { annotations?: Record<string, string> }; status: { readyReplicas?: number } }>;
        }>('/apis/apps/v1/namespaces/hcb-e2e-work/deployments'),
      );
      expect(deployments.items).toHaveLength(1);
      // Awaited by Pulumi, not skipped: when `up` returned, the pod was running and ready.
      expect(deployments.items[0].metadata.annotations?.['pulumi.com/skipAwait']).toBeUndefined();
      expect(deployments.items[0].status.readyReplicas).toBe(1);
    } finally {
      pulumi(['config', 'rm', 'manifests']);
      pulumi(['up', '--yes', '--skip-preview']);
    }
    await eventually(
      'the workload namespace to be gone',
      async () => ((await api.get('/api/v1/namespaces/hcb-e2e-work')).status === 404 ? true : undefined),
      120_000,
    );
  });

  test('a second up reports no changes', () => {
    const out = pulumi(['up', '--yes', '--skip-preview', '--expect-no-changes']);
    expect(out).not.toMatch(/[+~-] \d+ (created|updated|deleted|replaced)/);
    expect(out).toMatch(/\d+ unchanged/);
  });

  test('the policy pack passes the blueprint and blocks an insecure manifest', () => {
    const pack = path.join(REPO, 'policies/pack');
    const config = path.join(home, 'policy-config.json');
    // The blueprint's own exceptions for this stack (what `npm run up` passes from exceptions.yaml).
    // (with the node, the stack also renders the DNS add-on and its reviewed exceptions)
    const stackSpec = withLocalClusterDns(
      { target: 'local', spec: { namespaces: [{ name: NAMESPACE }], local: PORTS }, manifests: [], node: true },
      bin,
    );
    const exceptions = synthesizeBlueprint(stackSpec.spec).exceptions;
    fs.writeFileSync(config, JSON.stringify({ 'hcb-controls': { exceptions } }));
    const ok = run(
      path.join(bin, 'pulumi'),
      ['preview', '--non-interactive', '--policy-pack', pack, '--policy-pack-config', config],
      { cwd: project, env },
    );
    if (ok.status !== 0) throw new Error(`preview with the policy pack failed:\n${ok.stdout}\n${ok.stderr}`);
    expect(`${ok.stdout}${ok.stderr}`).not.toMatch(/mandatory/);

    const bad = path.join(home, 'insecure.yaml');
    fs.writeFileSync(
      bad,
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: leaky, namespace: default}',
        'spec:',
        '  selector: {matchLabels: {app: leaky}}',
        '  template:',
        '    metadata: {labels: {app: leaky}}',
        '    spec:',
        '      containers:',
        '      - name: app',
        '        image: registry.example/app:1',
        '        env: [{name: PW, valueFrom: {secretKeyRef: {name: db, key: pw}}}]',
        '',
      ].join('\n'),
    );
    pulumi(['config', 'set', '--path', 'manifests[0]', bad]);
    const blocked = run(
      path.join(bin, 'pulumi'),
      ['preview', '--non-interactive', '--policy-pack', pack, '--policy-pack-config', config],
      { cwd: project, env },
    );
    pulumi(['config', 'rm', 'manifests']);
    const text = `${blocked.stdout}${blocked.stderr}`;
    expect(blocked.status).not.toBe(0);
    expect(text).toMatch(/mandatory/);
    expect(text).toContain('V-242415');
    expect(text).toContain('V-242383');
  });

  test('an up without the namespace deletes it through the API', async () => {
    const kubeconfig = pulumi(['stack', 'output', 'kubeconfig', '--show-secrets']).trim();
    const api = new ApiClient(kubeconfig);
    pulumi(['config', 'set', '--path', 'namespaces[0]', `${NAMESPACE}-next`]);
    const out = pulumi(['up', '--yes', '--skip-preview']);
    expect(out).toMatch(/\d+ deleted/);
    expect((await api.get(`/api/v1/namespaces/${NAMESPACE}`)).status).toBe(404);
    expect((await api.get(`/apis/networking.k8s.io/v1/namespaces/${NAMESPACE}/networkpolicies`)).body).not.toContain(
      '"name"',
    );
    expect((await api.get(`/api/v1/namespaces/${NAMESPACE}-next`)).status).toBe(200);
  });

  test('destroy removes the objects and stops every process', async () => {
    const kubeconfig = pulumi(['stack', 'output', 'kubeconfig', '--show-secrets']).trim();
    const api = new ApiClient(kubeconfig);
    const out = pulumi(['destroy', '--yes', '--skip-preview']);
    destroyed = true;
    expect(out).toMatch(/\d+ deleted/);
    for (const pid of [...pids, ...nodePids]) expect(processAlive(pid)).toBe(false);
    await expect(api.get('/version')).rejects.toThrow();
    expect(fs.existsSync(path.join(stateDir, 'rootfs'))).toBe(false);
    // The node is gone with it: no network namespace, mount, cgroup or host interface is left.
    expect(fs.existsSync(`/run/netns/${netns}`)).toBe(false);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(stateDir);
    expect(cgroupDirs(cgroupRoot)).toEqual([]);
    expect(hostLinks()).toEqual(linksBefore);
  });
});
