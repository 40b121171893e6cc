// HostBackupSchedule (constructs/control-plane/host-backup-schedule.ts): the scheduled backup of a
// hosts control plane as node files. Props are validated; the service and timer are accepted by
// systemd's own parser (systemd-analyze verify, warnings count as failures); the service runs
// without capabilities, read-only except the backup directories, network only to etcd; the
// program's configuration carries paths, never key material.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdk8s';
import {
  HOST_BACKUP_SCHEDULE_CONFIG_PATH,
  HOST_BACKUP_SERVICE_PATH,
  HOST_BACKUP_TIMER_PATH,
  HostBackupSchedule,
  HostBackupScheduleProps,
} from '../../../../constructs/control-plane/host-backup-schedule';
import { BackupConfiguration } from '../../../../constructs/control-plane/backup-configuration';

const base: HostBackupScheduleProps = {
  backup: { interval: '24h', retain: 7 },
  cluster: 'prod',
  hostName: 'cp1',
  address: '198.18.5.11',
};
const make = (props: Partial<HostBackupScheduleProps> = {}) =>
  new HostBackupSchedule(new App({ outdir: '/nonexistent-hcb-synth' }), 'schedule', { ...base, ...props });

describe('HostBackupSchedule', () => {
  test('the files, their modes, and the command a scheduler runs', () => {
    const s = make();
    expect(s.nodeFiles.map((f) => [f.path, f.mode.toString(8), f.owner, f.sensitive])).toEqual([
      [HOST_BACKUP_SCHEDULE_CONFIG_PATH, '600', 'root', false],
      [HOST_BACKUP_SERVICE_PATH, '644', 'root', false],
      [HOST_BACKUP_TIMER_PATH, '644', 'root', false],
    ]);
    expect(s.command).toEqual([
      '/opt/hcb/bin/hcb-host-backup',
      'scheduled',
      '--config',
      HOST_BACKUP_SCHEDULE_CONFIG_PATH,
    ]);
    expect(s.renderService()).toContain(`ExecStart=${s.command.join(' ')}\n`);
    expect(s.intervalSeconds).toBe(86400);
  });

  test('interval and retention come from a BackupConfiguration', () => {
    const app = new App({ outdir: '/nonexistent-hcb-synth' });
    const backup = new BackupConfiguration(app, 'backup', { interval: '6h', retain: 3, maxAge: '7h' });
    const s = new HostBackupSchedule(app, 'schedule', { ...base, backup });
    expect(s.renderTimer()).toMatch(/^OnUnitActiveSec=21600s$/m);
    expect(JSON.parse(s.renderConfig())).toMatchObject({ retain: 3 });
  });

  test('the program configuration: etcd client certificate, what is included, the key file path only', () => {
    const cfg = JSON.parse(make({ encryptionConfigDir: '/etc/kubernetes/enc' }).renderConfig());
    expect(cfg).toEqual({
      cluster: 'prod',
      host: 'cp1',
      address: '198.18.5.11',
      backupDir: '/var/lib/hcb/backups',
      workDir: '/var/lib/hcb/backup',
      keyFile: '/etc/hcb/backup/backup-key',
      retain: 7,
      etcdutl: '/opt/hcb/bin/etcdutl',
      hcbVersion: 'unknown',
      timeout: '10m',
      etcd: {
        endpoint: 'https://127.0.0.1:2379',
        caFile: '/etc/kubernetes/pki/etcd/ca.crt',
        certFile: '/etc/kubernetes/pki/apiserver-etcd-client.crt',
        keyFile: '/etc/kubernetes/pki/apiserver-etcd-client.key',
      },
      include: ['/etc/kubernetes/pki', '/etc/kubernetes/enc', '/var/lib/hcb/secrets'],
    });
  });

  test('the service is hardened: no capabilities, read-only system, network only to etcd', () => {
    const svc = make().renderService();
    for (const line of [
      'Type=oneshot',
      'CapabilityBoundingSet=',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/hcb/backups /var/lib/hcb/backup',
      'PrivateTmp=yes',
      'UMask=0077',
      'IPAddressDeny=any',
      'IPAddressAllow=localhost',
      'SystemCallFilter=~@privileged',
    ])
      expect(svc.split('\n')).toContain(line);
    expect(make({ etcd: { endpoint: 'https://198.18.5.11:2379' } }).renderService()).toMatch(
      /^IPAddressAllow=198\.18\.5\.11$/m,
    );
  });

  test('systemd accepts the units without a warning', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-units-'));
    try {
      // ExecStart must name an executable for systemd-analyze; the unit is otherwise the one installed.
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.writeFileSync(path.join(dir, 'bin', 'hcb-host-backup'), '#!/bin/sh\n', { mode: 0o755 });
      const s = make({ binDir: path.join(dir, 'bin') });
      fs.writeFileSync(path.join(dir, 'hcb-backup.service'), s.renderService());
      fs.writeFileSync(path.join(dir, 'hcb-backup.timer'), s.renderTimer());
      const r = spawnSync('systemd-analyze', ['verify', './hcb-backup.service', './hcb-backup.timer'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.error).toBeUndefined();
      expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 0, stderr: '', stdout: '' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [{ backup: { interval: '30s', retain: 7 } }, /backup.interval is "30s"; write a duration of at least 1m/],
    [{ backup: { interval: 'daily', retain: 7 } }, /backup.interval is "daily"/],
    [{ backup: { interval: '1h', retain: 0 } }, /backup.retain is 0; keep at least 1/],
    [{ cluster: 'Prod_1' }, /prop cluster "Prod_1" must be a lower-case name/],
    [{ etcd: { endpoint: 'http://127.0.0.1:2379' } }, /etcd.endpoint .* must be https/],
    [{ backupDir: '/var/lib/../tmp' }, /prop backupDir .* plain absolute path/],
    [{ keyFile: '/var/lib/hcb/backups/key' }, /keyFile must not lie inside backupDir/],
    [{ timeout: '0s' }, /prop timeout is "0s"/],
  ])('refuses %j', (props, message) => {
    expect(() => make(props as Partial<HostBackupScheduleProps>)).toThrow(message);
  });
});
