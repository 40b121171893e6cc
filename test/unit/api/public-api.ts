/**
 * The package's public API as text: every export of the two entry points (`hardened-cluster-blueprint`
 * = constructs/index.ts, `hardened-cluster-blueprint/policies` = policies/index.ts) with its kind and
 * type, interfaces with their members. public-api.test.ts snapshots it, so a change to what users can
 * import is a visible diff in review (the role api-extractor's report plays elsewhere).
 */
import * as path from 'path';
import * as ts from 'typescript';

const REPO = path.resolve(__dirname, '../../..');
export const ENTRY_POINTS = {
  'hardened-cluster-blueprint': 'constructs/index.ts',
  'hardened-cluster-blueprint/policies': 'policies/index.ts',
} as const;

const FORMAT =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope |
  ts.TypeFormatFlags.WriteArrayAsGenericType;

function kindOf(s: ts.Symbol): string {
  const f = s.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Variable) return 'const';
  if (f & ts.SymbolFlags.Namespace) return 'namespace';
  return 'other';
}

function members(checker: ts.TypeChecker, type: ts.Type, location: ts.Node, indent: string, statics = false): string[] {
  const out: string[] = [];
  for (const m of checker.getPropertiesOfType(type)) {
    const decl = m.valueDeclaration ?? m.declarations?.[0];
    if (
      decl &&
      ts.getCombinedModifierFlags(decl as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)
    )
      continue;
    if (m.name.startsWith('_') || m.name === 'prototype') continue;
    const optional = m.flags & ts.SymbolFlags.Optional ? '?' : '';
    const readonly =
      decl && ts.getCombinedModifierFlags(decl as ts.Declaration) & ts.ModifierFlags.Readonly ? 'readonly ' : '';
    out.push(
      `${indent}${statics ? 'static ' : ''}${readonly}${m.name}${optional}: ${checker.typeToString(checker.getTypeOfSymbolAtLocation(m, location), undefined, FORMAT)}`,
    );
  }
  return out;
}

/** One entry point's exports, sorted by name, one block per export. */
export function describeEntryPoint(file: string): string {
  const abs = path.join(REPO, file);
  const program = ts.createProgram([abs], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    skipLibCheck: true,
    resolveJsonModule: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(abs);
  if (!source) throw new Error(`public-api: cannot read ${file}`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`public-api: ${file} is not a module`);
  const blocks: string[] = [];
  for (const exported of [...checker.getExportsOfModule(moduleSymbol)].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  )) {
    const s = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const kind = kindOf(s);
    const decl = s.valueDeclaration ?? s.declarations?.[0] ?? source;
    const origin = path.relative(REPO, decl.getSourceFile().fileName).replace(/^node_modules\//, '');
    const lines = [`${kind} ${exported.name}  (${origin})`];
    if (kind === 'interface' || kind === 'type') {
      const type = checker.getDeclaredTypeOfSymbol(s);
      if (kind === 'type')
        lines.push(`  = ${checker.typeToString(type, undefined, FORMAT | ts.TypeFormatFlags.InTypeAlias)}`);
      else lines.push(...members(checker, type, decl, '  '));
    } else if (kind === 'class') {
      const instance = checker.getDeclaredTypeOfSymbol(s);
      const ctorType = checker.getTypeOfSymbolAtLocation(s, decl);
      for (const sig of ctorType.getConstructSignatures())
        lines.push(
          `  constructor(${sig
            .getParameters()
            .map(
              (p) =>
                `${p.name}: ${checker.typeToString(checker.getTypeOfSymbolAtLocation(p, decl), undefined, FORMAT)}`,
            )
            .join(', ')})`,
        );
      lines.push(...members(checker, ctorType, decl, '  ', true), ...members(checker, instance, decl, '  '));
    } else if (kind !== 'namespace' && kind !== 'other') {
      lines.push(`  : ${checker.typeToString(checker.getTypeOfSymbolAtLocation(s, decl), undefined, FORMAT)}`);
    }
    blocks.push(lines.join('\n'));
  }
  return blocks.join('\n') + '\n';
}
