/**
 * The SSH transport's pure parts: quoting for the remote shell, redaction of secrets, and what is
 * refused before any connection (the lab e2e test, test/e2e/hosts-ssh.test.ts, covers the rest).
 */
import { execFileSync } from 'child_process';
import { redact, shellQuote, SshConnection, SshError } from '../../../stacks/hosts/ssh';

test('shellQuote: words reach the remote command unchanged, whatever they contain', () => {
  const words = ['plain', 'a b', "it's", '$(id)', '`id`', ';reboot', '', '-n', 'x\ny', '"q"', '\\', '*', '~root'];
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${words.map(shellQuote).join(' ')}`], { encoding: 'utf8' });
  expect(out.split('\0').slice(0, -1)).toEqual(words);
  expect(() => shellQuote('a\0b')).toThrow(SshError);
});

test('redact: PEM private keys, bootstrap tokens, named secrets and each line of a multi-line secret', () => {
  const key =
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nAAAAMwAAAAtzc2gtZWQyNTUxOQ\n-----END OPENSSH PRIVATE KEY-----\n';
  expect(redact(`before ${key} after`)).toBe('before [redacted private key]\n after');
  expect(redact('kubeadm join --token abcdef.0123456789abcdef x')).toBe('kubeadm join --token [redacted token] x');
  expect(redact('value s3cret-value here', ['s3cret-value'])).toBe('value [redacted] here');
  // One line of a key quoted alone (no armour) is still caught through the secret's lines.
  expect(redact('bad line: AAAAMwAAAAtzc2gtZWQyNTUxOQ', [key])).toBe('bad line: [redacted]');
  // A truncated PEM block (no END line) is removed to the end.
  expect(redact('x -----BEGIN RSA PRIVATE KEY-----\nMIIE')).toBe('x [redacted private key]');
  // Short strings are not treated as secrets (they would blank out ordinary words).
  expect(redact('a b c', ['b'])).toBe('a b c');
});

test('no pinned host key: refused before dialling, naming the host and the fix', async () => {
  const host = { name: 'cp1', address: '192.0.2.10', port: 22, user: 'root' };
  // Port 1 on loopback: nothing would answer, but nothing is dialled at all.
  const p = SshConnection.connect(host, { privateKey: 'unused', dial: { host: '127.0.0.1', port: 1 } });
  await expect(p).rejects.toMatchObject({ kind: 'host-key-unknown' });
  await expect(p).rejects.toThrow(
    /ssh root@cp1 \(192\.0\.2\.10:22\): refused: no host key is pinned for "cp1" and keys are never trusted on first use\. Fix: read \/etc\/ssh\/ssh_host_ed25519_key\.pub/,
  );
  await expect(
    SshConnection.connect({ ...host, hostKey: 'ssh-ed25519 notbase64!' }, { privateKey: 'unused' }),
  ).rejects.toMatchObject({ kind: 'usage' });
});
