/**
 * Restore of several control planes (issue 14): the plan against a 3-control-plane stack (every
 * member from the same snapshot with its own --name and --initial-advertise-peer-urls, one
 * --initial-cluster naming all three, built from the members and not from the first member's
 * manifest), its refusals, and the order of Kubernetes' procedure over the members (every API
 * server stopped before any etcd, every etcd stopped before any data directory changes), with the
 * way back on failure. Also the script that pins the control-plane images, run against a stand-in
 * ctr that records what it is asked.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  API_STATIC_PODS,
  CRI_PINNED_LABEL,
  etcdMemberFromFlags,
  MemberRestoreSteps,
  PIN_IMAGES_SCRIPT,
  planMemberRestores,
  RESTORE_REVISION_BUMP,
  runClusterRestore,
} from '../../../stacks/hosts/backup';
import { readerFromPulumiConfigJson, stackSpec } from '../../../stacks/spec';

let tmp: string;
let hostKeys: string[];
let privateKey: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-ha-restore-'));
  hostKeys = [1, 2, 3].map((i) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `cp${i}`, '-f', path.join(tmp, `h${i}`)]);
    return fs.readFileSync(path.join(tmp, `h${i}.pub`), 'utf8').trim();
  });
  privateKey = fs.readFileSync(path.join(tmp, 'h1'), 'utf8');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A hosts stack of three control planes behind a load balancer, as `pulumi config --json` prints it. */
function threeControlPlanes() {
  const hosts = [1, 2, 3].map((i) => ({
    name: `cp${i}`,
    address: `198.18.6.1${i}`,
    port: 22,
    user: 'root',
    role: 'control-plane',
    hostKey: hostKeys[i - 1],
  }));
  return stackSpec(
    readerFromPulumiConfigJson({
      'hcb:target': { value: 'hosts' },
      'hcb:hosts': { value: '[]', objectValue: hosts },
      'hcb:controlPlaneEndpoint': { value: '198.18.6.10:6443' },
      'hcb:sshPrivateKey': { value: privateKey, secret: true },
    }),
  );
}

/**
 * etcd's flags as kubeadm writes them on each control plane: the first member's --initial-cluster
 * names only itself, each joined member's names the members that existed when it joined.
 */
function kubeadmEtcdFlags(hosts: Array<{ name: string; address: string }>): Map<string, string>[] {
  return hosts.map((h, i) => {
    const peer = `https://${h.address}:2380`;
    const known = hosts.slice(0, i + 1).map((x) => `${x.name}=https://${x.address}:2380`);
    return new Map([
      ['name', h.name],
      ['data-dir', '/var/lib/etcd'],
      ['initial-advertise-peer-urls', peer],
      ['initial-cluster', known.join(',')],
      ...(i > 0 ? [['initial-cluster-state', 'existing'] as [string, string]] : []),
      ['listen-peer-urls', peer],
    ]);
  });
}

describe('the plan for a 3-control-plane stack', () => {
  test('every member from the same snapshot, its own name and peer URL, one initial cluster of all three', () => {
    const spec = threeControlPlanes();
    const cps = spec.hosts!.hosts.filter((h) => h.role === 'control-plane');
    expect(cps.map((h) => h.name)).toEqual(['cp1', 'cp2', 'cp3']);
    const flags = kubeadmEtcdFlags(cps);
    // What the first member's manifest says is not enough for a restore.
    expect(flags[0].get('initial-cluster')).toBe('cp1=https://198.18.6.11:2380');
    const members = cps.map((h, i) => etcdMemberFromFlags(h.name, flags[i]));
    const plans = planMemberRestores(members, { snapshot: '/var/lib/hcb/backup/restore-X.db', stamp: 'X' });
    const all = 'cp1=https://198.18.6.11:2380,cp2=https://198.18.6.12:2380,cp3=https://198.18.6.13:2380';
    expect(plans).toEqual(
      cps.map((h) => ({
        host: h.name,
        name: h.name,
        dataDir: '/var/lib/etcd',
        fresh: '/var/lib/etcd.restore-X',
        etcdutlArgs: [
          'snapshot',
          'restore',
          '/var/lib/hcb/backup/restore-X.db',
          '--data-dir',
          '/var/lib/etcd.restore-X',
          '--name',
          h.name,
          '--initial-cluster',
          all,
          '--initial-advertise-peer-urls',
          `https://${h.address}:2380`,
          '--bump-revision',
          String(RESTORE_REVISION_BUMP),
          '--mark-compacted',
        ],
      })),
    );
  });

  test('a cluster token of the manifests is kept; disagreeing ones, shared names or peer URLs are refused', () => {
    const m = (host: string, name: string, peer: string, token?: string) =>
      etcdMemberFromFlags(
        host,
        new Map([
          ['name', name],
          ['data-dir', '/var/lib/etcd'],
          ['initial-advertise-peer-urls', peer],
          ...(token ? [['initial-cluster-token', token] as [string, string]] : []),
        ]),
      );
    const o = { snapshot: '/s.db', stamp: 'T' };
    const withToken = planMemberRestores(
      [m('cp1', 'cp1', 'https://198.18.6.11:2380', 't1'), m('cp2', 'cp2', 'https://198.18.6.12:2380', 't1')],
      o,
    );
    expect(withToken[1].etcdutlArgs).toEqual(expect.arrayContaining(['--initial-cluster-token', 't1']));
    expect(() =>
      planMemberRestores(
        [m('cp1', 'cp1', 'https://198.18.6.11:2380', 't1'), m('cp2', 'cp2', 'https://198.18.6.12:2380')],
        o,
      ),
    ).toThrow(/disagree on --initial-cluster-token \(cp1: t1, cp2: none\)/);
    expect(() =>
      planMemberRestores(
        [m('cp1', 'etcd', 'https://198.18.6.11:2380'), m('cp2', 'etcd', 'https://198.18.6.12:2380')],
        o,
      ),
    ).toThrow(/hosts cp1 and cp2 both have etcd name etcd/);
    expect(() =>
      planMemberRestores([m('cp1', 'cp1', 'https://198.18.6.11:2380'), m('cp2', 'cp2', 'https://198.18.6.11:2380')], o),
    ).toThrow(/both have etcd peer URL https:\/\/198.18.6.11:2380/);
    expect(() => planMemberRestores([], o)).toThrow(/no etcd member/);
  });

  test('a manifest a restore cannot rely on is refused', () => {
    const base = () =>
      new Map([
        ['name', 'cp1'],
        ['data-dir', '/var/lib/etcd'],
        ['initial-advertise-peer-urls', 'https://198.18.6.11:2380'],
      ]);
    const without = (k: string) => {
      const f = base();
      f.delete(k);
      return f;
    };
    expect(() => etcdMemberFromFlags('cp1', without('name'))).toThrow(/host cp1: etcd runs without a plain --name/);
    expect(() => etcdMemberFromFlags('cp1', without('initial-advertise-peer-urls'))).toThrow(
      /without --initial-advertise-peer-urls/,
    );
    expect(() => etcdMemberFromFlags('cp1', base().set('data-dir', '/var/lib/../etcd'))).toThrow(
      /--data-dir "\/var\/lib\/..\/etcd" is not a plain absolute path/,
    );
    expect(() => etcdMemberFromFlags('cp1', base().set('initial-advertise-peer-urls', 'cp1:2380'))).toThrow(
      /not a URL like https/,
    );
  });
});

/** Members that record every step in one journal; `fail` names the step that throws. */
function fakeMembers(journal: string[], fail?: string): MemberRestoreSteps[] {
  return ['cp1', 'cp2', 'cp3'].map((host) => {
    const step = (name: string) => async () => {
      journal.push(`${name} ${host}`);
      if (fail === `${name} ${host}`) throw new Error(`${name} failed on ${host}`);
    };
    return {
      host,
      prepare: step('prepare'),
      pin: step('pin'),
      stop: async (components: readonly string[]) => {
        const name = components.includes('etcd') ? 'stop-etcd' : 'stop-api';
        if (name === 'stop-api') expect(components).toEqual(API_STATIC_PODS);
        await step(name)();
      },
      swap: step('swap'),
      unswap: step('unswap'),
      start: step('start'),
      waitReady: step('ready'),
      discard: step('discard'),
    };
  });
}

const phases = (journal: string[]) => journal.map((j) => j.split(' ')[0]);

describe("the order of Kubernetes' procedure over the members", () => {
  test('prepare all, pin, stop every API server, then every etcd, swap all, start all, wait for all', async () => {
    const journal: string[] = [];
    await runClusterRestore(fakeMembers(journal), () => undefined);
    const order = ['prepare', 'pin', 'stop-api', 'stop-etcd', 'swap', 'start', 'ready', 'discard'];
    expect(journal).toEqual(order.flatMap((p) => ['cp1', 'cp2', 'cp3'].map((h) => `${p} ${h}`)));
  });

  test('a failure while preparing changes nothing on any host', async () => {
    const journal: string[] = [];
    await expect(runClusterRestore(fakeMembers(journal, 'prepare cp2'), () => undefined)).rejects.toThrow(
      /prepare failed on cp2; nothing was changed on any host/,
    );
    expect(phases(journal)).not.toContain('stop-api');
    expect(phases(journal)).not.toContain('swap');
    expect(journal.filter((j) => j.startsWith('discard'))).toHaveLength(3);
  });

  test('a failure while stopping starts every host that was being stopped again', async () => {
    const journal: string[] = [];
    await expect(runClusterRestore(fakeMembers(journal, 'stop-etcd cp2'), () => undefined)).rejects.toThrow(
      /stop-etcd failed on cp2\n\(every host put back as it was\)/,
    );
    expect(phases(journal)).not.toContain('swap');
    expect(journal.filter((j) => j.startsWith('start'))).toEqual(['start cp1', 'start cp2', 'start cp3']);
  });

  test('a failure during the swap takes back the swaps done, newest first, and starts every host', async () => {
    const journal: string[] = [];
    await expect(runClusterRestore(fakeMembers(journal, 'swap cp3'), () => undefined)).rejects.toThrow(
      /swap failed on cp3/,
    );
    const after = journal.slice(journal.indexOf('swap cp3') + 1);
    expect(after.filter((j) => !j.startsWith('discard'))).toEqual([
      'unswap cp2',
      'unswap cp1',
      'start cp1',
      'start cp2',
      'start cp3',
    ]);
  });
});

describe('pinning the control-plane images', () => {
  let bin: string;
  let calls: string;
  beforeAll(() => {
    bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    calls = path.join(tmp, 'calls');
    // A stand-in for ctr: lists two images, records every label call, fails on request.
    fs.writeFileSync(
      path.join(bin, 'ctr'),
      `#!/bin/sh
echo "$*" >> ${calls}
case "$*" in
  *"images list --quiet"*) [ -n "$CTR_LIST_FAILS" ] && exit 1; printf 'hcb.local/hcb/etcd:3.6.5\\nhcb.local/hcb/kube-apiserver:v1.36.3\\n' ;;
  *"images label"*) [ -n "$CTR_LABEL_FAILS" ] && exit 1; echo "labelled" ;;
esac
`,
      { mode: 0o755 },
    );
  });

  const run = (images: string[], env: Record<string, string> = {}) => {
    fs.rmSync(calls, { force: true });
    return spawnSync(
      'sh',
      ['-c', PIN_IMAGES_SCRIPT, 'hcb', path.join(bin, 'ctr'), '/run/containerd/containerd.sock', ...images],
      { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } },
    );
  };

  test('each image containerd has gets the CRI pinned label in the k8s.io namespace; others are named absent', () => {
    expect(CRI_PINNED_LABEL).toBe('io.cri-containerd.pinned=pinned');
    const r = run(['hcb.local/hcb/etcd:3.6.5', 'hcb.local/hcb/kube-apiserver:v1.36.3', 'hcb.local/hcb/other:1']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'pinned hcb.local/hcb/etcd:3.6.5',
      'pinned hcb.local/hcb/kube-apiserver:v1.36.3',
      'absent hcb.local/hcb/other:1',
    ]);
    const labelled = fs
      .readFileSync(calls, 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l.includes('images label'));
    expect(labelled).toEqual([
      '--address /run/containerd/containerd.sock --namespace k8s.io images label hcb.local/hcb/etcd:3.6.5 io.cri-containerd.pinned=pinned',
      '--address /run/containerd/containerd.sock --namespace k8s.io images label hcb.local/hcb/kube-apiserver:v1.36.3 io.cri-containerd.pinned=pinned',
    ]);
  });

  test('ctr failing is a failure, not a silent skip', () => {
    const list = run(['hcb.local/hcb/etcd:3.6.5'], { CTR_LIST_FAILS: '1' });
    expect(list.status).not.toBe(0);
    expect(list.stdout).toMatch(/ctr images list failed/);
    const label = run(['hcb.local/hcb/etcd:3.6.5'], { CTR_LABEL_FAILS: '1' });
    expect(label.status).not.toBe(0);
    expect(label.stdout).toMatch(/label failed hcb.local\/hcb\/etcd:3.6.5/);
  });
});
