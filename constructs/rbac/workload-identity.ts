import { Construct } from 'constructs';
import { KubeRole, KubeRoleBinding, KubeServiceAccount } from 'cdk8s-plus-28/lib/imports/k8s';
import { claimObjectName } from '../common/collisions';
import { BlueprintPropError } from '../common/errors';
import { objectNameFrom, requireUserNamespace } from '../tenant/names';
import { stampProvenance } from '../tenant/provenance';
import { AccessRule, renderLeastPrivilegeRules } from './access-rule';

export interface WorkloadIdentityProps {
  /** Namespace of the application. */
  readonly namespace: string;
  /**
   * Name of the ServiceAccount.
   * @default - the construct id, if it is a valid object name
   */
  readonly name?: string;
  /**
   * Mount the API token into pods. Only for workloads that call the Kubernetes API.
   * @default false
   */
  readonly automountToken?: boolean;
  /**
   * API rights of the application, checked for least privilege (no wildcards, no
   * escalate/bind/impersonate, Secrets only by name, no RBAC changes). Needs `automountToken`
   * (or a projected token volume) to be of any use.
   * @default - no rights: no Role, no RoleBinding
   */
  readonly rules?: AccessRule[];
}

/**
 * The application's own ServiceAccount (BSI APP.4.4.A9): token automount off unless the workload
 * asks for it, and rights only through an explicit, least-privilege Role in its namespace.
 */
export class WorkloadIdentity extends Construct {
  public readonly serviceAccountName: string;
  public readonly namespace: string;
  public readonly automountToken: boolean;
  /** Name of the Role/RoleBinding, when rules were given. */
  public readonly roleName?: string;

  constructor(scope: Construct, id: string, props: WorkloadIdentityProps) {
    super(scope, id);
    this.namespace = requireUserNamespace(this, 'namespace', props.namespace);
    const name = (this.serviceAccountName = objectNameFrom(this, id, props.name, 'payments-api'));
    if (name === 'default') {
      throw new BlueprintPropError(
        this,
        'name',
        name,
        'pods must not use the "default" ServiceAccount (BSI APP.4.4.A9)',
        'name the account after the application',
      );
    }
    claimObjectName(
      this,
      'name',
      { kind: 'ServiceAccount', namespace: this.namespace, name },
      'a WorkloadIdentity',
      (other) =>
        `use one identity per ServiceAccount: pass the existing one (${other.path}) as HardenedWorkload prop serviceAccount instead of letting the workload create its own, or choose another name`,
    );
    this.automountToken = props.automountToken ?? false;
    stampProvenance(
      new KubeServiceAccount(this, 'Resource', {
        metadata: { name, namespace: this.namespace },
        automountServiceAccountToken: this.automountToken,
      }),
    );
    if (props.rules === undefined) return;
    const rules = renderLeastPrivilegeRules(this, 'rules', props.rules);
    if (rules.length === 0) {
      throw new BlueprintPropError(
        this,
        'rules',
        props.rules,
        'is empty',
        'omit rules for an identity without API rights',
      );
    }
    const roleName = (this.roleName = `${name}-app`);
    for (const kind of ['Role', 'RoleBinding']) {
      claimObjectName(
        this,
        'name',
        { kind, namespace: this.namespace, name: roleName },
        `the ${kind} of a WorkloadIdentity`,
        (other) => `rename this identity or the other construct (${other.path}): both render ${kind} "${roleName}"`,
      );
    }
    stampProvenance(new KubeRole(this, 'Role', { metadata: { name: roleName, namespace: this.namespace }, rules }));
    stampProvenance(
      new KubeRoleBinding(this, 'Binding', {
        metadata: { name: roleName, namespace: this.namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
        subjects: [{ kind: 'ServiceAccount', name, namespace: this.namespace }],
      }),
    );
  }
}
