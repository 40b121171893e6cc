/**
 * kindInNamespace (policies/context.ts) answers from an index built once per context and kind; it
 * must give exactly the documents, in the same order, that a scan of ctx.byKind(kind) comparing
 * metadata.namespace with === gives, whatever the documents look like.
 */
import fc from 'fast-check';
import { buildContext, kindInNamespace } from '../../../policies/context';
import { CheckContext } from '../../../policies/control';
import { Document } from '../../../policies/model';

const KINDS = ['ServiceAccount', 'LimitRange', 'NetworkPolicy', 'ResourceQuota', 'Namespace'];
const NAMESPACES = ['a', 'b', 'default', '', 'kube-system'];

function naive(ctx: CheckContext, kind: string, ns: string | undefined): Document[] {
  return ctx.byKind(kind).filter((d) => d.object.metadata?.namespace === ns);
}

/** Same elements (by identity) in the same order. */
function sameDocuments(a: readonly Document[], b: readonly Document[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const namespaceValue = fc.oneof(
  fc.constantFrom<unknown>(...NAMESPACES, undefined, null, 0, 1, true, 'A', ' a'),
  fc.string({ maxLength: 3 }),
);
const metadata = fc.oneof(
  fc.constantFrom<unknown>(undefined, null, 'metadata', 7, []),
  fc.record({ name: fc.constantFrom('default', 'x', 'y'), namespace: namespaceValue }, { requiredKeys: ['name'] }),
);
const documentArb = fc
  .record({
    kind: fc.oneof(fc.constantFrom<unknown>(...KINDS), fc.constantFrom<unknown>(undefined, 3, 'Other')),
    apiVersion: fc.constantFrom<unknown>('v1', 'networking.k8s.io/v1', undefined),
    metadata,
  })
  .map((o) => {
    const object: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) if (v !== undefined) object[k] = v;
    return { object, source: { file: 'f.yaml', line: 1 } } as unknown as Document;
  });
const lookup = fc.tuple(
  fc.constantFrom(...KINDS, 'Other', 'Absent'),
  fc.constantFrom<string | undefined>(...NAMESPACES, undefined, 'zz', 'A', ' a'),
);

describe('kindInNamespace', () => {
  it('gives the same documents in the same order as a scan, for any documents and any order of lookups', () => {
    fc.assert(
      fc.property(
        fc.array(documentArb, { maxLength: 60 }),
        fc.array(lookup, { minLength: 1, maxLength: 30 }),
        (docs, lookups) => {
          const ctx = buildContext(docs);
          for (const [kind, ns] of lookups) {
            const indexed = kindInNamespace(ctx, kind, ns);
            const scanned = naive(ctx, kind, ns);
            if (!sameDocuments(indexed, scanned)) return false;
            // Built once: the second lookup answers from the same index.
            if (kindInNamespace(ctx, kind, ns) !== indexed) return false;
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps the input order within a namespace and answers an absent namespace or kind with nothing', () => {
    const doc = (kind: string, name: string, namespace?: string): Document =>
      ({
        object: { apiVersion: 'v1', kind, metadata: namespace === undefined ? { name } : { name, namespace } },
        source: { file: 'x.yaml', line: 1 },
      }) as Document;
    const docs = [
      doc('ServiceAccount', 's1', 'a'),
      doc('ServiceAccount', 's2', 'b'),
      doc('ServiceAccount', 's3', 'a'),
      doc('ServiceAccount', 's4'),
      doc('LimitRange', 'l1', 'a'),
    ];
    const ctx = buildContext(docs);
    expect(kindInNamespace(ctx, 'ServiceAccount', 'a').map((d) => d.object.metadata?.name)).toEqual(['s1', 's3']);
    expect(kindInNamespace(ctx, 'ServiceAccount', undefined).map((d) => d.object.metadata?.name)).toEqual(['s4']);
    expect(kindInNamespace(ctx, 'LimitRange', 'b')).toEqual([]);
    expect(kindInNamespace(ctx, 'ResourceQuota', 'a')).toEqual([]);
    // Each context has its own index.
    const other = buildContext([doc('ServiceAccount', 'o1', 'a')]);
    expect(kindInNamespace(other, 'ServiceAccount', 'a').map((d) => d.object.metadata?.name)).toEqual(['o1']);
    expect(kindInNamespace(ctx, 'ServiceAccount', 'a').map((d) => d.object.metadata?.name)).toEqual(['s1', 's3']);
  });

  it('works on any CheckContext, reading it through byKind', () => {
    const d1 = {
      object: { kind: 'LimitRange', metadata: { name: 'l', namespace: 'n' } },
      source: { file: 'y', line: 1 },
    } as Document;
    const calls: string[] = [];
    const ctx = {
      byKind: (kind: string) => {
        calls.push(kind);
        return kind === 'LimitRange' ? [d1] : [];
      },
    } as unknown as CheckContext;
    expect(kindInNamespace(ctx, 'LimitRange', 'n')).toEqual([d1]);
    expect(kindInNamespace(ctx, 'LimitRange', 'm')).toEqual([]);
    expect(calls).toEqual(['LimitRange']);
  });
});
