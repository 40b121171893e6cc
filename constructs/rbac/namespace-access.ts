import { Construct } from 'constructs';
import { KubeRole, KubeRoleBinding } from 'cdk8s-plus-28/lib/imports/k8s';
import { claimObjectName } from '../common/collisions';
import { BlueprintPropError } from '../common/errors';
import { requireDnsSubdomain, requireUserNamespace } from '../tenant/names';
import { stampProvenance } from '../tenant/provenance';
import { ACCESS_PRESETS, AccessPreset, accessPresetRules } from './access-presets';
import { renderPresetRules } from './render-rules';
import { renderSubjects, Subject } from './subject';

export interface NamespaceAccessProps {
  /** Namespace the access applies to (only that namespace: Role and RoleBinding, never cluster-wide). */
  readonly namespace: string;
  /** The preset to grant. */
  readonly preset: AccessPreset;
  /** Who gets it. At least one; groups meaning "everybody" are refused. */
  readonly subjects: Subject[];
  /**
   * Name of the Role and the RoleBinding.
   * @default 'hcb-<preset>'
   */
  readonly name?: string;
  /**
   * namespace-admin only: also read Secrets through the API (get, list, watch, and patch/update,
   * whose responses carry the stored Secret). Off by default, so the preset audits clean. When on,
   * the Role fails HCB-RBAC-SECRETS-READ (high) by design: record a reviewed exception for it
   * (`{ control: 'HCB-RBAC-SECRETS-READ', scope: { kind: 'Role', namespace, name } }`), or keep
   * the access to a break-glass identity. Refused for the other presets.
   * @default false
   */
  readonly readSecrets?: boolean;
}

/**
 * Grants one access preset in one namespace: a Role with the preset's rules and a RoleBinding to
 * the subjects (BSI APP.4.4.A3). The rules never contain wildcards or escalate/bind/impersonate.
 */
export class NamespaceAccess extends Construct {
  public readonly roleName: string;
  public readonly roleBindingName: string;
  public readonly preset: AccessPreset;

  constructor(scope: Construct, id: string, props: NamespaceAccessProps) {
    super(scope, id);
    const namespace = requireUserNamespace(this, 'namespace', props.namespace);
    if (!ACCESS_PRESETS.includes(props.preset)) {
      throw new BlueprintPropError(
        this,
        'preset',
        props.preset,
        'is not an access preset',
        `use one of ${ACCESS_PRESETS.join(', ')}`,
      );
    }
    this.preset = props.preset;
    if (props.readSecrets !== undefined && typeof props.readSecrets !== 'boolean') {
      throw new BlueprintPropError(
        this,
        'readSecrets',
        props.readSecrets,
        'must be true or false',
        'pass readSecrets: true only where a person must read Secrets through the API',
      );
    }
    if (props.readSecrets === true && props.preset !== 'namespace-admin') {
      throw new BlueprintPropError(
        this,
        'readSecrets',
        true,
        `only the namespace-admin preset can read Secrets, not ${props.preset}`,
        'remove readSecrets; mount the Secret a workload needs as a volume (HardenedWorkloadProps.containers[].secretMounts)',
      );
    }
    const name = requireDnsSubdomain(this, 'name', props.name ?? `hcb-${props.preset}`);
    const subjects = renderSubjects(this, 'subjects', props.subjects);
    for (const kind of ['Role', 'RoleBinding']) {
      claimObjectName(
        this,
        'name',
        { kind, namespace, name },
        `the ${kind} of a NamespaceAccess (${props.preset})`,
        (other) =>
          `give one of the two another name (props.name), or add the subjects to the existing one (${other.path}); a Tenant binds each preset once per namespace as "hcb-<preset>"`,
      );
    }
    this.roleName = name;
    this.roleBindingName = name;
    stampProvenance(
      new KubeRole(this, 'Role', {
        metadata: { name, namespace, labels: { 'hcb.dev/access-preset': props.preset } },
        rules: renderPresetRules(accessPresetRules(props.preset, { readSecrets: props.readSecrets === true })),
      }),
    );
    stampProvenance(
      new KubeRoleBinding(this, 'Binding', {
        metadata: { name, namespace, labels: { 'hcb.dev/access-preset': props.preset } },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects,
      }),
    );
  }
}
