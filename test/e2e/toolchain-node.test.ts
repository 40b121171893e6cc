/**
 * The node's and the checkers' part of the toolchain (issue 9): kube-proxy, ptp, CoreDNS,
 * kube-router (the NetworkPolicy enforcer), crane, kube-bench (with its cfg/ directory), kube-score, kubesec
 * and kubectl (kube-bench's policies checks).
 * Each binary reports its pin itself, and `--check` refuses a binary whose Go build info names
 * another main package or whose run-time files are missing.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { pins, REPO, tempDir, toolchainBin } from './support/env';

const pinned = pins();
const script = path.join(REPO, 'tools/build-toolchain.sh');

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { status: number | null; out: string; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout, stderr: r.stderr };
}

describe('toolchain: node binaries and test checkers', () => {
  const bin = toolchainBin();
  const benchCfg = path.join(path.dirname(bin), 'share/kube-bench/cfg');

  test('--check verifies every node and checker binary against its pin', () => {
    for (const only of ['node', 'checkers']) {
      const r = run('bash', [script, '--only', only, '--check']);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(bin);
    }
    const all = run('bash', [script, '--check']);
    expect(all.status).toBe(0);
    for (const b of [
      'kube-proxy',
      'ptp',
      'coredns',
      'kube-router',
      'crane',
      'kube-bench',
      'kube-score',
      'kubesec',
      'kubectl',
    ]) {
      expect(all.stderr).toMatch(new RegExp(`ok ${b} `));
    }
  });

  test('the binaries report the pinned versions themselves', () => {
    expect(run(path.join(bin, 'kube-proxy'), ['--version']).out.trim()).toBe(
      `Kubernetes v${pinned.KUBERNETES_VERSION}`,
    );
    expect(run(path.join(bin, 'coredns'), ['-version']).out).toMatch(
      new RegExp(`^CoreDNS-${pinned.COREDNS_VERSION.replace(/\./g, '\\.')}\\n`),
    );
    expect(run(path.join(bin, 'crane'), ['version']).out.trim()).toBe(`v${pinned.CRANE_VERSION}`);
    expect(run(path.join(bin, 'kube-bench'), ['version']).out.trim()).toBe(`v${pinned.KUBE_BENCH_VERSION}`);
    expect(run(path.join(bin, 'kube-score'), ['version']).out).toContain(
      `kube-score version: ${pinned.KUBE_SCORE_VERSION},`,
    );
    expect(run(path.join(bin, 'kubesec'), ['version']).out).toContain(`version v${pinned.KUBESEC_VERSION}\n`);
    // kubectl (for kube-bench's policies checks): k8s.io/kubernetes at the cluster's version, stamped like the components.
    expect(run(path.join(bin, 'kubectl'), ['version', '--client']).out).toMatch(
      new RegExp(`^Client Version: v${pinned.KUBERNETES_VERSION.replace(/\./g, '\\.')}\n`),
    );
    expect(run(path.join(bin, 'kube-router'), ['--version']).out).toMatch(
      new RegExp(`^Running \\S*kube-router version v${pinned.KUBE_ROUTER_VERSION.replace(/\./g, '\\.')}, built on `),
    );
    // The flags the local node runs it with exist in this build (stacks/local/node/netpol.ts).
    const help = run(path.join(bin, 'kube-router'), ['--help']).out;
    for (const f of [
      '--run-firewall',
      '--run-router',
      '--run-service-proxy',
      '--health-port',
      '--metrics-port',
      '--service-cluster-ip-range',
      '--hostname-override',
    ])
      expect(help).toContain(f);
  });

  test('CoreDNS has the plugins a cluster DNS needs compiled in, and not the cloud, zone or debug ones', () => {
    // tools/go/coredns/main.go: CoreDNS's coremain with a chosen plugin set (less code, a shorter build).
    const plugins = run(path.join(bin, 'coredns'), ['-plugins'])
      .out.split('\n')
      .map((l) => l.trim());
    for (const p of ['kubernetes', 'forward', 'cache', 'errors', 'health', 'ready', 'loop', 'reload', 'loadbalance']) {
      expect(plugins).toContain(p);
    }
    for (const p of ['route53', 'azure', 'clouddns', 'etcd', 'file', 'secondary', 'grpc', 'chaos', 'pprof', 'sign']) {
      expect(plugins).not.toContain(p);
    }
  });

  test("kube-bench's checks are installed next to bin/, not in the repository", () => {
    expect(fs.existsSync(path.join(benchCfg, 'config.yaml'))).toBe(true);
    expect(fs.existsSync(path.join(benchCfg, 'cis-1.10/master.yaml'))).toBe(true);
    expect(path.relative(REPO, benchCfg).startsWith('..')).toBe(true);
  });

  describe('--check on a doctored copy of the cache', () => {
    // A cache with the same key whose bin/ links to the real binaries, except that ptp is a copy
    // of loopback (same module and version, other main package) and kube-bench has no cfg/.
    const cache = tempDir('toolchain-doctored');
    const fakeBin = path.join(cache, 'toolchain', path.basename(path.dirname(bin)), 'bin');
    beforeAll(() => {
      fs.mkdirSync(fakeBin, { recursive: true });
      for (const f of fs.readdirSync(bin)) fs.symlinkSync(path.join(bin, f), path.join(fakeBin, f));
      fs.rmSync(path.join(fakeBin, 'ptp'));
      fs.copyFileSync(path.join(bin, 'loopback'), path.join(fakeBin, 'ptp'));
      fs.chmodSync(path.join(fakeBin, 'ptp'), 0o755);
    });
    afterAll(() => fs.rmSync(cache, { recursive: true, force: true }));
    const env = (): NodeJS.ProcessEnv => ({ ...process.env, HCB_CACHE_DIR: cache });

    test('a binary built from another main package is refused', () => {
      const r = run('bash', [script, '--only', 'node', '--check'], env());
      expect(r.status).toBe(3);
      expect(r.stderr).toContain('missing or wrong version: ptp');
      expect(r.stderr).toMatch(/ok loopback /);
      expect(r.stdout).toBe('');
    });

    test('kube-bench without its cfg/ directory is refused', () => {
      const r = run('bash', [script, '--only', 'checkers', '--check'], env());
      expect(r.status).toBe(3);
      expect(r.stderr).toContain('missing or wrong version: kube-bench');
      expect(r.stderr).toMatch(/ok kube-score /);
    });
  });

  test('an unknown --only selection is a usage error', () => {
    const r = run('bash', [script, '--only', 'everything', '--check']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: .*--only core\|node\|checkers/);
  });
});
