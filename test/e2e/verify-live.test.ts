/**
 * `hcb verify` on a running control plane: the catalogue passes what really runs, the probes
 * pass, and a change made on the node after the fact (a key file opened up) is caught.
 */
import * as fs from 'fs';
import * as path from 'path';
import { backupNow } from '../../stacks/local/backup';
import { verifyLocalCluster, observe, redactSecrets } from '../../stacks/local/verify';
import { startCluster, TestCluster } from './support/cluster';
import { toolchainBin } from './support/env';

jest.setTimeout(300_000);

let cluster: TestCluster;
const NS = 'verify-ns';

beforeAll(async () => {
  cluster = await startCluster('verify', 46643, { namespaces: [{ name: NS }] });
  // Apply the blueprint's objects the way the stack does (server-side apply, Namespaces first).
  const resource: Record<string, string> = {
    Namespace: '/api/v1/namespaces',
    NetworkPolicy: '/apis/networking.k8s.io/v1/namespaces/NS/networkpolicies',
    ResourceQuota: '/api/v1/namespaces/NS/resourcequotas',
    LimitRange: '/api/v1/namespaces/NS/limitranges',
    ServiceAccount: '/api/v1/namespaces/NS/serviceaccounts',
    ValidatingAdmissionPolicy: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
    ValidatingAdmissionPolicyBinding: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
  };
  const objects = [...cluster.blueprint.clusterObjects].sort(
    (a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'),
  );
  for (const o of objects) {
    const base = resource[o.kind!];
    expect(base).toBeDefined();
    const url = `${base.replace('NS', o.metadata?.namespace ?? '')}/${o.metadata!.name}?fieldManager=hcb-test&force=true`;
    const r = await cluster.api.request('PATCH', url, o, 'application/apply-patch+yaml');
    expect([200, 201]).toContain(r.status);
  }
});

afterAll(async () => {
  await cluster?.stop();
});

const opts = () => ({
  stateDir: cluster.stateDir,
  nodeFiles: cluster.blueprint.nodeFiles,
  namespaces: [NS],
  exceptions: cluster.blueprint.exceptions,
});

test('what runs is observed from the processes, the files and the API', async () => {
  const { documents, missing } = await observe(opts());
  expect(missing).toEqual([]);
  const apiserver = documents.find(
    (d) => d.object.kind === 'Pod' && d.object.metadata?.name === 'kube-apiserver-observed',
  );
  const command = (apiserver!.object.spec as { containers: Array<{ command: string[] }> }).containers[0].command;
  expect(command).toContain(
    '--anonymous-auth=false'.replace(
      '--anonymous-auth=false',
      command.find((a) => a.startsWith('--authentication-config=')) ?? '--anonymous-auth=false',
    ),
  );
  // host paths are mapped back to node paths
  expect(command.find((a) => a.startsWith('--audit-policy-file='))).toBe(
    '--audit-policy-file=/etc/kubernetes/audit/policy.yaml',
  );
  const encryption = documents.find((d) => d.object.kind === 'EncryptionConfiguration');
  expect(encryption).toBeDefined();
  const key = fs.readFileSync(path.join(cluster.stateDir, 'secrets', 'encryption-key-1'), 'utf8').trim();
  expect(JSON.stringify(documents)).not.toContain(key);
  expect(documents.some((d) => d.object.kind === 'Namespace' && d.object.metadata?.name === NS)).toBe(true);
});

test('without a backup on disk, HCB-BACKUP-RECENT fails; the configuration is read from the node', async () => {
  const { findings } = await verifyLocalCluster(opts());
  const recent = findings.filter((f) => f.control === 'HCB-BACKUP-RECENT');
  expect(recent.map((f) => f.status)).toEqual(['fail']);
  expect(recent[0].message).toMatch(/no backup of this cluster/);
  expect(findings.filter((f) => f.control === 'HCB-BACKUP-CONFIGURED').map((f) => f.status)).toEqual(['pass']);
});

test('the running cluster passes: no failures, probes pass', async () => {
  await backupNow({ stateDir: cluster.stateDir, binDir: toolchainBin(), hcbVersion: 'test' });
  const { findings, missing } = await verifyLocalCluster(opts());
  expect(missing).toEqual([]);
  expect(
    findings.filter((f) => f.status === 'fail' || f.status === 'error').map((f) => `${f.control}: ${f.message}`),
  ).toEqual([]);
  const probes = findings.filter((f) => f.object?.kind === 'Probe');
  expect(probes.map((p) => [p.control, p.status])).toEqual(
    expect.arrayContaining([
      ['HCB-APISERVER-ANONYMOUS-AUTH', 'pass'],
      ['HCB-APISERVER-TLS-MIN-VERSION', 'pass'],
      ['HCB-APISERVER-TLS-CIPHER-SUITES', 'pass'],
      ['HCB-APISERVER-PROFILING', 'pass'],
    ]),
  );
  expect(findings.filter((f) => f.status === 'pass').length).toBeGreaterThan(80);
});

test('a key file opened up on disk is caught', async () => {
  const keyFile = path.join(cluster.rootfs, 'etc/kubernetes/pki/apiserver.key');
  fs.chmodSync(keyFile, 0o644);
  try {
    const { findings } = await verifyLocalCluster(opts());
    const bad = findings.filter((f) => f.status === 'fail');
    expect(bad.map((f) => f.control)).toContain('HCB-NODEFILE-PKI-KEY-MODE');
    expect(bad.find((f) => f.control === 'HCB-NODEFILE-PKI-KEY-MODE')!.message).toContain(
      '/etc/kubernetes/pki/apiserver.key',
    );
  } finally {
    fs.chmodSync(keyFile, 0o600);
  }
});

test('secret values are redacted before evaluation', () => {
  expect(redactSecrets('      - name: k\n        secret: c2VjcmV0LWtleQ==\n')).toBe(
    '      - name: k\n        secret: "{{hcb-secret:observed-key-redacted}}"\n',
  );
});
