/**
 * The hosts' route script (stacks/hosts/network.ts ROUTES_SCRIPT) run for real in a network
 * namespace of the test's own (198.18.250.0/24 on a veth pair, nothing leaves it): routes to the
 * other hosts' pod ranges, and the route to the Service range that lets a host process reach a
 * ClusterIP when the host has no default route (kube-proxy's DNAT comes after the route lookup).
 * Needs root (unshare); skipped, visibly, otherwise.
 */
import { execFileSync } from 'child_process';
import { POD_ROUTE_PROTO, ROUTES_SCRIPT } from '../../../stacks/hosts/network';

const root = process.getuid?.() === 0;

/** Runs `setup`, then the script with `args` (one run per list), then prints the routes, in a fresh netns. */
function inNetns(runs: string[][]): { outputs: string[]; routes: string; get: string } {
  const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const script = [
    'set -e',
    'ip link set lo up',
    'ip link add v0 type veth peer name v1',
    'ip link set v0 up && ip link set v1 up',
    'ip addr add 198.18.250.11/24 dev v0',
    ...runs.map((args) => `sh -c ${q(ROUTES_SCRIPT)} hcb ${args.map(q).join(' ')}; echo '=== end'`),
    "echo '=== routes'; ip -o route show",
    "echo '=== get'; ip route get 198.19.0.1 || true",
  ].join('\n');
  const out = execFileSync('unshare', ['--net', 'sh', '-c', script], {
    encoding: 'utf8',
    timeout: 30_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [runsOut, rest] = out.split('=== routes\n');
  const [routes, get] = rest.split('=== get\n');
  return { outputs: runsOut.split('=== end\n').slice(0, runs.length), routes, get };
}

(root ? test : test.skip)(
  'pod routes and the Service route are set once, changed with the range, removed when gone',
  () => {
    const proto = String(POD_ROUTE_PROTO);
    const r = inNetns([
      [proto, '198.19.128.0/17', '198.18.250.11', '198.18.129.0/24', '198.18.250.12'],
      [proto, '198.19.128.0/17', '198.18.250.11', '198.18.129.0/24', '198.18.250.12'],
      [proto, '198.19.0.0/18', '198.18.250.11'],
    ]);
    expect(r.outputs[0].trim().split('\n')).toEqual([
      'route 198.18.129.0/24 via 198.18.250.12',
      'route 198.19.128.0/17 dev v0 src 198.18.250.11 (Services)',
    ]);
    expect(r.outputs[1].trim()).toBe('');
    expect(r.outputs[2].trim().split('\n').sort()).toEqual([
      'route 198.18.129.0/24 removed',
      'route 198.19.0.0/18 dev v0 src 198.18.250.11 (Services)',
      'route 198.19.128.0/17 removed',
    ]);
    expect(r.routes).toMatch(/^198\.19\.0\.0\/18 dev v0 proto (bgp|186) scope link src 198\.18\.250\.11\s*$/m);
    expect(r.routes).not.toMatch(/198\.19\.128\.0|198\.18\.129\.0/);
    // A host process now has a route (and the host's address as source) for a ClusterIP.
    expect(r.get).toMatch(/^198\.19\.0\.1 dev v0 src 198\.18\.250\.11/);
  },
);

(root ? test : test.skip)('without the route a ClusterIP is unreachable from the host (what the route fixes)', () => {
  const r = inNetns([]);
  expect(r.get).not.toMatch(/198\.19\.0\.1 dev/);
});

(root ? test : test.skip)('a host address on no interface: no Service route, said so, pod routes still set', () => {
  const r = inNetns([[String(POD_ROUTE_PROTO), '198.19.0.0/18', '198.18.250.99', '198.18.129.0/24', '198.18.250.12']]);
  expect(r.outputs[0]).toContain('left: no interface holds 198.18.250.99; no route to the Service range 198.19.0.0/18');
  expect(r.routes).toMatch(/^198\.18\.129\.0\/24 via 198\.18\.250\.12 dev v0/m);
  expect(r.routes).not.toMatch(/198\.19\.0\.0/);
});
