// Client identities of the node's components (kube-proxy, the NetworkPolicy enforcer) and the e2e
// users: what is signed, and when an existing kubeconfig is kept or replaced.
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { ensureClientKubeconfig, signClientCertificate } from '../../../stacks/local/node/client-cert';

function makeCa(dir: string, cn = 'kubernetes'): void {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat(
      ['-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'ca.crt'), '-days', '30', '-subj', `/CN=${cn}`],
      ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ),
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
}

let work: string;
let pki: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-client-cert-'));
  pki = path.join(work, 'pki');
  makeCa(pki);
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

test('a signed certificate is for the user and its groups, clientAuth only, not a CA, issued by the CA; no key left on disk', () => {
  const { cert, key } = signClientCertificate(pki, { user: 'alice/x', groups: ['team-a', 'team-b'] }, work, 1);
  const x = new crypto.X509Certificate(cert);
  const ca = new crypto.X509Certificate(fs.readFileSync(path.join(pki, 'ca.crt')));
  expect(x.checkIssued(ca)).toBe(true);
  expect(x.verify(ca.publicKey)).toBe(true);
  expect(x.subject.split('\n')).toEqual(['CN=alice/x', 'O=team-a', 'O=team-b']);
  expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  expect(x.ca).toBe(false);
  expect(Date.parse(x.validTo) - Date.now()).toBeLessThanOrEqual(86400_000 + 60_000);
  expect(crypto.createPublicKey(crypto.createPrivateKey(key)).export({ format: 'der', type: 'spki' })).toEqual(
    x.publicKey.export({ format: 'der', type: 'spki' }),
  );
  // Only the CA files and no temporary directory remain.
  expect(fs.readdirSync(work).sort()).toEqual(['pki']);
  expect(() => signClientCertificate(pki, { user: 'bad\nname' }, work)).toThrow(/bad certificate subject/);
});

describe('ensureClientKubeconfig', () => {
  const opts = () => ({
    file: path.join(work, 'state', 'kubeconfig'),
    pkiDir: pki,
    id: { user: 'system:kube-proxy' },
    server: 'https://127.0.0.1:6443',
    context: 'kube-proxy',
    workDir: path.join(work, 'state'),
  });

  test('issues once (file 0600, names server, CA and user), then keeps it', () => {
    const first = ensureClientKubeconfig(opts());
    expect(first.issued).toBe(true);
    expect(fs.statSync(opts().file).mode & 0o777).toBe(0o600);
    const doc = parse(first.text);
    expect(doc.clusters[0].cluster.server).toBe('https://127.0.0.1:6443');
    expect(doc.users[0].name).toBe('system:kube-proxy');
    expect(doc['current-context']).toBe('kube-proxy');
    const again = ensureClientKubeconfig(opts());
    expect(again).toEqual({ text: first.text, issued: false });
    expect(fs.readdirSync(path.dirname(opts().file))).toEqual(['kubeconfig']);
  });

  test.each([
    ['another server', (o: ReturnType<typeof opts>) => ({ ...o, server: 'https://127.0.0.1:7443' })],
    ['another user', (o: ReturnType<typeof opts>) => ({ ...o, id: { user: 'hcb:netpol-enforcer' } })],
    ['a group added', (o: ReturnType<typeof opts>) => ({ ...o, id: { user: o.id.user, groups: ['g'] } })],
    ['expiring within the renewal window', (o: ReturnType<typeof opts>) => ({ ...o, renewWithinSeconds: 400 * 86400 })],
  ])('reissues for %s', (_what, change) => {
    const first = ensureClientKubeconfig(opts());
    const next = ensureClientKubeconfig(change(opts()));
    expect(next.issued).toBe(true);
    expect(next.text).not.toBe(first.text);
  });

  test('reissues when the CA changed, when the key does not match the certificate, and when the file is garbage', () => {
    const first = ensureClientKubeconfig(opts());
    fs.rmSync(pki, { recursive: true });
    makeCa(pki, 'kubernetes-2');
    expect(ensureClientKubeconfig(opts()).issued).toBe(true);

    const kept = ensureClientKubeconfig(opts());
    expect(kept.issued).toBe(false);
    const otherKey = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    const doc = parse(kept.text);
    doc.users[0].user['client-key-data'] = Buffer.from(otherKey).toString('base64');
    fs.writeFileSync(opts().file, JSON.stringify(doc));
    expect(ensureClientKubeconfig(opts()).issued).toBe(true);

    fs.writeFileSync(opts().file, 'not: [a kubeconfig');
    expect(ensureClientKubeconfig(opts()).issued).toBe(true);
    expect(first.text).not.toBe(ensureClientKubeconfig(opts()).text);
  });
});
