import { Construct } from 'constructs';
import { Subject as KubeSubject } from 'cdk8s-plus-28/lib/imports/k8s';
import { BlueprintPropError } from '../common/errors';
import { requireDnsLabel, requireDnsSubdomain } from '../tenant/names';

/** Groups and users that stand for "everybody" or for the cluster's own superusers. */
export const FORBIDDEN_GROUPS: readonly string[] = [
  'system:authenticated',
  'system:masters',
  'system:serviceaccounts',
  'system:unauthenticated',
];
export const FORBIDDEN_USERS: readonly string[] = ['system:anonymous'];

/**
 * A ServiceAccount by namespace and name. Subject.serviceAccount and NetworkPeer.serviceAccount both
 * take it, so the two factories read the same (their positional forms differ in order).
 */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

type SubjectSpec =
  | { kind: 'User' | 'Group'; name: string }
  | { kind: 'ServiceAccount'; name: string; namespace: string };

/** Who a binding grants to. Built with the static factories; validated when rendered. */
export class Subject {
  /** A user as the authenticator names it. */
  public static user(name: string): Subject {
    return new Subject({ kind: 'User', name });
  }
  /** A group as the authenticator names it. Groups meaning "everybody" are refused. */
  public static group(name: string): Subject {
    return new Subject({ kind: 'Group', name });
  }
  /** A ServiceAccount: `serviceAccount({ namespace, name })`, or positionally `serviceAccount(namespace, name)`. */
  public static serviceAccount(account: ServiceAccountRef): Subject;
  public static serviceAccount(namespace: string, name: string): Subject;
  public static serviceAccount(account: string | ServiceAccountRef, name?: string): Subject {
    if (typeof account === 'object' && account !== null)
      return new Subject({ kind: 'ServiceAccount', name: account.name, namespace: account.namespace });
    return new Subject({ kind: 'ServiceAccount', name: name as string, namespace: account });
  }

  private constructor(private readonly spec: SubjectSpec) {}

  public get kind(): string {
    return this.spec.kind;
  }
  public get name(): string {
    return this.spec.name;
  }

  /** Validates and renders the subject. */
  public render(scope: Construct, prop: string): KubeSubject {
    const s = this.spec;
    if (s.kind === 'ServiceAccount') {
      return {
        kind: 'ServiceAccount',
        name: requireDnsSubdomain(scope, `${prop}.name`, s.name),
        namespace: requireDnsLabel(scope, `${prop}.namespace`, s.namespace),
      };
    }
    if (typeof s.name !== 'string' || s.name.trim() === '' || s.name !== s.name.trim()) {
      throw new BlueprintPropError(
        scope,
        `${prop}.name`,
        s.name,
        `is not a ${s.kind.toLowerCase()} name`,
        'give the name exactly as the authenticator reports it, without surrounding spaces',
      );
    }
    const forbidden =
      s.kind === 'Group'
        ? FORBIDDEN_GROUPS.includes(s.name) || s.name.startsWith('system:serviceaccounts:')
        : FORBIDDEN_USERS.includes(s.name);
    if (forbidden) {
      throw new BlueprintPropError(
        scope,
        `${prop}.name`,
        s.name,
        `${s.kind} "${s.name}" stands for everybody or for cluster superusers (BSI APP.4.4.A3)`,
        'bind named people, teams or ServiceAccounts instead',
      );
    }
    return { kind: s.kind, name: s.name, apiGroup: 'rbac.authorization.k8s.io' };
  }
}

/** Renders a non-empty subject list. */
export function renderSubjects(scope: Construct, prop: string, subjects: Subject[] | undefined): KubeSubject[] {
  if (!Array.isArray(subjects) || subjects.length === 0) {
    throw new BlueprintPropError(
      scope,
      prop,
      subjects,
      'needs at least one subject',
      'pass e.g. [Subject.group("team-a-developers")]',
    );
  }
  return subjects.map((s, i) => {
    if (!(s instanceof Subject))
      throw new BlueprintPropError(
        scope,
        `${prop}[${i}]`,
        s,
        'is not a Subject',
        'use Subject.user/group/serviceAccount',
      );
    return s.render(scope, `${prop}[${i}]`);
  });
}
