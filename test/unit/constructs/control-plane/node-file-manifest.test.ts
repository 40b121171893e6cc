import { NODE_FILE_MANIFEST_API_VERSION, NODE_FILE_MANIFEST_KIND } from '../../../../policies/model';
import { build, file } from './support';

const PKI = [
  'ca',
  'apiserver',
  'apiserver-kubelet-client',
  'apiserver-etcd-client',
  'front-proxy-ca',
  'front-proxy-client',
  'etcd/ca',
  'etcd/server',
  'etcd/peer',
  'etcd/healthcheck-client',
];

describe('node file manifest', () => {
  const cp = build();

  test('sorted by path, unique paths, everything root:root except the etcd data (etcd:etcd)', () => {
    const paths = cp.nodeFiles.map((f) => f.path);
    expect(paths).toEqual([...paths].sort());
    expect(new Set(paths).size).toBe(paths.length);
    for (const f of cp.nodeFiles.filter((x) => x.role !== 'etcd-data')) {
      expect(f.owner).toBe('root');
      expect(f.group).toBe('root');
    }
  });

  test('PKI: keys 0400 (sensitive), certificates 0640 (CCN-STIC table 3, every profile), created by kubeadm without content', () => {
    for (const name of PKI) {
      expect(file(cp, `/etc/kubernetes/pki/${name}.key`)).toMatchObject({
        mode: 0o400,
        role: 'pki-key',
        sensitive: true,
        createdBy: 'kubeadm',
      });
      expect(file(cp, `/etc/kubernetes/pki/${name}.crt`)).toMatchObject({
        mode: 0o640,
        role: 'pki-cert',
        sensitive: false,
        createdBy: 'kubeadm',
      });
      expect(file(cp, `/etc/kubernetes/pki/${name}.key`).content).toBeUndefined();
    }
    expect(file(cp, '/etc/kubernetes/pki/sa.key')).toMatchObject({ mode: 0o400, sensitive: true });
    expect(file(cp, '/etc/kubernetes/pki/sa.pub')).toMatchObject({ mode: 0o640, sensitive: false });
  });

  test('kubeconfigs 0600 and sensitive; static pod manifests 0600; kubelet config 0600 (STIG 644, CIS 4.1.9 600)', () => {
    for (const kc of ['admin.conf', 'super-admin.conf', 'controller-manager.conf', 'scheduler.conf', 'kubelet.conf']) {
      expect(file(cp, `/etc/kubernetes/${kc}`).role).toBe(
        kc === 'kubelet.conf' ? 'kubelet-kubeconfig' : 'control-plane-kubeconfig',
      );
      expect(file(cp, `/etc/kubernetes/${kc}`)).toMatchObject({ mode: 0o600, sensitive: true, createdBy: 'kubeadm' });
    }
    for (const pod of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      expect(file(cp, `/etc/kubernetes/manifests/${pod}.yaml`)).toMatchObject({
        mode: 0o600,
        role: 'static-pod-manifest',
        createdBy: 'kubeadm',
      });
    }
    expect(file(cp, '/var/lib/kubelet/config.yaml')).toMatchObject({ mode: 0o600, role: 'kubelet-config' });
    expect(file(cp, '/var/lib/kubelet/kubeadm-flags.env')).toMatchObject({ mode: 0o600, role: 'kubelet-flags' });
    expect(file(cp, '/var/lib/etcd')).toMatchObject({
      owner: 'etcd',
      group: 'etcd',
      mode: 0o700,
      role: 'etcd-data',
      sensitive: true,
    });
    expect(file(cp, '/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf')).toMatchObject({
      owner: 'root',
      mode: 0o644,
      role: 'kubelet-service-dropin',
    });
  });

  test('blueprint files carry content; no file is more open than 0644', () => {
    const blueprint = cp.nodeFiles.filter((f) => f.createdBy === 'blueprint');
    expect(blueprint.map((f) => f.role).sort()).toEqual([
      'admission-config',
      'audit-policy',
      'authentication-config',
      'backup-config',
      'encryption-config',
      'kubeadm-config',
    ]);
    for (const f of blueprint) expect(f.content).toBeDefined();
    for (const f of cp.nodeFiles) expect(f.mode & ~0o755).toBe(0);
    for (const f of cp.nodeFiles.filter((x) => x.role !== 'etcd-data' && x.role !== 'audit-log-directory'))
      expect(f.mode & ~0o644).toBe(0);
    expect(cp.nodeFiles.filter((f) => f.role === 'kubeadm-config')).toHaveLength(1);
  });

  test('as a document: hcb.dev/v1alpha1 NodeFileManifest with octal mode strings and no content', () => {
    const d = cp.nodeFileManifest() as Record<string, any>;
    expect(d.apiVersion).toBe(NODE_FILE_MANIFEST_API_VERSION);
    expect(d.kind).toBe(NODE_FILE_MANIFEST_KIND);
    expect(d.files).toHaveLength(cp.nodeFiles.length);
    const ca = d.files.find((f: { path: string }) => f.path === '/etc/kubernetes/pki/ca.key');
    expect(ca).toEqual({
      path: '/etc/kubernetes/pki/ca.key',
      owner: 'root',
      group: 'root',
      mode: '0400',
      role: 'pki-key',
      sensitive: true,
      createdBy: 'kubeadm',
    });
    expect(JSON.stringify(d)).not.toContain('content');
  });

  test('high profile: CCN-STIC modes (certificates 0640, keys 0400)', () => {
    const high = build({ profile: 'high' });
    expect(file(high, '/etc/kubernetes/pki/apiserver.crt').mode).toBe(0o640);
    expect(file(high, '/etc/kubernetes/pki/apiserver.key').mode).toBe(0o400);
    expect(file(high, '/var/lib/kubelet/config.yaml').mode).toBe(0o600);
  });
});
