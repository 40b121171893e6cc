/**
 * `hcb synth`: writes the blueprint's output for review and audit:
 *   <out>/cluster.yaml        every cluster object (multi-document YAML)
 *   <out>/control-plane.yaml  kubeadm, kubelet, audit, encryption and admission configuration,
 *                             and the node file manifest (secrets appear only as tokens)
 *   <out>/exceptions.yaml     the blueprint's reviewed exceptions (a ControlExceptionList) for
 *                             `hcb audit --exceptions`; hcb audit never applies it from its input
 * A new directory is written beside and renamed into place; an existing one is used only when it
 * is empty or an earlier synth wrote it (.hcb-synth.json), and only our files in it are replaced.
 */
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { Command } from '../command';
import { noPositional, oneOf, parseOptions, UsageError, usageFailure } from '../options';
import {
  synthesizeBlueprint,
  BlueprintSpec,
  ProtectionProfile,
  SynthesizedBlueprint,
} from '../../constructs/blueprint';
import { PROTECTION_PROFILES } from '../../constructs/control-plane/profile';
import { DEFAULT_LOCAL_ENDPOINTS } from '../../constructs/local-endpoints';
import { exceptionListDocument } from '../../policies/exceptions';
import { SYNTH_MARKER } from '../../policies/input/files';
import { ioError, printable } from '../fs-safe';
import { loadStackConfig } from '../stack-config';

const PROFILES = PROTECTION_PROFILES;

const USAGE = `usage: hcb synth [--out DIR] [--profile basic|standard|high] [--namespace NAME ...] [--local]
       hcb synth [--out DIR] --stack-config FILE [--stack NAME]

Synthesizes the blueprint into DIR (default ./cdk8s.out/hcb): cluster.yaml, control-plane.yaml
and exceptions.yaml (audit with: hcb audit DIR --exceptions DIR/exceptions.yaml).
  --local    the embedded local control plane's settings (loopback ports) instead of a real node's
  --stack-config FILE  build exactly what a Pulumi stack applies, from \`pulumi config --json\` output
                       (replaces --profile, --namespace and --local)
  --stack NAME         the stack's name, needed with a hosts stack's config (the program names the
                       cluster and the kubelet's cgroup parent after it)
`;

export const command: Command = {
  name: 'synth',
  summary: 'write the blueprint (cluster objects and control-plane files) as YAML',
  async run(args: string[]): Promise<number> {
    let out: string;
    let profile: ProtectionProfile;
    let namespaces: string[];
    let local: boolean;
    let stackConfig: string | undefined;
    let stack: string | undefined;
    try {
      const o = parseOptions(args, {
        values: ['out', 'profile', 'namespace', 'stack-config', 'stack'],
        flags: ['help', 'local'],
        short: { h: 'help' },
        repeatable: ['namespace'],
      });
      if (o.flags.has('help')) {
        process.stdout.write(USAGE);
        return 0;
      }
      noPositional(o);
      out = path.resolve(o.value('out') ?? 'cdk8s.out/hcb');
      profile = oneOf(o.options, 'profile', PROFILES, 'standard');
      namespaces = o.options.get('namespace') ?? [];
      local = o.flags.has('local');
      stackConfig = o.value('stack-config');
      stack = o.value('stack');
      if (stack !== undefined && !stackConfig) throw new UsageError('--stack names the stack of --stack-config FILE');
    } catch (e) {
      if (e instanceof UsageError) return usageFailure(process.stderr, 'synth', USAGE, e.message);
      throw e;
    }
    if (stackConfig) {
      let spec: BlueprintSpec;
      try {
        spec = (await loadStackConfig(stackConfig, { stack })).spec;
      } catch (e) {
        process.stderr.write(`hcb synth: ${printable((e as Error).message)}\n`);
        return 2;
      }
      return write(out, spec);
    }
    const spec: BlueprintSpec = {
      profile,
      namespaces: (namespaces.length ? namespaces : ['hcb-demo']).map((name) => ({ name })),
      local: local ? { ...DEFAULT_LOCAL_ENDPOINTS } : undefined,
    };
    return write(out, spec);
  },
};

function write(out: string, spec: BlueprintSpec): number {
  let synth: SynthesizedBlueprint;
  try {
    synth = synthesizeBlueprint(spec);
  } catch (e) {
    // A construct's prop error names the construct path, the prop, the value and the fix.
    process.stderr.write(`hcb synth: ${printable((e as Error).message)}\n`);
    return 2;
  }
  try {
    const files = writeSynthOutput(out, synth);
    process.stderr.write(
      `hcb synth: wrote ${printable(files.map((f) => path.relative(process.cwd(), f)).join(', '))}\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof SynthOutputError) {
      process.stderr.write(`hcb synth: ${printable(e.message)}\n`);
      return 2;
    }
    if (typeof (e as NodeJS.ErrnoException).code === 'string') {
      // ENOSPC, EACCES, EROFS, …: nothing half-written is left (writeSynthOutput cleans up).
      process.stderr.write(`hcb synth: cannot write ${printable(out)}: ${ioError(e)}; nothing was changed there\n`);
      return 1;
    }
    throw e;
  }
}

/** Renders documents as one multi-document YAML string with stable formatting. */
export function toYaml(docs: unknown[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** The files `hcb synth` writes; the marker lists them so a later synth replaces only those. */
const SYNTH_FILES = ['cluster.yaml', 'control-plane.yaml', 'exceptions.yaml'] as const;
export { SYNTH_MARKER };

/** A refusal to write where writing could lose someone's files (exit code 2). */
export class SynthOutputError extends Error {}

function writeFileMode(file: string, content: string, mode: number): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  try {
    fs.fchmodSync(fd, mode); // whatever the umask
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Files `hcb synth` wrote into `dir` (from its marker), or undefined when `dir` is not ours. */
function ownFiles(dir: string): string[] | undefined {
  const entries = fs.readdirSync(dir);
  const marker = path.join(dir, SYNTH_MARKER);
  if (entries.includes(SYNTH_MARKER)) {
    const mst = fs.lstatSync(marker);
    if (!mst.isFile() || mst.size > 64 * 1024) return undefined; // a FIFO or device would hang the read
    try {
      const m = JSON.parse(fs.readFileSync(marker, 'utf8')) as { tool?: string; files?: unknown };
      if (m.tool === 'hcb synth' && Array.isArray(m.files))
        return m.files.filter((f): f is string => typeof f === 'string' && !f.includes('/') && !f.startsWith('.'));
    } catch {
      /* not ours after all */
    }
    return undefined;
  }
  // Output of earlier versions (no marker): exactly some of our file names and nothing else.
  if (entries.length > 0 && entries.every((e) => (SYNTH_FILES as readonly string[]).includes(e))) return entries;
  return entries.length === 0 ? [] : undefined;
}

/**
 * Writes the synthesized output into `dir`; returns the file paths. Never deletes what it did not
 * write: a new directory is written beside and renamed into place; an existing directory is used
 * only when it is empty or holds an earlier `hcb synth` output (its marker), and then only our own
 * files are replaced (each atomically) or removed. A path that is not a directory, a symbolic
 * link, or a directory with someone else's files is refused with a SynthOutputError. Files are
 * written with mode 0644 whatever the umask; on any error nothing half-written is left behind.
 */
export function writeSynthOutput(dir: string, synth: SynthesizedBlueprint): string[] {
  const contents: Record<(typeof SYNTH_FILES)[number], string> = {
    'cluster.yaml': toYaml(synth.clusterObjects),
    'control-plane.yaml': toYaml(synth.configDocuments),
    'exceptions.yaml': toYaml([exceptionListDocument(synth.exceptions)]),
  };
  const marker = `${JSON.stringify({ tool: 'hcb synth', files: SYNTH_FILES }, null, 2)}\n`;
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (st === undefined) {
    // A new directory: written completely beside it, then renamed into place.
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    const tmp = fs.mkdtempSync(`${dir}.tmp-`);
    try {
      fs.chmodSync(tmp, 0o755);
      for (const f of SYNTH_FILES) writeFileMode(path.join(tmp, f), contents[f], 0o644);
      writeFileMode(path.join(tmp, SYNTH_MARKER), marker, 0o644);
      fs.renameSync(tmp, dir);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    return SYNTH_FILES.map((f) => path.join(dir, f));
  }
  if (st.isSymbolicLink()) throw new SynthOutputError(`--out ${dir} is a symbolic link; give the directory itself`);
  if (!st.isDirectory())
    throw new SynthOutputError(
      `--out ${dir} exists and is not a directory; nothing was written (give a new or empty directory)`,
    );
  const ours = ownFiles(dir);
  if (ours === undefined) {
    throw new SynthOutputError(
      `--out ${dir} holds files that hcb synth did not write (no ${SYNTH_MARKER}); nothing was written or removed. Give a new or empty directory, or one an earlier hcb synth wrote.`,
    );
  }
  // Each file replaced atomically (temporary file beside it, then rename); temporaries removed on error.
  const temps: string[] = [];
  try {
    for (const f of SYNTH_FILES) {
      const target = path.join(dir, f);
      const tst = fs.lstatSync(target, { throwIfNoEntry: false });
      if (tst && !tst.isFile())
        throw new SynthOutputError(`${target} exists and is not a regular file; nothing was replaced`);
      const tmp = path.join(dir, `.${f}.${process.pid}.tmp`);
      temps.push(tmp);
      fs.rmSync(tmp, { force: true });
      writeFileMode(tmp, contents[f], 0o644);
    }
    const markerTmp = path.join(dir, `.${SYNTH_MARKER}.${process.pid}.tmp`);
    temps.push(markerTmp);
    fs.rmSync(markerTmp, { force: true });
    writeFileMode(markerTmp, marker, 0o644);
    for (const f of SYNTH_FILES) fs.renameSync(path.join(dir, `.${f}.${process.pid}.tmp`), path.join(dir, f));
    fs.renameSync(markerTmp, path.join(dir, SYNTH_MARKER));
  } catch (e) {
    for (const t of temps) fs.rmSync(t, { force: true });
    throw e;
  }
  // Files an earlier synth wrote that this one does not: ours, so they go.
  for (const f of ours) {
    if (!(SYNTH_FILES as readonly string[]).includes(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
  return SYNTH_FILES.map((f) => path.join(dir, f));
}
