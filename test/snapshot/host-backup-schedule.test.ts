import { Testing } from 'cdk8s';
import { HostBackupSchedule } from '../../constructs';

test('HostBackupSchedule: program configuration, systemd service and timer', () => {
  const s = new HostBackupSchedule(Testing.chart(), 'schedule', {
    backup: { interval: '24h', retain: 7 },
    cluster: 'prod',
    hostName: 'cp1',
    address: '198.18.5.11',
    hcbVersion: '0.0.0-snapshot',
  });
  expect(
    s.nodeFiles.map((f) => `# ${f.path} (${f.mode.toString(8)} ${f.owner}:${f.group})\n${f.content}`).join('\n'),
  ).toMatchSnapshot();
});
