/**
 * kubeletSubjects costs what the input holds: each KubeletConfiguration is paired with the
 * registrations of its own kubeadm --config file (and those in files without a configuration),
 * and drop-ins, process configuration files and cluster configurations are looked up through
 * indexes built once per call. Growth is measured by counting work, not by timing: every read of
 * a document's `object` or `source` (each scan, each isKind, each file comparison reads one).
 */
import { kubeletSubjects } from '../../../policies/flags';
import { Document, KubeObject } from '../../../policies/model';

const isKind = (d: Document, kind: string, group: string) =>
  d.object.kind === kind && String(d.object.apiVersion).startsWith(`${group}/`);

const KC = { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration' };
const DROPIN_DIR = '/etc/kubernetes/kubelet.conf.d';

/** n nodes, each described like a kubeadm node and like a running kubelet, among filler objects. */
function input(n: number): Array<[KubeObject, string]> {
  const out: Array<[KubeObject, string]> = [];
  for (let i = 0; i < n; i++) {
    const kubeadm = `node-${i}/kubeadm.yaml`;
    out.push([
      {
        apiVersion: 'kubeadm.k8s.io/v1beta3',
        kind: i % 2 === 0 ? 'InitConfiguration' : 'JoinConfiguration',
        nodeRegistration: { kubeletExtraArgs: { 'config-dir': DROPIN_DIR, 'read-only-port': String(i) } },
      },
      kubeadm,
    ]);
    out.push([
      { apiVersion: 'kubeadm.k8s.io/v1beta3', kind: 'ClusterConfiguration', certificatesDir: `/pki/${i}` },
      kubeadm,
    ]);
    out.push([{ ...KC, readOnlyPort: 0 }, kubeadm]);
    out.push([{ ...KC, readOnlyPort: 0 }, `live:/var/lib/kubelet/config-${i}.yaml`]);
    out.push([
      {
        apiVersion: 'hcb.dev/v1alpha1',
        kind: 'KubeletProcess',
        metadata: { name: `node-${i}` },
        command: ['kubelet', `--config=/var/lib/kubelet/config-${i}.yaml`, `--config-dir=${DROPIN_DIR}`],
      },
      `live-${i}.yaml`,
    ]);
    for (let k = 0; k < 20; k++)
      out.push([
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${k}`, namespace: `ns-${i}` } },
        `app-${i}.yaml`,
      ]);
  }
  out.push([{ ...KC, serializeImagePulls: false }, `${DROPIN_DIR}/10-pulls.conf`]);
  return out;
}

/** The documents, with every read of `object` and `source` counted. */
function counted(items: Array<[KubeObject, string]>): { docs: Document[]; reads: () => number } {
  let reads = 0;
  const docs = items.map(([object, file]) => {
    const source = { file };
    const d = {} as Document;
    Object.defineProperty(d, 'object', { get: () => (reads++, object), enumerable: true });
    Object.defineProperty(d, 'source', { get: () => (reads++, source), enumerable: true });
    return d;
  });
  return { docs, reads: () => reads };
}

function run(n: number): { subjects: number; reads: number; documents: number } {
  const { docs, reads } = counted(input(n));
  const subjects = kubeletSubjects(docs, isKind);
  return { subjects: subjects.length, reads: reads(), documents: docs.length };
}

describe('kubeletSubjects grows with the input, not with its square', () => {
  it('pairs each configuration with its own file registrations: one kubeadm and one observed kubelet per node', () => {
    const { docs } = counted(input(3));
    const subjects = kubeletSubjects(docs, isKind);
    expect(subjects).toHaveLength(6);
    const viaKubeadm = subjects.filter((s) => s.flagsFrom?.object.kind !== 'KubeletProcess');
    // Each kubeadm node's flags and certificates directory are its own file's.
    expect(viaKubeadm.map((s) => [s.document.source?.file, s.flagsFrom?.source?.file, s.config.readOnlyPort])).toEqual(
      [0, 1, 2].map((i) => [`node-${i}/kubeadm.yaml`, `node-${i}/kubeadm.yaml`, i]),
    );
    // The shared drop-in directory applies to every kubelet (looked up once, used by all).
    for (const s of subjects) expect(s.config.serializeImagePulls).toBe(false);
  });

  it('still gives a join in a file without configuration the configuration of every kubeadm file', () => {
    const items = input(2);
    items.push([
      {
        apiVersion: 'kubeadm.k8s.io/v1beta3',
        kind: 'JoinConfiguration',
        nodeRegistration: { kubeletExtraArgs: { 'read-only-port': '10255' } },
      },
      'worker-join.yaml',
    ]);
    const subjects = kubeletSubjects(counted(items).docs, isKind).filter(
      (s) => s.flagsFrom?.source?.file === 'worker-join.yaml',
    );
    expect(subjects.map((s) => [s.document.source?.file, s.config.readOnlyPort])).toEqual([
      ['node-0/kubeadm.yaml', 10255],
      ['node-1/kubeadm.yaml', 10255],
    ]);
  });

  it('reads the documents a number of times proportional to their count', () => {
    const small = run(10);
    const large = run(80);
    expect(large.documents / small.documents).toBeCloseTo(8, 0);
    expect(large.subjects).toBe(8 * small.subjects);
    // Linear: reads per document stay the same (within 10 %) at eight times the input.
    const perDoc = (r: { reads: number; documents: number }) => r.reads / r.documents;
    expect(perDoc(large) / perDoc(small)).toBeLessThan(1.1);
  });
});
