/**
 * Container images for the local node, built here because nothing can be pulled: each image
 * is one static Go binary (our own programs in tools/images, or a toolchain binary such as
 * CoreDNS) in a single layer, written as an OCI image layout archive that containerd imports
 * (`ctr -n k8s.io images import`). Layers and configs are byte-for-byte reproducible (fixed
 * times, owners and order), so an image's digest only changes when its binary does, and the
 * cluster references every image by that digest.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';

/** The registry host name in image references; nothing listens there, images are imported. */
export const LOCAL_IMAGE_HOST = 'hcb.local';

export interface ImageSpec {
  /** Repository path under LOCAL_IMAGE_HOST, e.g. 'hcb/pause'. */
  repository: string;
  tag: string;
  /** The binary, placed at /<basename of entrypoint[0]> in the image. */
  binary: string;
  entrypoint: string[];
  /** Numeric user:group the image runs as by default (never root). */
  user: string;
  exposedPorts?: string[];
}

export interface BuiltImage {
  /** repository:tag reference (what containerd names the image on import). */
  name: string;
  /** Digest reference: LOCAL_IMAGE_HOST/repository@sha256:... (what the cluster uses). */
  ref: string;
  digest: string;
  /** The OCI archive to import. */
  archive: string;
}

/** A tar archive writer for regular files and directories (ustar, fixed metadata). */
export function tarArchive(entries: Array<{ name: string; data?: Buffer; mode: number; dir?: boolean }>): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.dir ? Buffer.alloc(0) : (e.data ?? Buffer.alloc(0));
    const h = Buffer.alloc(512);
    const name = e.dir && !e.name.endsWith('/') ? `${e.name}/` : e.name;
    if (Buffer.byteLength(name) > 100) throw new Error(`tar: name too long: ${name}`);
    h.write(name, 0, 100, 'utf8');
    h.write(octal(e.mode, 7), 100);
    h.write(octal(0, 7), 108);
    h.write(octal(0, 7), 116);
    h.write(octal(data.length, 11), 124);
    h.write(octal(0, 11), 136);
    h.write('        ', 148);
    h.write(e.dir ? '5' : '0', 156);
    h.write('ustar\u000000', 257, 'binary');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'binary');
    blocks.push(h, data);
    if (data.length % 512) blocks.push(Buffer.alloc(512 - (data.length % 512)));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width, '0')}\u0000`;
}

function sha256(b: Buffer | string): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** Builds the OCI archive of one image in memory; returns it with its manifest digest. */
export function ociArchive(spec: ImageSpec, binaryContent: Buffer): { archive: Buffer; digest: string } {
  const target = spec.entrypoint[0].replace(/^\//, '');
  const layerTar = tarArchive([{ name: target, data: binaryContent, mode: 0o755 }]);
  const layerGz = zlib.gzipSync(layerTar, { level: 9 });
  // gzip writes the OS byte and a zero mtime; node's output is deterministic for equal input.
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {
        Entrypoint: spec.entrypoint,
        User: spec.user,
        WorkingDir: '/',
        ...(spec.exposedPorts?.length
          ? { ExposedPorts: Object.fromEntries(spec.exposedPorts.map((p) => [p, {}])) }
          : {}),
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layerTar)}`] },
      history: [{ created_by: `hardened-cluster-blueprint: ${path.basename(spec.binary)} as /${target}` }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${sha256(config)}`,
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: `sha256:${sha256(layerGz)}`,
          size: layerGz.length,
        },
      ],
    }),
  );
  const digest = `sha256:${sha256(manifest)}`;
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest,
          size: manifest.length,
          annotations: {
            'io.containerd.image.name': `${LOCAL_IMAGE_HOST}/${spec.repository}:${spec.tag}`,
            'org.opencontainers.image.ref.name': spec.tag,
          },
        },
      ],
    }),
  );
  const blob = (b: Buffer) => ({ name: `blobs/sha256/${sha256(b)}`, data: b, mode: 0o644 });
  const archive = tarArchive([
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}'), mode: 0o644 },
    { name: 'index.json', data: index, mode: 0o644 },
    { name: 'blobs', mode: 0o755, dir: true },
    { name: 'blobs/sha256', mode: 0o755, dir: true },
    blob(config),
    blob(layerGz),
    blob(manifest),
  ]);
  return { archive, digest };
}

/** The repository's own image programs (tools/images): name → Go package directory. */
export const IMAGE_PROGRAMS = { pause: 'pause', probe: 'probe' } as const;

const REPO = path.resolve(__dirname, '../../..');

/**
 * Builds tools/images' programs (static, reproducible: -trimpath, no build id, no VCS stamp)
 * into a cache keyed by their sources and the Go version, and returns the binaries' paths.
 */
export function buildImagePrograms(
  cacheRoot = defaultCacheRoot(),
  log: (l: string) => void = () => undefined,
): Record<keyof typeof IMAGE_PROGRAMS, string> {
  const src = path.join(REPO, 'tools/images');
  if (!fs.existsSync(path.join(src, 'go.mod'))) throw new Error(`image programs not found in ${src}`);
  const goVersion = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout?.trim();
  if (!goVersion) throw new Error('go is not on PATH: it builds the node images (tools/images)');
  const files = listFiles(src).sort();
  const key = sha256(
    JSON.stringify([goVersion, ...files.map((f) => [path.relative(src, f), sha256(fs.readFileSync(f))])]),
  ).slice(0, 16);
  const out = path.join(cacheRoot, 'image-programs', key);
  const result = Object.fromEntries(Object.keys(IMAGE_PROGRAMS).map((k) => [k, path.join(out, k)])) as Record<
    keyof typeof IMAGE_PROGRAMS,
    string
  >;
  if (Object.values(result).every((f) => fs.existsSync(f))) return result;
  log(`building image programs (${Object.keys(IMAGE_PROGRAMS).join(', ')}) with ${goVersion}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-image-programs-'));
  try {
    const res = spawnSync(
      'go',
      [
        'build',
        '-trimpath',
        '-buildvcs=false',
        '-ldflags=-s -w -buildid=',
        '-o',
        `${tmp}/`,
        ...Object.values(IMAGE_PROGRAMS).map((p) => `./${p}`),
      ],
      {
        cwd: src,
        encoding: 'utf8',
        env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GOOS: 'linux', GOARCH: 'amd64' },
        timeout: 600_000,
      },
    );
    if (res.status !== 0) throw new Error(`building tools/images failed:\n${res.stderr}`);
    fs.mkdirSync(out, { recursive: true });
    for (const k of Object.keys(IMAGE_PROGRAMS))
      fs.renameSync(
        path.join(tmp, IMAGE_PROGRAMS[k as keyof typeof IMAGE_PROGRAMS]),
        result[k as keyof typeof IMAGE_PROGRAMS],
      );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return result;
}

/** Writes the image's OCI archive into `dir` (unchanged when it exists) and returns its reference. */
export function buildImage(spec: ImageSpec, dir: string): BuiltImage {
  const { archive, digest } = ociArchive(spec, fs.readFileSync(spec.binary));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${spec.repository.replace(/\//g, '_')}-${digest.slice(7, 19)}.oci.tar`);
  if (!fs.existsSync(file)) {
    // Per-process temporary name: test files running side by side may write the same archive.
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, archive, { mode: 0o600 });
    fs.renameSync(tmp, file);
  }
  return {
    name: `${LOCAL_IMAGE_HOST}/${spec.repository}:${spec.tag}`,
    ref: `${LOCAL_IMAGE_HOST}/${spec.repository}@${digest}`,
    digest,
    archive: file,
  };
}

export function defaultCacheRoot(): string {
  return path.join(process.env.HCB_CACHE_DIR ?? path.join(os.homedir(), '.cache/hardened-cluster-blueprint'));
}

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
