/**
 * The toolchain the tests run on: built by tools/build-toolchain.sh (the test command runs it
 * first), each binary reporting the pinned version, and a clear error when Go is missing.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { pins, REPO, toolchainBin } from './support/env';

const pinned = pins();

function out(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return `${r.stdout}${r.stderr}`;
}

describe('toolchain', () => {
  const bin = toolchainBin();

  test('--check verifies every binary against its pin', () => {
    const r = spawnSync('bash', [path.join(REPO, 'tools/build-toolchain.sh'), '--check'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const b of [
      'pulumi',
      'pulumi-language-nodejs',
      'pulumi-resource-kubernetes',
      'etcd',
      'etcdutl',
      'kube-apiserver',
      'kube-controller-manager',
      'kubeadm',
      'kube-scheduler',
      'kubelet',
      'containerd',
      'containerd-shim-runc-v2',
      'ctr',
      'runc',
      'bridge',
      'host-local',
      'loopback',
      'portmap',
    ]) {
      expect(r.stderr).toMatch(new RegExp(`ok ${b} `));
    }
    expect(r.stdout.trim()).toBe(bin);
  });

  test('binaries report the pinned versions themselves', () => {
    expect(out(path.join(bin, 'pulumi'), ['version']).trim()).toBe(`v${pinned.PULUMI_VERSION}`);
    expect(out(path.join(bin, 'kube-apiserver'), ['--version']).trim()).toBe(
      `Kubernetes v${pinned.KUBERNETES_VERSION}`,
    );
    expect(out(path.join(bin, 'kube-controller-manager'), ['--version']).trim()).toBe(
      `Kubernetes v${pinned.KUBERNETES_VERSION}`,
    );
    expect(out(path.join(bin, 'kubeadm'), ['version', '-o', 'short']).trim()).toBe(`v${pinned.KUBERNETES_VERSION}`);
    expect(out(path.join(bin, 'etcd'), ['--version'])).toContain(`etcd Version: ${pinned.ETCD_VERSION}`);
    expect(out(path.join(bin, 'etcdutl'), ['version'])).toContain(`etcdutl version: ${pinned.ETCD_VERSION}`);
    expect(out(path.join(bin, 'kubelet'), ['--version']).trim()).toBe(`Kubernetes v${pinned.KUBERNETES_VERSION}`);
    expect(out(path.join(bin, 'containerd'), ['--version'])).toContain(`v${pinned.CONTAINERD_VERSION}`);
    // runc is built with seccomp: it names the libseccomp it links.
    expect(out(path.join(bin, 'runc'), ['--version'])).toMatch(
      new RegExp(`runc version ${pinned.RUNC_VERSION.replace(/\./g, '\\.')}[\\s\\S]*libseccomp: \\d`),
    );
  });

  test('the cache lives outside the repository', () => {
    expect(path.relative(REPO, bin).startsWith('..')).toBe(true);
  });

  test('without Go the script stops with a clear message', () => {
    // A PATH with bash and coreutils but no go.
    const r = spawnSync('bash', [path.join(REPO, 'tools/build-toolchain.sh')], {
      encoding: 'utf8',
      env: { ...process.env, PATH: '/usr/bin:/bin', HCB_CACHE_DIR: fs.mkdtempSync('/tmp/hcb-nogo-') },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Go is not installed/);
  });
});
