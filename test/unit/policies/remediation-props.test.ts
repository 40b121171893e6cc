// Every construct prop a control's remediation names exists. A remediation is structured
// ({ construct, prop, text } steps, policies/control.ts): each step's construct and prop paths are
// resolved against the constructs' TypeScript types with the compiler API (the package's own
// source, as its .d.ts publishes it), and references a step's text makes in words ("X prop y",
// "X.member") are read out and resolved the same way. A fix that names a prop nobody can set sends
// the reader nowhere.
import * as path from 'path';
import * as ts from 'typescript';
import { CATALOGUE } from '../../../policies';
import { Remediation, remediationSteps, remediationText, stepProps, stepText } from '../../../policies/control';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '../../..');

/** A reference in a remediation text: construct (or type) name and a prop path such as `containers[].resources`. */
interface Ref {
  control: string;
  name: string;
  path: string;
  kind: 'prop' | 'member' | 'construct';
}

// A prop path starts lower-case (so `... and KubeletConfiguration prop x` is a new reference, not a path).
const PATH = String.raw`[a-z_][A-Za-z0-9_]*(?:\[\])?(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[\])?)*`;
const LIST_SEP = String.raw`(?:, (?:and |or )?| and | or |/)`;

/**
 * The references of one text. Recognised forms (what remediation texts are written in):
 *   `Name prop a.b`, `Name props a, b and c`, `Name construct prop a` (paths may use `[]` for list
 *   items and `/` between alternatives), `Name.member` (a static member such as
 *   `Probe.fromHttpGet`, or a prop), and `Name path:` / `Name list[].path` (a prop path right after
 *   the name). `names` are the candidates: every class and interface the package exports.
 */
export function extractRefs(control: string, text: string, names: ReadonlySet<string>): Ref[] {
  const refs: Ref[] = [];
  const word = /\b([A-Z][A-Za-z0-9]+)\b/g;
  for (let m = word.exec(text); m; m = word.exec(text)) {
    const name = m[1];
    const rest = text.slice(m.index + name.length);
    const props = new RegExp(`^(?: construct)? props? (${PATH}(?:${LIST_SEP}${PATH})*)`).exec(rest);
    if (props) {
      const paths = props[1].split(new RegExp(LIST_SEP));
      // An unknown name is one problem, whatever it lists.
      for (const p of names.has(name) ? paths : paths.slice(0, 1)) refs.push({ control, name, path: p, kind: 'prop' });
      continue;
    }
    if (!names.has(name)) continue;
    const member = new RegExp(`^\\.(${PATH}(?:/${PATH})*)`).exec(rest);
    if (member) {
      for (const p of member[1].split('/')) refs.push({ control, name, path: p, kind: 'member' });
      continue;
    }
    const bare = new RegExp(`^ (${PATH})(?=:|\\s)`).exec(rest);
    if (bare && bare[1] !== 'construct' && (bare[1].includes('[]') || rest.startsWith(` ${bare[1]}:`))) {
      refs.push({ control, name, path: bare[1], kind: 'prop' });
    }
  }
  return refs;
}

/** Resolves references against the package's exported declarations. */
class TypeIndex {
  private readonly checker: ts.TypeChecker;
  private readonly exports = new Map<string, ts.Symbol>();

  constructor() {
    const config = ts.getParsedCommandLineOfConfigFile(
      path.join(ROOT, 'tsconfig.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    )!;
    const entry = path.join(ROOT, 'constructs/index.ts');
    const program = ts.createProgram([entry], { ...config.options, noEmit: true });
    this.checker = program.getTypeChecker();
    const module = this.checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    for (const s of this.checker.getExportsOfModule(module)) {
      const target = s.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(s) : s;
      if (target.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))
        this.exports.set(s.name, target);
    }
  }

  get names(): ReadonlySet<string> {
    return new Set(this.exports.keys());
  }

  /** The props type of a class (its constructor parameter named `props`), or the interface itself. */
  private propsType(name: string): ts.Type | undefined {
    const sym = this.exports.get(name);
    if (!sym) return undefined;
    if (sym.flags & ts.SymbolFlags.Class) {
      const decl = sym.valueDeclaration as ts.ClassDeclaration | undefined;
      const ctor =
        decl?.members.find(
          (m): m is ts.ConstructorDeclaration => ts.isConstructorDeclaration(m) && m.body !== undefined,
        ) ?? decl?.members.find(ts.isConstructorDeclaration);
      const param = ctor?.parameters.find((p) => p.name.getText() === 'props');
      return param ? this.checker.getTypeAtLocation(param) : undefined;
    }
    return this.checker.getDeclaredTypeOfSymbol(sym);
  }

  /** Follows `a.b[].c` through a type; returns the first segment that does not exist, or undefined. */
  private follow(type: ts.Type, p: string): string | undefined {
    let t: ts.Type = type;
    for (const seg of p.split('.')) {
      const list = seg.endsWith('[]');
      const key = list ? seg.slice(0, -2) : seg;
      const prop =
        this.checker.getNonNullableType(t).getProperty(key) ??
        this.checker.getApparentType(this.checker.getNonNullableType(t)).getProperty(key);
      if (!prop) return seg;
      t = this.checker.getNonNullableType(this.checker.getTypeOfSymbol(prop));
      if (list) {
        const element = this.checker.getIndexTypeOfType(t, ts.IndexKind.Number);
        if (!element) return `${seg} (not a list)`;
        t = element;
      }
    }
    return undefined;
  }

  /** Why `ref` does not resolve, or undefined when it does. */
  problem(ref: Ref): string | undefined {
    const sym = this.exports.get(ref.name);
    if (!sym) return `${ref.name} is not a class or interface the package exports`;
    if (ref.kind === 'construct') return undefined;
    if (ref.kind === 'member' && sym.flags & ts.SymbolFlags.Class) {
      const first = ref.path.split('.')[0].replace(/\[\]$/, '');
      const statics = this.checker.getTypeOfSymbol(sym);
      const instance = this.checker.getDeclaredTypeOfSymbol(sym);
      for (const t of [statics, instance]) {
        if (t.getProperty(first) && this.follow(t, ref.path) === undefined) return undefined;
      }
    }
    const props = this.propsType(ref.name);
    if (!props) return ref.kind === 'member' ? `${ref.name} has no member "${ref.path}"` : `${ref.name} takes no props`;
    const missing = this.follow(props, ref.path);
    return missing === undefined ? undefined : `${ref.name} has no prop "${ref.path}" ("${missing}" does not exist)`;
  }
}

let index: TypeIndex;
beforeAll(() => {
  index = new TypeIndex();
});

describe('remediation texts name props that exist', () => {
  test('the extraction reads the forms remediation texts use', () => {
    const names = new Set(['HardenedWorkload', 'HardenedControlPlane', 'Probe', 'KubeletConfiguration', 'AuditPolicy']);
    const refs = (t: string) => extractRefs('X', t, names).map((r) => `${r.name}:${r.kind}:${r.path}`);
    expect(refs("HardenedControlPlane prop apiServer.extraArgs 'profiling': 'false'.")).toEqual([
      'HardenedControlPlane:prop:apiServer.extraArgs',
    ]);
    expect(refs('HardenedWorkload props liveness and readiness (Probe.fromHttpGet/fromTcpSocket).')).toEqual([
      'HardenedWorkload:prop:liveness',
      'HardenedWorkload:prop:readiness',
      'Probe:member:fromHttpGet',
      'Probe:member:fromTcpSocket',
    ]);
    expect(refs('HardenedWorkload containers[].image and initContainers[].image: pin them.')).toEqual([
      'HardenedWorkload:prop:containers[].image',
    ]);
    expect(refs('HardenedWorkload ports: drop hostPort.')).toEqual(['HardenedWorkload:prop:ports']);
    expect(refs('KubeletConfiguration construct props rotateCertificates, serverTLSBootstrap or tls.')).toEqual([
      'KubeletConfiguration:prop:rotateCertificates',
      'KubeletConfiguration:prop:serverTLSBootstrap',
      'KubeletConfiguration:prop:tls',
    ]);
    expect(refs('HardenedWorkload renders runAsNonRoot: true.')).toEqual([]);
    expect(refs('Widget props size and colour.')).toEqual(['Widget:prop:size']);
    expect(
      refs('AuditPolicy construct: keep its rules. HardenedControlPlane prop audit.log.path; then a log shipper.'),
    ).toEqual(['HardenedControlPlane:prop:audit.log.path']);
    expect(refs('HardenedControlPlane prop apiServer.extraArgs and KubeletConfiguration prop featureGates.')).toEqual([
      'HardenedControlPlane:prop:apiServer.extraArgs',
      'KubeletConfiguration:prop:featureGates',
    ]);
  });

  test('the resolution can fail: a prop that does not exist, a wrong list item, an unknown construct', () => {
    const problems = (text: string) =>
      extractRefs('X', text, index.names)
        .map((r) => index.problem(r))
        .filter(Boolean);
    expect(problems('HardenedWorkload prop identity.')).toEqual([
      'HardenedWorkload has no prop "identity" ("identity" does not exist)',
    ]);
    expect(problems('HardenedWorkload prop containers[].limits.')).toEqual([
      'HardenedWorkload has no prop "containers[].limits" ("limits" does not exist)',
    ]);
    expect(problems('HardenedWorkload prop namespace[].x.')).toHaveLength(1);
    expect(problems('Probe.httpGet')).toHaveLength(1);
    expect(problems('HardenedGadget prop size.')).toHaveLength(1);
    expect(
      problems(
        'HardenedWorkload prop containers[].resources.cpuLimit; Probe.fromHttpGet; HardenedNamespace prop containerLimits.maxCpu.',
      ),
    ).toEqual([]);
  });

  test('every remediation of the catalogue: its steps and the references in their texts', () => {
    const structured = CATALOGUE.flatMap((c) => structuredRefs(c.id, c.remediation));
    // The steps do name constructs and props: a catalogue of text-only steps would pass vacuously.
    expect(structured.filter((r) => r.kind === 'prop').length).toBeGreaterThan(80);
    const inText = CATALOGUE.flatMap((c) =>
      remediationSteps(c.remediation).flatMap((s) => extractRefs(c.id, s.text, index.names)),
    );
    const problems = [...structured, ...inText]
      .map((r) => ({ r, p: index.problem(r) }))
      .filter((x) => x.p !== undefined)
      .map((x) => `${x.r.control}: ${x.p}`);
    expect(problems).toEqual([]);
  });

  test('catalogue remediations are structured, and their texts do not repeat the construct and prop', () => {
    for (const c of CATALOGUE) {
      expect({ id: c.id, plain: typeof c.remediation === 'string' }).toEqual({ id: c.id, plain: false });
      for (const s of remediationSteps(c.remediation)) {
        expect({ id: c.id, text: s.text.trim().length > 0 }).toEqual({ id: c.id, text: true });
        // A prop needs its construct; the text says what to do, after "<construct> prop <prop>: ".
        if (s.prop !== undefined)
          expect({ id: c.id, construct: s.construct }).toEqual({ id: c.id, construct: expect.any(String) });
        // With a prop the text follows "<construct> prop <prop>: "; without one it is a sentence that names the construct.
        if (s.construct !== undefined && s.prop !== undefined)
          expect({ id: c.id, repeats: s.text.startsWith(s.construct) }).toEqual({ id: c.id, repeats: false });
        if (s.construct !== undefined && s.prop === undefined)
          expect({ id: c.id, names: s.text.includes(s.construct) }).toEqual({ id: c.id, names: true });
      }
    }
  });
});

/** The references a structured remediation makes: each step's construct with each of its props (or the construct alone). */
function structuredRefs(control: string, r: Remediation | string): Ref[] {
  return remediationSteps(r).flatMap((s): Ref[] => {
    if (s.construct === undefined) return [];
    const props = stepProps(s);
    return props.length > 0
      ? props.map((p) => ({ control, name: s.construct!, path: p, kind: 'prop' as const }))
      : [{ control, name: s.construct, path: '', kind: 'construct' as const }];
  });
}

describe('structured remediation', () => {
  test('renders as the text reports print after "fix:"', () => {
    expect(
      stepText({ construct: 'HardenedControlPlane', prop: 'apiServer.extraArgs', text: "remove 'token-auth-file'." }),
    ).toBe("HardenedControlPlane prop apiServer.extraArgs: remove 'token-auth-file'.");
    expect(
      stepText({
        construct: 'KubeletConfiguration',
        prop: ['rotateCertificates', 'serverTLSBootstrap', 'tls'],
        text: 'true.',
      }),
    ).toBe('KubeletConfiguration props rotateCertificates, serverTLSBootstrap and tls: true.');
    expect(stepText({ construct: 'AuditPolicy', text: 'AuditPolicy construct: keep its rules.' })).toBe(
      'AuditPolicy construct: keep its rules.',
    );
    expect(
      remediationText([
        { construct: 'HardenedWorkload', text: 'HardenedWorkload renders no hostPath.' },
        { text: 'Delete what is left.' },
      ]),
    ).toBe('HardenedWorkload renders no hostPath. Delete what is left.');
    expect(remediationText('plain text')).toBe('plain text');
  });

  test('a step naming a construct or prop that does not exist is caught', () => {
    const problems = (r: Remediation) =>
      structuredRefs('X', r)
        .map((x) => index.problem(x))
        .filter(Boolean);
    expect(problems({ construct: 'HardenedControlPlane', prop: 'apiServer.authorizationModes', text: 'x' })).toEqual([
      'HardenedControlPlane has no prop "apiServer.authorizationModes" ("authorizationModes" does not exist)',
    ]);
    expect(
      problems({ construct: 'HardenedControlPlane', prop: ['audit.logPath', 'etcd.local.extraArgs'], text: 'x' }),
    ).toHaveLength(2);
    expect(problems({ construct: 'HardenedGadget', text: 'x' })).toEqual([
      'HardenedGadget is not a class or interface the package exports',
    ]);
    expect(
      problems([
        { construct: 'HardenedWorkload', prop: 'containers[].resources.cpuLimit', text: 'x' },
        { construct: 'AuditPolicy', text: 'y' },
      ]),
    ).toEqual([]);
  });
});
