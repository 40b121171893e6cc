/**
 * One measurement in a fresh process (run by bench/run.ts, so that peak RSS is this step's own).
 * Prints one JSON line. Modes:
 *   audit DIR [EXCEPTIONS]  load (read + parse) + evaluate (whole catalogue) + JSON report, in process
 *                           (with HCB_BENCH_REPORT=FILE the JSON report is also written to FILE)
 *   parse DIR               the floor: read + parse with the loader's parser and options (yaml, YAML 1.1,
 *                           unique keys, merge keys, line counter) + toJS, nothing else
 *   parse-alt DIR ALT       the same with js-yaml 5 from ALT/node_modules (event parser + YAML 1.1
 *                           scalars without timestamps + document line numbers)
 *   alt-check DIR ALT       does js-yaml give the same values and lines as the loader, and reject what it rejects?
 *   synth N OUT             N tenants (namespace + hardened workload) synthesized and written like
 *                           `hcb synth`; then the floor: the same objects serialized and written again
 */
import * as fs from 'fs';
import * as path from 'path';
import { isScalar, LineCounter, Node, parseAllDocuments } from 'yaml';

const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const rssMiB = (): number => process.resourceUsage().maxRSS / 1024;

function yamlFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ya?ml|json)$/.test(e.name)) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

const YAML_OPTIONS = {
  version: '1.1' as const,
  merge: true,
  uniqueKeys: true,
  prettyErrors: true,
  customTags: (tags: unknown[]) =>
    tags.filter((t) => (t as { tag?: string }).tag !== 'tag:yaml.org,2002:timestamp') as never,
};

interface Parsed {
  values: unknown[];
  lines: number[];
  errors: number;
}

function parseWithYaml(text: string): Parsed {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter });
  const out: Parsed = { values: [], lines: [], errors: 0 };
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length > 0) {
      out.errors++;
      continue;
    }
    const contents = doc.contents as Node | null;
    if (contents === null || (isScalar(contents) && contents.value === null)) continue;
    out.values.push(doc.toJS({ maxAliasCount: 100 }));
    out.lines.push(lineCounter.linePos(contents.range?.[0] ?? 0).line);
  }
  return out;
}

interface JsYaml {
  parseEvents(input: string, options: object): Array<{ type: number; start?: number; valueStart?: number }>;
  constructFromEvents(events: unknown[], options: object): unknown[];
  Schema: new (tags: unknown[]) => unknown;
  FAILSAFE_SCHEMA: { tags: unknown[] };
  nullYaml11Tag: unknown;
  boolYaml11Tag: unknown;
  intYaml11Tag: unknown;
  floatYaml11Tag: unknown;
  mergeTag: unknown;
  EVENT_ID: Record<string, number>;
}

function loadJsYaml(alt: string): { lib: JsYaml; version: string; parse: (text: string) => Parsed } {
  const dir = path.join(alt, 'node_modules', 'js-yaml');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = require(dir) as JsYaml;
  const version = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  // YAML 1.1 scalars as the loader reads them (0600 octal, yes/no booleans), merge keys, no timestamps.
  const schema = new lib.Schema([
    ...lib.FAILSAFE_SCHEMA.tags,
    lib.nullYaml11Tag,
    lib.boolYaml11Tag,
    lib.intYaml11Tag,
    lib.floatYaml11Tag,
    lib.mergeTag,
  ]);
  const DOC = lib.EVENT_ID.DOCUMENT;
  const POP = lib.EVENT_ID.POP;
  const parse = (text: string): Parsed => {
    const out: Parsed = { values: [], lines: [], errors: 0 };
    let events;
    try {
      events = lib.parseEvents(text, { maxDepth: 100 });
      out.values = lib.constructFromEvents(events, { source: text, schema, maxAliases: 100 });
    } catch {
      out.errors++;
      return out;
    }
    // Line of each document's root node: the offset of the first event after its DOCUMENT event.
    const newlines: number[] = [];
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) newlines.push(i);
    const lineOf = (off: number): number => {
      let lo = 0;
      let hi = newlines.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (newlines[mid] < off) lo = mid + 1;
        else hi = mid;
      }
      return lo + 1;
    };
    for (let i = 0; i < events.length; i++) {
      if (events[i].type !== DOC) continue;
      const next = events[i + 1];
      if (!next || next.type === POP) continue;
      out.lines.push(lineOf(next.start ?? next.valueStart ?? 0));
    }
    // Empty documents construct to null (the loader skips them).
    const keep = out.values.map((v) => v !== null && v !== undefined);
    out.values = out.values.filter((_, i) => keep[i]);
    out.lines = out.lines.filter((_, i) => keep[i]);
    return out;
  };
  return { lib, version, parse };
}

function parseDir(dir: string, parse: (text: string) => Parsed): Record<string, number> {
  const t = process.hrtime.bigint();
  const c = cpuMs();
  let documents = 0;
  let errors = 0;
  let bytes = 0;
  for (const f of yamlFiles(dir)) {
    const text = fs.readFileSync(f, 'utf8');
    bytes += Buffer.byteLength(text);
    const p = parse(text);
    documents += p.values.length;
    errors += p.errors;
  }
  return { parseMs: ms(t), cpuMs: cpuMs() - c, documents, errors, bytes, peakRssMiB: rssMiB() };
}

async function audit(dir: string, exceptionsFile?: string): Promise<Record<string, number>> {
  const { loadInputs, loadProblemsToFindings, parseExceptions } = await import('../policies/input');
  const { evaluate } = await import('../policies/engine');
  const { RENDERERS, summarizeFindings } = await import('../policies/report');
  const exceptions = exceptionsFile
    ? parseExceptions(fs.readFileSync(exceptionsFile, 'utf8'), exceptionsFile).exceptions
    : [];
  const c0 = cpuMs();
  let t = process.hrtime.bigint();
  const loaded = await loadInputs([dir], { cwd: process.cwd() });
  const loadMs = ms(t);
  const c1 = cpuMs();
  t = process.hrtime.bigint();
  const findings = [
    ...loadProblemsToFindings(loaded.errors),
    ...evaluate(loaded.documents, { exceptions, now: new Date('2026-11-22T00:00:00Z') }),
  ];
  const evaluateMs = ms(t);
  const c2 = cpuMs();
  t = process.hrtime.bigint();
  const json = RENDERERS.json(findings, summarizeFindings(findings), {});
  const renderMs = ms(t);
  const c3 = cpuMs();
  // bench/same-findings.ts: the report itself, to compare two builds byte for byte (outside the timing).
  if (process.env.HCB_BENCH_REPORT) fs.writeFileSync(process.env.HCB_BENCH_REPORT, json);
  let bytes = 0;
  for (const f of yamlFiles(dir)) bytes += fs.statSync(f).size;
  return {
    loadMs,
    evaluateMs,
    renderMs,
    auditMs: loadMs + evaluateMs + renderMs,
    cpuMs: c3 - c0,
    loadCpuMs: c1 - c0,
    evaluateCpuMs: c2 - c1,
    renderCpuMs: c3 - c2,
    documents: loaded.documents.length,
    loadErrors: loaded.errors.length,
    findings: findings.length,
    failing: findings.filter((f) => f.status === 'fail' || f.status === 'error').length,
    reportBytes: json.length,
    bytes,
    peakRssMiB: rssMiB(),
  };
}

function altCheck(dir: string, alt: string): Record<string, unknown> {
  const js = loadJsYaml(alt);
  let documents = 0;
  let valueMismatches = 0;
  let lineMismatches = 0;
  const examples: string[] = [];
  for (const f of yamlFiles(dir)) {
    const text = fs.readFileSync(f, 'utf8');
    const a = parseWithYaml(text);
    const b = js.parse(text);
    documents += a.values.length;
    if (a.values.length !== b.values.length) {
      valueMismatches++;
      if (examples.length < 3) examples.push(`${path.basename(f)}: ${a.values.length} vs ${b.values.length} documents`);
      continue;
    }
    a.values.forEach((v, i) => {
      if (JSON.stringify(v) !== JSON.stringify(b.values[i])) {
        valueMismatches++;
        if (examples.length < 3) examples.push(`${path.basename(f)} document ${i + 1}: values differ`);
      }
      if (a.lines[i] !== b.lines[i]) lineMismatches++;
    });
  }
  // Inputs a correct loader must refuse (or read as YAML 1.1 does), yaml's verdict beside js-yaml's.
  const probes: Array<[string, string]> = [
    ['duplicate key', 'a: 1\na: 2\n'],
    ['tab indentation', 'a:\n\tb: 1\n'],
    ['bad indentation', 'a:\n  b: 1\n c: 2\n'],
    ['unclosed quote', 'a: "x\n'],
    ['unclosed flow', 'a: [1, 2\n'],
    ['undefined alias', 'a: *nope\n'],
    ['YAML 1.1 octal 0600 = 384', 'mode: 0600\n'],
    ['YAML 1.1 yes = true', 'v: yes\n'],
  ];
  const verdict = (p: Parsed): string => (p.errors > 0 ? 'rejected' : JSON.stringify(p.values[0]));
  const probeResults = probes.map(([name, text]) => {
    let ours: string;
    try {
      ours = verdict(parseWithYaml(text));
    } catch {
      ours = 'rejected';
    }
    return { name, yaml: ours, jsYaml: verdict(js.parse(text)) };
  });
  return { version: js.version, documents, valueMismatches, lineMismatches, examples, probes: probeResults };
}

async function synth(n: number, out: string): Promise<Record<string, number>> {
  const { App } = await import('cdk8s');
  const { Blueprint } = await import('../constructs/blueprint');
  const { HardenedWorkload, Probe } = await import('../constructs');
  const { writeSynthOutput, toYaml } = await import('../cli/commands/synth');
  const DIGEST = '@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
  const c0 = cpuMs();
  let t = process.hrtime.bigint();
  const app = new App({ outdir: '/nonexistent-hcb-bench' });
  const names = Array.from({ length: n }, (_, i) => `team-${String(i).padStart(5, '0')}`);
  const blueprint = new Blueprint(app, 'hcb', { namespaces: names.map((name) => ({ name })) });
  for (const ns of names) {
    new HardenedWorkload(blueprint.cluster, `${ns}-api`, {
      namespace: ns,
      containers: [
        {
          name: 'api',
          image: `registry.example.com/${ns}/api${DIGEST}`,
          ports: [{ number: 8080, name: 'http' }],
          liveness: Probe.fromHttpGet('/healthz'),
          readiness: Probe.fromHttpGet('/ready'),
        },
      ],
    });
  }
  const constructMs = ms(t);
  t = process.hrtime.bigint();
  const clusterObjects = blueprint.cluster.toJson() as object[];
  const synth = {
    clusterObjects: clusterObjects as never,
    nodeFiles: blueprint.controlPlane.nodeFiles,
    configDocuments: [...blueprint.controlPlane.documents, blueprint.controlPlane.nodeFileManifest()],
    namespaceNames: blueprint.namespaces.map((x) => x.namespaceName),
    exceptions: blueprint.exceptions,
  };
  const toJsonMs = ms(t);
  t = process.hrtime.bigint();
  writeSynthOutput(path.join(out, 'synth'), synth);
  const writeMs = ms(t);
  const synthCpuMs = cpuMs() - c0;
  const synthMs = constructMs + toJsonMs + writeMs;
  const objects = clusterObjects.length + synth.configDocuments.length;
  // The floor: the same plain objects (deep-copied, so no construct is involved) serialized the
  // same way and written to disk.
  const plain = JSON.parse(JSON.stringify({ a: clusterObjects, b: synth.configDocuments })) as {
    a: object[];
    b: object[];
  };
  const c1 = cpuMs();
  t = process.hrtime.bigint();
  fs.mkdirSync(path.join(out, 'floor'));
  fs.writeFileSync(path.join(out, 'floor', 'cluster.yaml'), toYaml(plain.a));
  fs.writeFileSync(path.join(out, 'floor', 'control-plane.yaml'), toYaml(plain.b));
  const floorMs = ms(t);
  const floorCpuMs = cpuMs() - c1;
  return {
    tenants: n,
    objects,
    constructMs,
    toJsonMs,
    writeMs,
    synthMs,
    synthCpuMs,
    floorMs,
    floorCpuMs,
    peakRssMiB: rssMiB(),
  };
}

async function main(argv: string[]): Promise<void> {
  const [mode, a, b] = argv;
  let result: unknown;
  if (mode === 'audit') result = await audit(a, b);
  else if (mode === 'parse') result = parseDir(a, parseWithYaml);
  else if (mode === 'parse-alt') result = parseDir(a, loadJsYaml(b).parse);
  else if (mode === 'alt-check') result = altCheck(a, b);
  else if (mode === 'synth') result = await synth(Number(a), b);
  else throw new Error(`unknown mode ${mode}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`bench child: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
