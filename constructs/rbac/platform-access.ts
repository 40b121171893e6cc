import { Construct } from 'constructs';
import { KubeClusterRole, KubeClusterRoleBinding, KubeRoleBinding } from 'cdk8s-plus-28/lib/imports/k8s';
import { BlueprintPropError } from '../common/errors';
import { claimObjectName } from '../common/collisions';
import { requireUserNamespace } from '../tenant/names';
import { stampProvenance } from '../tenant/provenance';
import { READ, WRITE } from './access-rule';
import { renderPresetRules } from './render-rules';
import { renderSubjects, Subject } from './subject';

/**
 * Platform roles that tenants never get:
 * - storage-admin: PersistentVolumes and StorageClasses (BSI APP.4.4.A3);
 * - network-admin: NetworkPolicies (BSI APP.4.4.A7).
 */
export type PlatformRole = 'storage-admin' | 'network-admin';

export const PLATFORM_ROLES: readonly PlatformRole[] = ['network-admin', 'storage-admin'];

const RULES: Record<PlatformRole, Parameters<typeof renderPresetRules>[0]> = {
  'storage-admin': [
    { apiGroup: '', resources: ['persistentvolumes'], verbs: [...READ, ...WRITE] },
    { apiGroup: 'storage.k8s.io', resources: ['storageclasses'], verbs: [...READ, ...WRITE] },
  ],
  'network-admin': [{ apiGroup: 'networking.k8s.io', resources: ['networkpolicies'], verbs: [...READ, ...WRITE] }],
};

export interface PlatformAccessProps {
  /** Which platform role. */
  readonly role: PlatformRole;
  /** Named administrators (users, groups or automation accounts). At least one. */
  readonly subjects: Subject[];
  /**
   * Limit network-admin to these namespaces (RoleBindings). storage-admin is cluster-wide by
   * nature (PersistentVolumes are not namespaced) and refuses this prop.
   * @default - cluster-wide (one ClusterRoleBinding)
   */
  readonly namespaces?: string[];
}

/** A named platform ClusterRole and its binding to named administrators. */
export class PlatformAccess extends Construct {
  /** Name of the ClusterRole: `hcb:platform:<role>`. */
  public readonly clusterRoleName: string;

  constructor(scope: Construct, id: string, props: PlatformAccessProps) {
    super(scope, id);
    if (!PLATFORM_ROLES.includes(props.role)) {
      throw new BlueprintPropError(
        this,
        'role',
        props.role,
        'is not a platform role',
        `use one of ${PLATFORM_ROLES.join(', ')}`,
      );
    }
    const subjects = renderSubjects(this, 'subjects', props.subjects);
    const name = (this.clusterRoleName = `hcb:platform:${props.role}`);
    claimObjectName(
      this,
      'role',
      { kind: 'ClusterRole', name },
      `PlatformAccess ${props.role}`,
      (other) => `grant the role once: add these subjects to the existing PlatformAccess (${other.path})`,
    );
    stampProvenance(
      new KubeClusterRole(this, 'Role', {
        metadata: { name, labels: { 'hcb.dev/platform-role': props.role } },
        rules: renderPresetRules(RULES[props.role]),
      }),
    );
    const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name };
    if (props.namespaces === undefined) {
      stampProvenance(new KubeClusterRoleBinding(this, 'Binding', { metadata: { name }, roleRef, subjects }));
      return;
    }
    if (props.role === 'storage-admin') {
      throw new BlueprintPropError(
        this,
        'namespaces',
        props.namespaces,
        'PersistentVolumes are cluster-scoped, so storage-admin cannot be limited to namespaces',
        'drop namespaces for storage-admin',
      );
    }
    if (!Array.isArray(props.namespaces) || props.namespaces.length === 0) {
      throw new BlueprintPropError(
        this,
        'namespaces',
        props.namespaces,
        'must list at least one namespace when given',
        'list namespaces or omit the prop for cluster-wide',
      );
    }
    const seen = new Set<string>();
    props.namespaces.forEach((ns, i) => {
      const namespace = requireUserNamespace(this, `namespaces[${i}]`, ns);
      if (seen.has(namespace))
        throw new BlueprintPropError(this, `namespaces[${i}]`, ns, 'is listed twice', 'list each namespace once');
      seen.add(namespace);
      stampProvenance(
        new KubeRoleBinding(this, `Binding-${namespace}`, {
          metadata: { name: `hcb-platform-${props.role}`, namespace },
          roleRef,
          subjects,
        }),
      );
    });
  }
}
