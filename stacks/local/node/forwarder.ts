/**
 * A byte-for-byte TCP/unix-socket forwarder, run as `node -e FORWARDER_SCRIPT <mode> <from> <to>`
 * (a string, so it runs the same from the TypeScript sources and from the compiled package).
 *
 * The node's network namespace has no link to the host's. The kubelet reaches the API server
 * on the host's loopback through a unix socket, whose path crosses network namespaces:
 *
 *   kubelet ─▶ 127.0.0.1:<api port> (node netns)  ══ tcp-to-unix ══▶  <state>/node/run/apiserver.sock
 *   <state>/node/run/apiserver.sock  ══ unix-to-tcp (host netns) ══▶  127.0.0.1:<api port> (API server)
 *
 * TLS runs end to end through it (the forwarder sees ciphertext only).
 *
 * Modes: `tcp-to-unix HOST:PORT SOCKET` listens on TCP, `unix-to-tcp SOCKET HOST:PORT` listens on
 * the socket (created mode 0600; a stale socket file is replaced).
 *
 * `connect-proxy SOCKET CIDR[,CIDR...]` is the other direction, the API server's way to the node
 * (its `cluster` egress, an EgressSelectorConfiguration with HTTPConnect over this socket). It
 * runs in the node's network namespace and listens on the socket; the API server, on the host,
 * writes `CONNECT <ip>:<port> HTTP/1.1`, the proxy dials that address from inside the node and
 * answers `200` (then copies bytes both ways: the API server's TLS to the kubelet runs through it
 * end to end), `403` for a destination that is not an IPv4 address inside the listed ranges (the
 * node network: no host names, nothing outside), `502` when the dial fails, `400` for anything
 * that is not a CONNECT request. One log line per tunnel.
 *
 *   kube-apiserver (host netns) ─▶ <rootfs>/etc/kubernetes/egress-proxy/cluster.sock
 *       ══ connect-proxy (node netns) ══▶ 198.18.0.2:10250 (kubelet), pod and service addresses
 */
export const FORWARDER_SCRIPT = String.raw`
const net = require('net');
const fs = require('fs');
const [mode, from, to] = process.argv.slice(1);
const hp = (s) => { const i = s.lastIndexOf(':'); return { host: s.slice(0, i), port: Number(s.slice(i + 1)) }; };
const dial = mode === 'tcp-to-unix' ? () => net.connect(to) : () => net.connect(hp(to).port, hp(to).host);
const server = net.createServer((c) => {
  const u = dial();
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
  c.pipe(u);
  u.pipe(c);
});
server.on('error', (e) => { console.error(String(e)); process.exit(1); });
const done = () => { console.error('forwarder ' + mode + ' ' + from + ' -> ' + to + ': listening'); };
if (mode === 'connect-proxy') {
  const toInt = (ip) => ip.split('.').reduce((a, p) => a * 256 + Number(p), 0);
  const ranges = to.split(',').map((c) => {
    const [base, bits] = c.split('/');
    const size = 2 ** (32 - Number(bits));
    const lo = toInt(base);
    return [lo, lo + size - 1];
  });
  const allowed = (host) => /^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}$/.test(host) && host.split('.').every((p) => Number(p) <= 255) &&
    ranges.some(([lo, hi]) => toInt(host) >= lo && toInt(host) <= hi);
  const proxy = net.createServer((c) => {
    let head = Buffer.alloc(0);
    const answer = (code, text, dest) => {
      console.error('connect-proxy ' + (dest || '-') + ' ' + code);
      c.end('HTTP/1.1 ' + code + ' ' + text + '\r\n\r\n');
    };
    const onData = (d) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 8192) { c.removeListener('data', onData); answer(400, 'Bad Request'); }
        return;
      }
      c.removeListener('data', onData);
      c.pause();
      const line = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      const rest = head.subarray(end + 4);
      const m = /^CONNECT ([^ ]+):([0-9]{1,5}) HTTP\/1\.[01]$/.exec(line);
      if (!m) return answer(400, 'Bad Request');
      const dest = m[1] + ':' + m[2];
      if (!allowed(m[1]) || Number(m[2]) < 1 || Number(m[2]) > 65535) return answer(403, 'Forbidden', dest);
      const u = net.connect(Number(m[2]), m[1]);
      let open = false;
      u.setTimeout(30000, () => { if (!open) u.destroy(new Error('dial timeout')); });
      u.on('connect', () => {
        open = true;
        u.setTimeout(0);
        console.error('connect-proxy ' + dest + ' 200');
        c.write('HTTP/1.1 200 Connection established\r\n\r\n');
        if (rest.length) u.write(rest);
        c.pipe(u);
        u.pipe(c);
        c.resume();
      });
      u.on('error', (e) => { if (open) c.destroy(); else answer(502, 'Bad Gateway', dest + ' (' + e.message + ')'); });
      c.on('error', () => u.destroy());
      c.on('close', () => u.destroy());
    };
    c.on('data', onData);
    c.on('error', () => c.destroy());
  });
  proxy.on('error', (e) => { console.error(String(e)); process.exit(1); });
  try { if (fs.statSync(from).isSocket()) fs.unlinkSync(from); } catch (e) {}
  const old = process.umask(0o177);
  proxy.listen(from, () => { process.umask(old); console.error('connect-proxy on ' + from + ' to ' + to + ': listening'); });
  for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { proxy.close(); process.exit(0); });
} else if (mode === 'tcp-to-unix') {
  server.listen(hp(from).port, hp(from).host, done);
} else if (mode === 'unix-to-tcp') {
  try { if (fs.statSync(from).isSocket()) fs.unlinkSync(from); } catch (e) {}
  const old = process.umask(0o177);
  server.listen(from, () => { process.umask(old); done(); });
} else {
  console.error('usage: tcp-to-unix HOST:PORT SOCKET | unix-to-tcp SOCKET HOST:PORT | connect-proxy SOCKET CIDR[,CIDR...]');
  process.exit(2);
}
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { server.close(); process.exit(0); });
`;
