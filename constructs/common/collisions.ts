import { Construct, IConstruct } from 'constructs';
import { BlueprintPropError } from './errors';

/**
 * What the constructs of one app (one construct tree) have claimed, so that two constructs that
 * would render the same object, or a workload that does not fit its namespace, fail when the
 * second one is built instead of one silently overwriting the other when the manifests are
 * applied. Everything is kept per tree root: separate apps (e.g. a platform app and an
 * application app) never see each other.
 */
interface Claim {
  readonly path: string;
  /** What rendered it, for the message, e.g. 'the default deny of HardenedNamespace'. */
  readonly what: string;
}

/** A namespace's LimitRange figures as a workload sees them (max and min per container). */
export interface NamespaceContainerBounds {
  readonly path: string;
  readonly namespace: string;
  readonly limitRangeName: string;
  readonly max: Readonly<Partial<Record<BoundedResource, string>>>;
  readonly min: Readonly<Partial<Record<BoundedResource, string>>>;
}

export type BoundedResource = 'cpu' | 'memory' | 'ephemeral-storage';

interface TreeState {
  readonly claims: Map<string, Claim>;
  /** Namespaces created by a HardenedNamespace in this tree: name → construct path. */
  readonly hardenedNamespaces: Map<string, string>;
  /** LimitRanges rendered by NamespaceLimitRange in this tree, per namespace. */
  readonly limitRanges: Map<string, NamespaceContainerBounds[]>;
}

const STATE = new WeakMap<IConstruct, TreeState>();

function stateOf(scope: Construct): TreeState {
  const root = scope.node.root;
  let s = STATE.get(root);
  if (!s) {
    s = { claims: new Map(), hardenedNamespaces: new Map(), limitRanges: new Map() };
    STATE.set(root, s);
  }
  return s;
}

/**
 * Claims the object `kind` `namespace`/`name` for `scope`. Throws a BlueprintPropError naming
 * `prop` when another construct of the same app already renders it. `fix` gets the other
 * construct's claim, so the message can tell which of the two to rename.
 */
export function claimObjectName(
  scope: Construct,
  prop: string,
  key: { kind: string; namespace?: string; name: string },
  what: string,
  fix: (other: { path: string; what: string }) => string,
): void {
  const claims = stateOf(scope).claims;
  const id = `${key.kind}\u0000${key.namespace ?? ''}\u0000${key.name}`;
  const other = claims.get(id);
  if (other) {
    const where = key.namespace !== undefined ? `"${key.namespace}/${key.name}"` : `"${key.name}"`;
    throw new BlueprintPropError(
      scope,
      prop,
      key.name,
      `${key.kind} ${where} is already rendered by ${other.what} at ${other.path}; one would overwrite the other when applied`,
      fix(other),
    );
  }
  claims.set(id, { path: scope.node.path, what });
}

/** Records that a HardenedNamespace of this tree creates `namespace`. */
export function registerHardenedNamespace(scope: Construct, namespace: string): void {
  stateOf(scope).hardenedNamespaces.set(namespace, scope.node.path);
}

/** The namespaces HardenedNamespaces of this tree create (name → construct path). */
export function hardenedNamespacesOf(scope: Construct): ReadonlyMap<string, string> {
  return stateOf(scope).hardenedNamespaces;
}

/** Records a LimitRange of this tree. */
export function registerLimitRange(scope: Construct, bounds: NamespaceContainerBounds): void {
  const map = stateOf(scope).limitRanges;
  map.set(bounds.namespace, [...(map.get(bounds.namespace) ?? []), bounds]);
}

/** The LimitRanges of this tree in `namespace` (the API server applies every one of them). */
export function limitRangesOf(scope: Construct, namespace: string): readonly NamespaceContainerBounds[] {
  return stateOf(scope).limitRanges.get(namespace) ?? [];
}
