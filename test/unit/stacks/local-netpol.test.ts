/**
 * The local node's NetworkPolicy enforcer (stacks/local/node/netpol.ts): its command line keeps
 * everything but the firewall off and opens no port, its ClusterRole only reads, and the state
 * reported by `npm run up` is "not enforced" unless the recorded process really runs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  enforcerState,
  kubeRouterArgs,
  NETPOL_ENFORCER_RULES,
  NETPOL_ENFORCER_USER,
} from '../../../stacks/local/node/netpol';
import { LOCAL_NODE_NETWORK } from '../../../stacks/local/node/network';

const args = kubeRouterArgs({
  kubeconfig: '/run/hcb-state/node/netpol/kubeconfig',
  nodeName: 'hcb-local',
  serviceCidr: LOCAL_NODE_NETWORK.serviceCidr,
});
const flag = (name: string) => args.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));

describe('kube-router command line', () => {
  test('firewall only: router (BGP), service proxy, load balancer allocator and CNI configuration off', () => {
    expect(flag('run-firewall')).toEqual(['true']);
    for (const off of ['run-router', 'run-service-proxy', 'run-loadbalancer', 'enable-cni', 'enable-pprof'])
      expect(flag(off)).toEqual(['false']);
  });

  test('no listener: health and metrics ports 0', () => {
    expect(flag('health-port')).toEqual(['0']);
    expect(flag('metrics-port')).toEqual(['0']);
  });

  test('its own kubeconfig (never admin.conf), the node name, and the service range of the node network (not the 10.96.0.0/12 default)', () => {
    expect(flag('kubeconfig')).toEqual(['/run/hcb-state/node/netpol/kubeconfig']);
    expect(args.join(' ')).not.toMatch(/admin\.conf|10\.96\./);
    expect(flag('hostname-override')).toEqual(['hcb-local']);
    expect(flag('service-cluster-ip-range')).toEqual(['198.19.0.0/16']);
  });

  test('every flag is given once, in --name=value form', () => {
    const names = args.map((a) => /^--([a-z0-9-]+)=/.exec(a)?.[1]);
    expect(names.every(Boolean)).toBe(true);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('the enforcer identity', () => {
  test('is a user without groups whose ClusterRole only reads, and never Secrets', () => {
    expect(NETPOL_ENFORCER_USER).toBe('hcb:netpol-enforcer');
    for (const r of NETPOL_ENFORCER_RULES) {
      expect([...r.verbs].sort()).toEqual(['get', 'list', 'watch']);
      expect(r.resources).not.toContain('secrets');
      expect(r.resources).not.toContain('*');
    }
    const resources = NETPOL_ENFORCER_RULES.flatMap((r) => r.resources);
    expect(resources).toEqual(expect.arrayContaining(['pods', 'namespaces', 'nodes', 'networkpolicies']));
  });
});

describe('enforcerState', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-netpol-'));
    fs.mkdirSync(path.join(dir, 'node', 'run'), { recursive: true });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('no record: not enforced', () => {
    expect(enforcerState(dir)).toEqual({ enforcing: false, message: expect.stringContaining('not running') });
  });

  test('a record whose pid runs another program: not enforced (pid reuse is not trusted)', () => {
    fs.writeFileSync(
      path.join(dir, 'node', 'run', 'kube-router.json'),
      JSON.stringify({ pid: process.pid, exe: '/nonexistent/kube-router', fingerprint: '', args: [] }),
    );
    expect(enforcerState(dir).enforcing).toBe(false);
  });

  test('the process runs but the node network namespace is gone: not enforced', () => {
    fs.writeFileSync(
      path.join(dir, 'node', 'run', 'kube-router.json'),
      JSON.stringify({ pid: process.pid, exe: fs.readlinkSync('/proc/self/exe'), fingerprint: '', args: [] }),
    );
    fs.writeFileSync(
      path.join(dir, 'node', 'run', 'holder.json'),
      JSON.stringify({ netns: 'hcb-unit-test-no-such-netns' }),
    );
    expect(enforcerState(dir)).toEqual({ enforcing: false, message: expect.stringContaining('namespace is gone') });
  });
});
