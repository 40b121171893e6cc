import { AccessRule, READ, WRITE } from './access-rule';

/**
 * Namespace access presets, least privilege (BSI APP.4.4.A3, A7, A10):
 * - viewer: reads workloads, services, config and events; never Secrets;
 * - developer: viewer + changes workloads, services, ConfigMaps, claims, autoscalers, budgets; no
 *   Secrets, no exec, no NetworkPolicies, no RBAC, no quotas;
 * - deployer (automation): what developer may change, plus creating and deleting Secrets and
 *   writing ServiceAccounts. It cannot read Secrets: no get/list/watch, and no patch/update
 *   either, because the API server answers a patch or update (server-side apply included) with
 *   the whole stored Secret, so `PATCH {}` would read any Secret whose name is known. A pipeline
 *   creates Secrets (POST) and rotates them by creating a new one (e.g. a versioned name the
 *   workload is pointed at) or by delete and create. It is the pipeline identity of an app chart:
 *   it can apply everything HardenedWorkload renders (Deployments, StatefulSets, Services,
 *   HorizontalPodAutoscalers, PodDisruptionBudgets, ServiceAccounts; claims of volumeClaimTemplates
 *   are created by the StatefulSet controller), never the platform chart's namespace-level objects
 *   (namespaces, quotas, limit ranges, NetworkPolicies, RBAC). It mints no tokens
 *   (`serviceaccounts/token`): applying needs none, and an identity that can renew its own
 *   short-lived token keeps a stolen one alive. Its tokens come from the TokenRequest API, requested
 *   by the platform or by the named issuers of AutomationIdentityProps.tokenIssuers (create on
 *   `serviceaccounts/token` for that one account only);
 * - namespace-admin: developer + creating and deleting Secrets, exec/attach/port-forward,
 *   ServiceAccounts, Roles and RoleBindings in the namespace (without escalate/bind: the API
 *   server's escalation check keeps them from granting more than they hold). NetworkPolicies,
 *   quotas and limit ranges stay read-only: they belong to the platform (see PlatformAccess).
 *   By default it does NOT read Secrets (no get/list/watch, and no patch/update, which answer
 *   with the whole stored Secret), for the same reasons as deployer: a human admin credential
 *   that can list Secrets hands out every credential of the namespace at once, and the catalogue
 *   reports exactly that (HCB-RBAC-SECRETS-READ, high). The preset therefore audits clean.
 *   `readSecrets: true` (NamespaceAccessProps, TenantAccess.namespaceAdminsReadSecrets) opts in
 *   to full Secret access; the Role then fails HCB-RBAC-SECRETS-READ by design, and the
 *   application records a reviewed exception for that Role (scope kind Role, namespace, name
 *   `hcb-namespace-admin`) — the library ships none, since whether a person needs it is the
 *   application's decision.
 * Note: whoever may create pods can mount the namespace's Secrets into them; developer and
 * deployer therefore reach Secrets indirectly. Keep Secrets of other applications in other
 * namespaces (BSI APP.4.4.A1).
 */
export type AccessPreset = 'viewer' | 'developer' | 'deployer' | 'namespace-admin';

export const ACCESS_PRESETS: readonly AccessPreset[] = ['viewer', 'developer', 'deployer', 'namespace-admin'];

const r = (apiGroup: string, resources: string[], verbs: readonly string[]): AccessRule => ({
  apiGroup,
  resources,
  verbs: [...verbs],
});

const VIEW: AccessRule[] = [
  r(
    '',
    [
      'configmaps',
      'endpoints',
      'events',
      'limitranges',
      'persistentvolumeclaims',
      'pods',
      'pods/log',
      'resourcequotas',
      'serviceaccounts',
      'services',
    ],
    READ,
  ),
  r('apps', ['daemonsets', 'deployments', 'replicasets', 'statefulsets'], READ),
  r('autoscaling', ['horizontalpodautoscalers'], READ),
  r('batch', ['cronjobs', 'jobs'], READ),
  r('discovery.k8s.io', ['endpointslices'], READ),
  r('networking.k8s.io', ['ingresses', 'networkpolicies'], READ),
  r('policy', ['poddisruptionbudgets'], READ),
];

const CHANGE_WORKLOADS: AccessRule[] = [
  r('', ['configmaps', 'persistentvolumeclaims', 'services'], WRITE),
  r('', ['pods'], ['delete']),
  r('apps', ['deployments', 'statefulsets'], WRITE),
  r('apps', ['deployments/scale', 'statefulsets/scale'], ['get', 'patch', 'update']),
  r('autoscaling', ['horizontalpodautoscalers'], WRITE),
  r('batch', ['cronjobs', 'jobs'], WRITE),
  r('networking.k8s.io', ['ingresses'], WRITE),
  r('policy', ['poddisruptionbudgets'], WRITE),
];

/** Options of a preset. */
export interface AccessPresetOptions {
  /**
   * namespace-admin only: also get, list, watch, patch and update Secrets.
   * @default false
   */
  readonly readSecrets?: boolean;
}

/** The rules of a preset, in a fixed order. */
export function accessPresetRules(preset: AccessPreset, options: AccessPresetOptions = {}): AccessRule[] {
  switch (preset) {
    case 'viewer':
      return [...VIEW];
    case 'developer':
      return [...VIEW, ...CHANGE_WORKLOADS];
    case 'deployer':
      return [
        ...VIEW,
        ...CHANGE_WORKLOADS,
        r('', ['secrets'], ['create', 'delete']),
        r('', ['serviceaccounts'], WRITE),
      ];
    case 'namespace-admin':
      return [
        ...VIEW,
        ...CHANGE_WORKLOADS,
        r('', ['secrets'], options.readSecrets === true ? [...READ, ...WRITE] : ['create', 'delete']),
        r('', ['serviceaccounts'], WRITE),
        r('', ['pods/attach', 'pods/exec', 'pods/portforward'], ['create']),
        r('rbac.authorization.k8s.io', ['rolebindings', 'roles'], [...READ, ...WRITE]),
      ];
  }
}
