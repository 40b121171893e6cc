/**
 * Issue 3's live proofs: the control plane started from the blueprint's own files behaves as
 * the files say. Each refusal is paired with a control that shows the same client succeeding
 * where it should, so a broken client cannot make a test pass.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tls from 'tls';
import { request } from '../../stacks/local/control-plane';
import { auditEvents, eventually, startCluster, TestCluster } from './support/cluster';

jest.setTimeout(300_000);

const AUDIT_LOG = '/var/log/kubernetes/audit/audit.log';
const NS = 'live-proofs';
let cluster: TestCluster;
let ca: Buffer;

beforeAll(async () => {
  // A small audit log (1 MiB, 2 backups) so that rotation can be observed in a test.
  cluster = await startCluster('live', 36443, { controlPlane: { audit: { log: { maxSizeMb: 1, maxBackups: 2 } } } });
  ca = fs.readFileSync(path.join(cluster.rootfs, 'etc/kubernetes/pki/ca.crt'));
  const created = await cluster.api.post('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: NS },
  });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  await cluster?.stop();
});

const base = () => `https://127.0.0.1:${cluster.ports.apiServerPort}`;

describe('authentication', () => {
  test('an anonymous request gets 401; health endpoints stay reachable', async () => {
    expect((await request(`${base()}/api/v1/namespaces`, { ca })).status).toBe(401);
    expect((await request(`${base()}/version`, { ca })).status).toBe(401);
    expect((await request(`${base()}/readyz`, { ca })).status).toBe(200);
    // control: the same endpoint with a client certificate works
    expect((await cluster.api.get('/api/v1/namespaces')).status).toBe(200);
  });
});

describe('TLS', () => {
  function handshake(opts: tls.ConnectionOptions): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect(
        { host: '127.0.0.1', port: cluster.ports.apiServerPort, ca, servername: 'kubernetes', ...opts },
        () => {
          const v = socket.getProtocol() ?? '';
          socket.end();
          resolve(v);
        },
      );
      socket.on('error', reject);
    });
  }

  test('TLS 1.1 is refused by the API server (the client can speak TLS 1.1)', async () => {
    const tls11 = { minVersion: 'TLSv1.1' as const, maxVersion: 'TLSv1.1' as const, ciphers: 'DEFAULT@SECLEVEL=0' };
    // control: a local server that allows TLS 1.1 completes the handshake with this client
    const key = fs.readFileSync(path.join(cluster.rootfs, 'etc/kubernetes/pki/apiserver.key'));
    const cert = fs.readFileSync(path.join(cluster.rootfs, 'etc/kubernetes/pki/apiserver.crt'));
    const server = tls.createServer({ key, cert, minVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) =>
      s.end(),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const version = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'kubernetes', ...tls11 }, () => {
        resolve(s.getProtocol() ?? '');
        s.end();
      });
      s.on('error', reject);
    });
    server.close();
    expect(version).toBe('TLSv1.1');

    await expect(handshake(tls11)).rejects.toThrow(/protocol version|unsupported protocol/i);
    await expect(handshake({ maxVersion: 'TLSv1.2', minVersion: 'TLSv1.2' })).resolves.toBe('TLSv1.2');
  });

  test('a cipher suite outside the approved list is refused; an approved one is accepted', async () => {
    // TLS_RSA_WITH_AES_128_CBC_SHA (no forward secrecy, CBC) is not in the approved list
    await expect(handshake({ maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' })).rejects.toThrow(/handshake failure/i);
    await expect(
      handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256' }),
    ).resolves.toBe('TLSv1.2');
  });
});

describe('encryption at rest', () => {
  test('a Secret is stored encrypted in etcd', async () => {
    const plaintext = 'very-secret-value-1234567890';
    const res = await cluster.api.post(`/api/v1/namespaces/${NS}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db' },
      stringData: { password: plaintext },
    });
    expect(res.status).toBe(201);

    const pki = path.join(cluster.rootfs, 'etc/kubernetes/pki');
    const etcdTls = {
      ca: fs.readFileSync(path.join(pki, 'etcd/ca.crt')),
      cert: fs.readFileSync(path.join(pki, 'apiserver-etcd-client.crt')),
      key: fs.readFileSync(path.join(pki, 'apiserver-etcd-client.key')),
    };
    const etcd = `https://127.0.0.1:${cluster.ports.etcdClientPort}`;
    const read = async (key: string) => {
      const r = await request(
        `${etcd}/v3/kv/range`,
        etcdTls,
        'POST',
        JSON.stringify({ key: Buffer.from(key).toString('base64') }),
      );
      expect(r.status).toBe(200);
      const kvs = (JSON.parse(r.body) as { kvs?: Array<{ value: string }> }).kvs ?? [];
      expect(kvs).toHaveLength(1);
      return Buffer.from(kvs[0].value, 'base64');
    };
    const raw = await read(`/registry/secrets/${NS}/db`);
    expect(raw.toString('latin1').startsWith('k8s:enc:secretbox:v1:encryption-key-1:')).toBe(true);
    expect(raw.toString('latin1')).not.toContain(plaintext);
    expect(raw.toString('latin1')).not.toContain(Buffer.from(plaintext).toString('base64'));
    // control: a ConfigMap (not encrypted) is readable in plain text the same way
    await cluster.api.post(`/api/v1/namespaces/${NS}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'plain' },
      data: { k: plaintext },
    });
    expect((await read(`/registry/configmaps/${NS}/plain`)).toString('latin1')).toContain(plaintext);
  });
});

describe('audit log', () => {
  test('a Secret read is recorded at Metadata without its data', async () => {
    await cluster.api.post(`/api/v1/namespaces/${NS}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'audited' },
      stringData: { token: 'audit-me-not' },
    });
    expect((await cluster.api.get(`/api/v1/namespaces/${NS}/secrets/audited`)).status).toBe(200);
    const event = await eventually('the audit event of the Secret read', async () =>
      auditEvents(cluster.rootfs, AUDIT_LOG).find(
        (e) =>
          e.verb === 'get' &&
          e.objectRef?.resource === 'secrets' &&
          e.objectRef?.name === 'audited' &&
          e.stage === 'ResponseComplete',
      ),
    );
    expect(event.level).toBe('Metadata');
    expect(event.requestObject).toBeUndefined();
    expect(event.responseObject).toBeUndefined();
    expect(JSON.stringify(auditEvents(cluster.rootfs, AUDIT_LOG))).not.toContain('audit-me-not');
  });

  test('an RBAC change is recorded with its request and response', async () => {
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'audited-role' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
    };
    expect((await cluster.api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`, role)).status).toBe(
      201,
    );
    const event = await eventually('the audit event of the Role creation', async () =>
      auditEvents(cluster.rootfs, AUDIT_LOG).find(
        (e) =>
          e.verb === 'create' &&
          e.objectRef?.resource === 'roles' &&
          e.objectRef?.name === 'audited-role' &&
          e.stage === 'ResponseComplete',
      ),
    );
    expect(event.level).toBe('RequestResponse');
    expect(event.requestObject?.rules?.[0]?.resources).toEqual(['configmaps']);
    expect(event.responseObject?.metadata?.name).toBe('audited-role');
  });

  test('the audit log rotates at the configured size and keeps the configured backups', async () => {
    const dir = path.dirname(path.join(cluster.rootfs, AUDIT_LOG));
    const backups = () => fs.readdirSync(dir).filter((f) => f !== 'audit.log' && f.startsWith('audit'));
    // RBAC writes are logged with request and response (~2 KiB each): ~3.5 MiB in all.
    for (let i = 0; i < 1800; i++) {
      const r = await cluster.api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles?dryRun=All`, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: `filler-${i}`, annotations: { filler: 'x'.repeat(400) } },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
      });
      expect(r.status).toBe(201);
    }
    await eventually('rotated audit files', async () => (backups().length >= 2 ? true : undefined));
    const max = 1024 * 1024;
    expect(fs.statSync(path.join(dir, 'audit.log')).size).toBeLessThanOrEqual(max + 64 * 1024);
    for (const f of backups()) expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(max + 64 * 1024);
    expect(backups().length).toBeLessThanOrEqual(2);
  });
});

describe('Pod Security admission defaults', () => {
  test('a privileged pod in a namespace without labels is rejected; a restricted pod is admitted', async () => {
    const ns = 'no-labels';
    expect(
      (await cluster.api.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }))
        .status,
    ).toBe(201);
    await eventually('the default service account', async () =>
      (await cluster.api.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200 ? true : undefined,
    );
    const pod = (
      name: string,
      securityContext: Record<string, unknown>,
      podSecurityContext: Record<string, unknown> = {},
    ) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        securityContext: podSecurityContext,
        containers: [{ name: 'c', image: 'registry.example/app:1', securityContext }],
      },
    });
    const privileged = await cluster.api.post(`/api/v1/namespaces/${ns}/pods`, pod('privileged', { privileged: true }));
    expect(privileged.status).toBe(403);
    expect((JSON.parse(privileged.body) as { message: string }).message).toMatch(
      /violates PodSecurity "restricted:v1\.\d+": privileged/,
    );
    const restricted = await cluster.api.post(
      `/api/v1/namespaces/${ns}/pods`,
      pod(
        'restricted',
        { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true },
        { seccompProfile: { type: 'RuntimeDefault' } },
      ),
    );
    expect(restricted.status).toBe(201);
  });
});

describe('profiling and debug endpoints', () => {
  test('the API server and controller manager serve no pprof endpoints', async () => {
    expect((await cluster.api.get('/debug/pprof/')).status).toBe(404);
    const adminTls = cluster.cp.adminTls();
    const kcm = await request(`https://127.0.0.1:${cluster.ports.controllerManagerPort}/debug/pprof/`, {
      ...adminTls,
      ca: undefined,
      rejectUnauthorized: false,
    });
    expect(kcm.status).toBe(404);
    // control: an authorized endpoint that exists answers to the same client (so 404 is not an auth failure)
    expect(
      (
        await request(`https://127.0.0.1:${cluster.ports.controllerManagerPort}/metrics`, {
          ...adminTls,
          ca: undefined,
          rejectUnauthorized: false,
        })
      ).status,
    ).toBe(200);
    expect((await cluster.api.get('/metrics')).status).toBe(200);
  });
});
