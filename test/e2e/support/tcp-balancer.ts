/**
 * A small TCP load balancer for the hosts-HA e2e: the stable control-plane endpoint a user puts in
 * front of several API servers (hcb:controlPlaneEndpoint). It runs as its own Node.js process
 * inside a network namespace the test made (the hosts lab's namespace, where the lab bridge is), so
 * it listens on a lab address and reaches the lab hosts; nothing is opened in this machine's
 * own network namespace.
 *
 * Each connection goes to the next healthy backend in turn. Health, as kubeadm's HA guide has its
 * load balancer check it: every 2 s an HTTPS GET /readyz per backend (the certificate is not
 * checked: this is a liveness probe, the clients verify the API server themselves); any HTTP answer
 * below 500 counts as serving (an API server that refuses anonymous requests still serves). A
 * backend that refuses a connection or does not answer within the connect timeout is skipped and
 * marked down until its next good check; when no backend is healthy, each is tried in turn. No TLS
 * termination: bytes are passed through.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';

/** Run with `node -e SCRIPT <listenHost> <listenPort> <backend host:port>...`; prints "listening" when ready. */
export const TCP_BALANCER_SCRIPT = String.raw`
const net = require('net');
const https = require('https');
const [host, port, ...backends] = process.argv.slice(1);
const list = backends.map((b) => { const i = b.lastIndexOf(':'); return { host: b.slice(0, i), port: Number(b.slice(i + 1)), healthy: false, downUntil: 0 }; });
function check(b) {
  const req = https.get({ host: b.host, port: b.port, path: '/readyz', rejectUnauthorized: false, timeout: 3000 }, (res) => {
    const ok = res.statusCode < 500;
    if (ok !== b.healthy) console.log(new Date().toISOString() + ' backend ' + b.host + ':' + b.port + (ok ? ' healthy' : ' not ready (' + res.statusCode + ')'));
    b.healthy = ok;
    res.resume();
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => {
    if (b.healthy) console.log(new Date().toISOString() + ' backend ' + b.host + ':' + b.port + ' unreachable');
    b.healthy = false;
  });
}
setInterval(() => list.forEach(check), 2000).unref();
list.forEach(check);
let next = 0;
const CONNECT_TIMEOUT_MS = 3000;
function attempt(client, tried) {
  if (client.destroyed) return;
  const now = Date.now();
  let pick;
  for (let k = 0; k < list.length && !pick; k++) {
    const b = list[(next + k) % list.length];
    if (!tried.has(b) && b.healthy && b.downUntil <= now) { pick = b; next = (next + k + 1) % list.length; }
  }
  if (!pick) pick = list.find((b) => !tried.has(b) && b.downUntil <= now) || list.find((b) => !tried.has(b));
  if (!pick) { client.destroy(); return; }
  tried.add(pick);
  const up = net.connect({ host: pick.host, port: pick.port });
  let connected = false;
  const timer = setTimeout(() => { if (!connected) up.destroy(new Error('connect timeout')); }, CONNECT_TIMEOUT_MS);
  up.once('connect', () => {
    connected = true;
    clearTimeout(timer);
    client.pipe(up); up.pipe(client);
    client.resume();
  });
  up.on('error', (e) => {
    clearTimeout(timer);
    if (!connected) {
      pick.downUntil = Date.now() + 5000;
      pick.healthy = false;
      console.log(new Date().toISOString() + ' backend ' + pick.host + ':' + pick.port + ' down: ' + e.message);
      attempt(client, tried);
    } else client.destroy();
  });
  up.on('close', () => { if (connected) client.destroy(); });
}
const server = net.createServer({ pauseOnConnect: true }, (client) => {
  client.on('error', () => undefined);
  client.on('close', () => undefined);
  attempt(client, new Set());
});
server.listen(Number(port), host, () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
`;

export interface TcpBalancer {
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the balancer inside the network namespace of `netnsPid` (nsenter --net), listening on
 * `listen` and forwarding to `backends` ("host:port"). Waits (bounded) until it listens.
 */
export async function startTcpBalancer(o: {
  netnsPid: number;
  listen: { host: string; port: number };
  backends: string[];
  logFile: string;
  timeoutMs?: number;
}): Promise<TcpBalancer> {
  const fd = fs.openSync(o.logFile, 'a', 0o600);
  const child = spawn(
    'nsenter',
    [
      `--target=${o.netnsPid}`,
      '--net',
      '--',
      fs.realpathSync(process.execPath),
      '-e',
      TCP_BALANCER_SCRIPT,
      o.listen.host,
      String(o.listen.port),
      ...o.backends,
    ],
    { detached: true, stdio: ['ignore', fd, fd] },
  );
  fs.closeSync(fd);
  if (child.pid === undefined) throw new Error('tcp balancer: nsenter did not start');
  const pid = child.pid;
  child.unref();
  const stop = async () => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 50; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (fs.readFileSync(o.logFile, 'utf8').includes('listening')) return { pid, stop };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`tcp balancer did not start listening:\n${fs.readFileSync(o.logFile, 'utf8').slice(-2000)}`);
}
