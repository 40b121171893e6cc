/**
 * The node's HTTP CONNECT proxy (FORWARDER_SCRIPT connect-proxy), the API server's way to the
 * kubelet on the local target, run for real on a temporary unix socket. The destination here is
 * a TCP server on loopback (the unit lane creates no namespaces), allowed through 127.0.0.0/8.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { synthesizeBlueprint } from '../../../constructs/blueprint';
import { LocalControlPlane } from '../../../stacks/local/control-plane';
import { FORWARDER_SCRIPT } from '../../../stacks/local/node/forwarder';
import { clusterEgressDestinations, LOCAL_NODE_NETWORK } from '../../../stacks/local/node/network';

let dir: string;
let sock: string;
let proxy: ChildProcess;
let echo: net.Server;
let echoPort: number;
let log = '';

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-connect-proxy-'));
  sock = path.join(dir, 'p.sock');
  echo = net.createServer((c) => c.on('data', (d) => c.write(`echo:${d.toString()}`)));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as net.AddressInfo).port;
  proxy = spawn(process.execPath, ['-e', FORWARDER_SCRIPT, 'connect-proxy', sock, '127.0.0.0/8,198.18.0.0/15'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proxy.stderr!.on('data', (d) => (log += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!/listening/.test(log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(log).toMatch(/listening/);
});

afterAll(async () => {
  proxy?.kill('SIGTERM');
  await new Promise<void>((r) => echo.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Sends `request` on a fresh connection to the proxy and collects what comes back until `until` matches or the socket ends. */
function exchange(request: string, after?: string, until = /\r\n\r\n[\s\S]*echo:/): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let got = '';
    const timer = setTimeout(() => {
      c.destroy();
      resolve(got);
    }, 5_000);
    c.on('data', (d) => {
      got += d.toString();
      if (after && /^HTTP\/1\.1 200 /.test(got) && got.includes('\r\n\r\n') && !got.includes('echo:')) c.write(after);
      if (until.test(got)) {
        clearTimeout(timer);
        c.end();
        resolve(got);
      }
    });
    c.on('end', () => {
      clearTimeout(timer);
      resolve(got);
    });
    c.on('error', reject);
    c.write(request);
  });
}

test('the socket is created mode 0600', () => {
  expect(fs.statSync(sock).mode & 0o777).toBe(0o600);
});

test('CONNECT to an allowed address answers 200 and then carries bytes both ways', async () => {
  const got = await exchange(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 'hello');
  expect(got).toBe('HTTP/1.1 200 Connection established\r\n\r\necho:hello');
  expect(log).toContain(`connect-proxy 127.0.0.1:${echoPort} 200`);
});

test('bytes sent right behind the request are forwarded too', async () => {
  const got = await exchange(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nearly`);
  expect(got).toBe('HTTP/1.1 200 Connection established\r\n\r\necho:early');
});

test.each([
  ['an address outside the listed ranges', 'CONNECT 192.0.2.1:443 HTTP/1.1', '403'],
  ['a host name', 'CONNECT localhost:443 HTTP/1.1', '403'],
  ['an address with a leading zero', 'CONNECT 127.0.0.01:443 HTTP/1.1', '403'],
  ['port 0', 'CONNECT 127.0.0.1:0 HTTP/1.1', '403'],
  ['a GET request', 'GET / HTTP/1.1', '400'],
  ['CONNECT without a port', 'CONNECT 127.0.0.1 HTTP/1.1', '400'],
])('refuses %s', async (_what, line, code) => {
  const got = await exchange(`${line}\r\nHost: x\r\n\r\n`, undefined, /\r\n\r\n/);
  expect(got.split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1\\.1 ${code} `));
});

test('a destination that refuses the connection answers 502', async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const got = await exchange(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`, undefined, /\r\n\r\n/);
  expect(got.split('\r\n')[0]).toBe('HTTP/1.1 502 Bad Gateway');
});

test('an endless header is cut off with 400', async () => {
  const got = await exchange(`CONNECT 127.0.0.1:1 HTTP/1.1\r\nX: ${'a'.repeat(9000)}`, undefined, /\r\n\r\n/);
  expect(got.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
});

describe('what the local target gives the proxy', () => {
  test('destinations: the node network, pods and services, all inside 198.18.0.0/15', () => {
    expect(clusterEgressDestinations(LOCAL_NODE_NETWORK)).toEqual(['198.18.0.0/24', '198.18.16.0/20', '198.19.0.0/16']);
    expect(() => clusterEgressDestinations({ ...LOCAL_NODE_NETWORK, serviceCidr: '10.96.0.0/12' })).toThrow(
      /outside 198\.18\.0\.0\/15/,
    );
  });

  test("the socket: the blueprint's EgressSelectorConfiguration names it on the local target, on no other", () => {
    const ports = {
      apiServerPort: 6443,
      etcdClientPort: 2379,
      etcdPeerPort: 2380,
      etcdMetricsPort: 2381,
      controllerManagerPort: 10257,
      schedulerPort: 10259,
    };
    const cp = (nodeFiles: ReturnType<typeof synthesizeBlueprint>['nodeFiles']) =>
      new LocalControlPlane({ stateDir: dir, binDir: '', nodeFiles, log: () => undefined });
    expect(cp(synthesizeBlueprint({ local: ports }).nodeFiles).clusterEgressSocket()).toBe(
      '/etc/kubernetes/egress-proxy/cluster.sock',
    );
    expect(cp(synthesizeBlueprint({}).nodeFiles).clusterEgressSocket()).toBeUndefined();
  });
});
