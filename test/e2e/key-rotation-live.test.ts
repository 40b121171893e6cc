/**
 * Encryption key rotation on a running control plane, the way the EncryptionConfiguration
 * construct documents it: add the new key first, re-write the Secrets, remove the old key.
 * At every step the raw etcd value shows which key encrypted it, and the Secret stays readable.
 */
import * as fs from 'fs';
import * as path from 'path';
import { synthesizeBlueprint } from '../../constructs/blueprint';
import { LocalControlPlane, request } from '../../stacks/local/control-plane';
import { startCluster, TestCluster } from './support/cluster';
import { toolchainBin } from './support/env';

jest.setTimeout(300_000);

let cluster: TestCluster;
const NS = 'rotation';
const VALUE = 'rotate-me-please-0123456789';

beforeAll(async () => {
  cluster = await startCluster('rotation', 46743, { controlPlane: { encryption: { keys: ['key-a'] } } });
  expect(
    (await cluster.api.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }))
      .status,
  ).toBe(201);
  expect(
    (
      await cluster.api.post(`/api/v1/namespaces/${NS}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db' },
        stringData: { pw: VALUE },
      })
    ).status,
  ).toBe(201);
});

afterAll(async () => {
  await cluster?.stop();
});

async function rawPrefix(): Promise<string> {
  const pki = path.join(cluster.rootfs, 'etc/kubernetes/pki');
  const r = await request(
    `https://127.0.0.1:${cluster.ports.etcdClientPort}/v3/kv/range`,
    {
      ca: fs.readFileSync(path.join(pki, 'etcd/ca.crt')),
      cert: fs.readFileSync(path.join(pki, 'apiserver-etcd-client.crt')),
      key: fs.readFileSync(path.join(pki, 'apiserver-etcd-client.key')),
    },
    'POST',
    JSON.stringify({ key: Buffer.from(`/registry/secrets/${NS}/db`).toString('base64') }),
  );
  const value = Buffer.from((JSON.parse(r.body) as { kvs: Array<{ value: string }> }).kvs[0].value, 'base64').toString(
    'latin1',
  );
  expect(value).not.toContain(VALUE);
  return value.split(':').slice(0, 5).join(':');
}

async function readable(): Promise<string> {
  const s = await cluster.api.json<{ data: { pw: string } }>(`/api/v1/namespaces/${NS}/secrets/db`);
  return Buffer.from(s.data.pw, 'base64').toString();
}

/** Applies new keys to the running cluster (the runner rewrites the file and restarts what changed). */
async function withKeys(keys: string[]): Promise<void> {
  const b = synthesizeBlueprint({ controlPlane: { encryption: { keys } }, local: cluster.ports });
  await new LocalControlPlane({
    stateDir: cluster.stateDir,
    binDir: toolchainBin(),
    nodeFiles: b.nodeFiles,
    log: () => undefined,
  }).up();
}

test('add the new key, re-write, remove the old key', async () => {
  expect(await rawPrefix()).toBe('k8s:enc:secretbox:v1:key-a');

  await withKeys(['key-b', 'key-a']);
  expect(await readable()).toBe(VALUE);
  expect(await rawPrefix()).toBe('k8s:enc:secretbox:v1:key-a'); // not re-written yet

  // re-write every Secret (what `kubectl get secrets -A -o json | kubectl replace -f -` does)
  const list = await cluster.api.json<{ items: Array<Record<string, any>> }>(`/api/v1/namespaces/${NS}/secrets`);
  for (const s of list.items) {
    const r = await cluster.api.request('PUT', `/api/v1/namespaces/${NS}/secrets/${s.metadata.name}`, {
      apiVersion: 'v1',
      kind: 'Secret',
      ...s,
    });
    expect(r.status).toBe(200);
  }
  expect(await rawPrefix()).toBe('k8s:enc:secretbox:v1:key-b');

  await withKeys(['key-b']);
  expect(await readable()).toBe(VALUE);
  expect(await rawPrefix()).toBe('k8s:enc:secretbox:v1:key-b');
  const config = fs.readFileSync(path.join(cluster.rootfs, 'etc/kubernetes/encryption/encryption-config.yaml'), 'utf8');
  expect(config).not.toContain('key-a');
});
