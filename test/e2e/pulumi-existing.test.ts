/**
 * The `existing` target: `pulumi up` applies the blueprint's cluster objects to the cluster of
 * the current kubeconfig (here a local control plane this test starts for itself), and
 * `pulumi destroy` removes them again; the cluster itself is left alone.
 */
import * as fs from 'fs';
import * as path from 'path';
import { installProvider, mustRun, pulumiEnv, tempDir, tempProject, toolchainBin } from './support/env';
import { startCluster, TestCluster } from './support/cluster';

jest.setTimeout(600_000);

const NAMESPACE = 'hcb-e2e-existing';
let cluster: TestCluster;
const bin = toolchainBin();
const home = tempDir('pulumi-existing');
const project = tempProject();
const kubeconfig = path.join(home, 'kubeconfig');
const env = { ...pulumiEnv(home, bin), KUBECONFIG: kubeconfig };
const pulumi = (args: string[]) =>
  mustRun(path.join(bin, 'pulumi'), [...args, '--non-interactive'], { cwd: project, env });

beforeAll(async () => {
  cluster = await startCluster('existing', 46543);
  fs.writeFileSync(kubeconfig, cluster.kubeconfig, { mode: 0o600 });
  installProvider(bin, project, env);
  pulumi(['stack', 'init', 'existing']);
  pulumi(['config', 'set', 'target', 'existing']);
  pulumi(['config', 'set', '--path', 'namespaces[0]', NAMESPACE]);
});

afterAll(async () => {
  await cluster?.stop();
});

test('up applies the hardened namespace to the kubeconfig cluster; destroy removes it', async () => {
  const up = pulumi(['up', '--yes', '--skip-preview']);
  expect(up).toMatch(/\+ \d+ created/);
  expect(up).not.toContain('local-control-plane');
  const ns = await cluster.api.json<{ metadata: { labels: Record<string, string> } }>(
    `/api/v1/namespaces/${NAMESPACE}`,
  );
  expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  expect((await cluster.api.get(`/apis/networking.k8s.io/v1/namespaces/${NAMESPACE}/networkpolicies`)).body).toContain(
    'hcb-default-deny',
  );

  pulumi(['destroy', '--yes', '--skip-preview']);
  expect((await cluster.api.get(`/api/v1/namespaces/${NAMESPACE}`)).status).toBe(404);
  // the cluster itself is not the stack's: it still answers
  expect((await cluster.api.get('/readyz')).status).toBe(200);
});
