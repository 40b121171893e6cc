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
if (mode === 'tcp-to-unix') {
  server.listen(hp(from).port, hp(from).host, done);
} else if (mode === 'unix-to-tcp') {
  try { if (fs.statSync(from).isSocket()) fs.unlinkSync(from); } catch (e) {}
  const old = process.umask(0o177);
  server.listen(from, () => { process.umask(old); done(); });
} else {
  console.error('usage: tcp-to-unix HOST:PORT SOCKET | unix-to-tcp SOCKET HOST:PORT');
  process.exit(2);
}
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { server.close(); process.exit(0); });
`;
