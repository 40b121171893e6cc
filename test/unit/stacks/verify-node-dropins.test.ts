/**
 * `hcb verify` reads the kubelet's --config-dir the way the kubelet walks it (through its root), and
 * the catalogue merges what it read over the file.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CATALOGUE } from '../../../policies/catalogue';
import { evaluate } from '../../../policies/engine';
import { Document } from '../../../policies/model';
import { readDropinDirectory } from '../../../stacks/local/verify-node';

const KC = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n';

describe('readDropinDirectory', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-dropins-'));
    const d = path.join(root, 'etc/kubernetes/kubelet.conf.d');
    fs.mkdirSync(path.join(d, '20-extra'), { recursive: true });
    fs.writeFileSync(path.join(d, '10-webhook.conf'), `${KC}authorization: {mode: Webhook}\n`);
    fs.writeFileSync(path.join(d, '20-extra/05-open.conf'), `${KC}readOnlyPort: 10255\n`);
    fs.writeFileSync(path.join(d, '20-extra.conf.bak'), `${KC}readOnlyPort: 0\n`);
    fs.writeFileSync(path.join(d, 'README'), 'notes\n');
    fs.writeFileSync(
      path.join(root, 'etc/kubernetes/shared.yaml'),
      `${KC}authentication: {anonymous: {enabled: true}}\n`,
    );
    // An absolute link is resolved inside the kubelet's root, as the kubelet sees it.
    fs.symlinkSync('/etc/kubernetes/shared.yaml', path.join(d, '30-shared.conf'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('lists every file in the kubelet order with the content of the .conf files', () => {
    const r = readDropinDirectory(root, '/etc/kubernetes/kubelet.conf.d');
    expect('files' in r).toBe(true);
    const files = 'files' in r ? r.files : [];
    expect(files.map((f) => f.name)).toEqual([
      '10-webhook.conf',
      '20-extra/05-open.conf',
      '20-extra.conf.bak',
      '30-shared.conf',
      'README',
    ]);
    expect(files[1].config).toMatchObject({ readOnlyPort: 10255 });
    expect(files[2].config).toBeUndefined();
    expect(files[3].config).toMatchObject({ authentication: { anonymous: { enabled: true } } });
  });

  it('marks what stops the kubelet (empty file, link to a directory) and what it cannot read', () => {
    const d = path.join(root, 'etc/kubernetes/kubelet.conf.d');
    fs.writeFileSync(path.join(d, '40-empty.conf'), '');
    fs.symlinkSync('/etc/kubernetes', path.join(d, '50-dir.conf'));
    fs.writeFileSync(path.join(d, '60-two.conf'), `${KC}---\n${KC}`);
    const r = readDropinDirectory(root, '/etc/kubernetes/kubelet.conf.d');
    const byName = new Map(('files' in r ? r.files : []).map((f) => [f.name, f]));
    expect(byName.get('40-empty.conf')?.invalid).toMatch(/empty/);
    expect(byName.get('50-dir.conf')?.invalid).toMatch(/directory/);
    expect(byName.get('60-two.conf')?.unreadable).toMatch(/2 YAML documents/);
    expect(readDropinDirectory(root, '/etc/kubernetes/absent.d')).toEqual({ missing: 'does not exist in the node' });
  });

  it('does not descend a --config-dir that is a link, unless it is named with a trailing slash (as WalkDir)', () => {
    fs.symlinkSync('/etc/kubernetes/kubelet.conf.d', path.join(root, 'etc/kubernetes/linked.d'));
    expect(readDropinDirectory(root, '/etc/kubernetes/linked.d')).toEqual({ files: [] });
    const r = readDropinDirectory(root, '/etc/kubernetes/linked.d/');
    expect('files' in r ? r.files.map((f) => f.name) : r).toEqual([
      '10-webhook.conf',
      '20-extra/05-open.conf',
      '20-extra.conf.bak',
      '30-shared.conf',
      'README',
    ]);
  });

  it('feeds the catalogue: the listing merges over the file the process reads', () => {
    const r = readDropinDirectory(root, '/etc/kubernetes/kubelet.conf.d');
    const docs: Document[] = [
      {
        object: {
          apiVersion: 'hcb.dev/v1alpha1',
          kind: 'KubeletProcess',
          metadata: { name: 'n' },
          command: ['kubelet', '--config=/var/lib/kubelet/config.yaml', '--config-dir=/etc/kubernetes/kubelet.conf.d'],
        },
        source: { file: 'live:/proc/1/cmdline' },
      },
      {
        object: { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', readOnlyPort: 0 },
        source: { file: 'live:/var/lib/kubelet/config.yaml' },
      },
      {
        object: {
          apiVersion: 'hcb.dev/v1alpha1',
          kind: 'KubeletConfigDirectory',
          metadata: { name: 'n' },
          path: '/etc/kubernetes/kubelet.conf.d',
          files: 'files' in r ? r.files : [],
        },
        source: { file: 'live:/etc/kubernetes/kubelet.conf.d' },
      },
    ];
    const f = evaluate(docs, {
      controls: CATALOGUE.filter((c) =>
        ['HCB-KUBELET-READ-ONLY-PORT', 'HCB-KUBELET-ANONYMOUS-AUTH', 'HCB-KUBELET-AUTHORIZATION-MODE'].includes(c.id),
      ),
    });
    expect(f.map((x) => [x.control, x.status])).toEqual([
      ['HCB-KUBELET-ANONYMOUS-AUTH', 'fail'],
      ['HCB-KUBELET-AUTHORIZATION-MODE', 'pass'],
      ['HCB-KUBELET-READ-ONLY-PORT', 'fail'],
    ]);
    expect(f.find((x) => x.control === 'HCB-KUBELET-READ-ONLY-PORT')?.message).toMatch(
      /readOnlyPort from \/etc\/kubernetes\/kubelet\.conf\.d\/20-extra\/05-open\.conf/,
    );
  });
});
