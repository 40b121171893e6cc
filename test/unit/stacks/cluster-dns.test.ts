/**
 * The local target's DNS add-on wiring (stacks/local/cluster-dns.ts): the stack program and
 * `hcb synth --stack-config` get the same CoreDNS image (by digest of the toolchain binary).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { withLocalClusterDns } from '../../../stacks/local/cluster-dns';
import { coreDnsImage } from '../../../stacks/local/node/services';
import type { StackSpec } from '../../../stacks/spec';

let dir: string;
let binDir: string;
const saved = process.env.HCB_CACHE_DIR;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-cluster-dns-'));
  binDir = path.join(dir, 'bin');
  fs.mkdirSync(binDir);
  fs.writeFileSync(path.join(binDir, 'coredns'), 'not really coredns, but bytes with a digest', { mode: 0o755 });
  process.env.HCB_CACHE_DIR = path.join(dir, 'cache');
});
afterAll(() => {
  if (saved === undefined) delete process.env.HCB_CACHE_DIR;
  else process.env.HCB_CACHE_DIR = saved;
  fs.rmSync(dir, { recursive: true, force: true });
});

const base: StackSpec = { target: 'local', spec: {}, manifests: [], node: true };

test('local with a node: clusterDns with the toolchain CoreDNS image by digest, the same the node builds', () => {
  const out = withLocalClusterDns(base, binDir);
  const ref = out.spec.clusterDns?.image ?? '';
  expect(ref).toMatch(/^hcb\.local\/hcb\/coredns@sha256:[0-9a-f]{64}$/);
  expect(coreDnsImage(binDir, path.join(dir, 'node-images')).ref).toBe(ref);
  expect(out.spec.clusterDns?.probeSources).toEqual(['198.18.16.1/32']);
  expect(base.spec.clusterDns).toBeUndefined();
});

test('unchanged without a node, on another target, without the toolchain, or when the spec sets it', () => {
  expect(withLocalClusterDns({ ...base, node: false }, binDir)).toEqual({ ...base, node: false });
  expect(withLocalClusterDns({ ...base, target: 'existing', node: false }, binDir).spec.clusterDns).toBeUndefined();
  expect(withLocalClusterDns(base, undefined).spec.clusterDns).toBeUndefined();
  const own = { ...base, spec: { clusterDns: { image: `x.example/coredns@sha256:${'a'.repeat(64)}` } } };
  expect(withLocalClusterDns(own, binDir)).toBe(own);
});

test('a toolchain without coredns is named, not skipped', () => {
  expect(() => withLocalClusterDns(base, path.join(dir, 'cache'))).toThrow(/needs coredns in .*npm run toolchain/);
});
