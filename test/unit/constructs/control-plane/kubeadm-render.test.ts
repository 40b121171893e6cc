/**
 * What kubeadm actually renders from the blueprint's configuration: the static pod manifests
 * written by the real `kubeadm init phase control-plane all` and `kubeadm init phase etcd local`
 * (inside a private root) must carry the hardening flags and mounts. Fails without the
 * pinned kubeadm: run `npm run toolchain` or set HCB_TOOLCHAIN_BIN.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { HardenedControlPlane } from '../../../../constructs/control-plane';
import { build } from './support';

function kubeadmBinary(): string {
  const env = process.env.HCB_TOOLCHAIN_BIN;
  let dir = env;
  if (!dir) {
    const root = path.resolve(__dirname, '../../../..');
    const res = spawnSync('bash', [path.join(root, 'tools/build-toolchain.sh'), '--bin-dir'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    dir = res.status === 0 ? res.stdout.trim().split('\n').pop() : undefined;
  }
  const k = dir ? path.join(dir, 'kubeadm') : '';
  if (!k || !fs.existsSync(k)) {
    throw new Error(
      'kubeadm from the pinned toolchain was not found. Run `npm run toolchain`, or set HCB_TOOLCHAIN_BIN to its bin directory.',
    );
  }
  return k;
}

interface Pod {
  spec: {
    containers: Array<{
      command: string[];
      volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
    }>;
    volumes?: Array<{ name: string; hostPath?: { path: string; type?: string } }>;
  };
}

function render(cp: HardenedControlPlane): Record<string, Pod> {
  const kubeadm = kubeadmBinary();
  const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-kubeadm-render-'));
  try {
    for (const f of cp.nodeFiles.filter((x) => x.createdBy === 'blueprint')) {
      fs.mkdirSync(path.join(rootfs, path.dirname(f.path)), { recursive: true });
      fs.writeFileSync(path.join(rootfs, f.path), f.content!, { mode: f.mode });
    }
    const config = cp.nodeFiles.find((f) => f.role === 'kubeadm-config')!.path;
    for (const phase of [
      ['control-plane', 'all'],
      ['etcd', 'local'],
    ]) {
      const res = spawnSync(kubeadm, ['init', 'phase', ...phase, '--config', config, '--rootfs', rootfs], {
        encoding: 'utf8',
        env: { ...process.env, KUBECONFIG: '' },
        timeout: 60_000,
      });
      if (res.status !== 0)
        throw new Error(`kubeadm init phase ${phase.join(' ')} failed:\n${res.stdout}${res.stderr}`);
    }
    const out: Record<string, Pod> = {};
    for (const name of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd']) {
      out[name] = parse(fs.readFileSync(path.join(rootfs, 'etc/kubernetes/manifests', `${name}.yaml`), 'utf8')) as Pod;
    }
    return out;
  } finally {
    fs.rmSync(rootfs, { recursive: true, force: true });
  }
}

function flags(pod: Pod): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of pod.spec.containers[0].command.slice(1)) {
    const match = /^--([^=]+)=(.*)$/.exec(a);
    if (match) m.set(match[1], match[2]);
  }
  return m;
}

describe('static pod manifests rendered by kubeadm from the blueprint', () => {
  let pods: Record<string, Pod>;
  beforeAll(() => {
    pods = render(build({ advertiseAddress: '192.0.2.10' }));
  });

  test('kube-apiserver carries every hardening flag', () => {
    const f = flags(pods['kube-apiserver']);
    expect(f.get('authorization-mode')).toBe('Node,RBAC');
    expect(f.get('authentication-config')).toBe('/etc/kubernetes/authentication/authentication-config.yaml');
    expect(f.has('anonymous-auth')).toBe(false);
    expect(f.get('profiling')).toBe('false');
    expect(f.get('tls-min-version')).toBe('VersionTLS12');
    expect(f.get('enable-admission-plugins')).toContain('NodeRestriction');
    expect(f.get('encryption-provider-config')).toBe('/etc/kubernetes/encryption/encryption-config.yaml');
    expect(f.get('audit-policy-file')).toBe('/etc/kubernetes/audit/policy.yaml');
    expect(f.get('audit-log-path')).toBe('/var/log/kubernetes/audit/audit.log');
    expect(f.get('admission-control-config-file')).toBe('/etc/kubernetes/admission/admission-config.yaml');
    expect(f.get('request-timeout')).toBe('60s');
    expect(f.get('etcd-servers')).toBe('https://127.0.0.1:2379');
    expect(f.get('advertise-address')).toBe('192.0.2.10');
  });

  test('kube-apiserver mounts every file it reads', () => {
    const pod = pods['kube-apiserver'];
    const mounts = new Map((pod.spec.containers[0].volumeMounts ?? []).map((m) => [m.mountPath, m]));
    const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
    for (const p of [
      '/etc/kubernetes/audit/policy.yaml',
      '/etc/kubernetes/encryption/encryption-config.yaml',
      '/etc/kubernetes/admission/admission-config.yaml',
      '/etc/kubernetes/authentication/authentication-config.yaml',
    ]) {
      const m = mounts.get(p);
      expect(m?.readOnly).toBe(true);
      expect(volumes.get(m!.name)?.hostPath).toEqual({ path: p, type: 'File' });
    }
    const log = mounts.get('/var/log/kubernetes/audit');
    expect(log?.readOnly).toBeFalsy();
    expect(volumes.get(log!.name)?.hostPath).toEqual({ path: '/var/log/kubernetes/audit', type: 'DirectoryOrCreate' });
  });

  test('controller manager and scheduler bind to loopback with profiling off', () => {
    for (const name of ['kube-controller-manager', 'kube-scheduler']) {
      const f = flags(pods[name]);
      expect(f.get('bind-address')).toBe('127.0.0.1');
      expect(f.get('profiling')).toBe('false');
      expect(f.get('tls-min-version')).toBe('VersionTLS12');
    }
    expect(flags(pods['kube-controller-manager']).get('use-service-account-credentials')).toBe('true');
  });

  test('etcd: client and peer certificate authentication, no auto TLS', () => {
    const f = flags(pods.etcd);
    expect(f.get('client-cert-auth')).toBe('true');
    expect(f.get('peer-client-cert-auth')).toBe('true');
    expect(f.get('auto-tls')).toBe('false');
    expect(f.get('peer-auto-tls')).toBe('false');
    expect(f.get('tls-min-version')).toBe('TLS1.2');
    expect(f.get('listen-client-urls')).toMatch(/^https:\/\//);
  });
});
