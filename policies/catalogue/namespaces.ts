/**
 * Tenant namespaces: Pod Security labels, default-deny network policies, quotas, limit ranges and
 * the default service account. Evaluated per Namespace object in the input, against the objects
 * of that namespace that are also in the input.
 */
import { CheckContext, CheckResult, ControlRecord } from '../control';
import { notEvaluated, result } from '../checks/helpers';
import { Document } from '../model';
import { kindInNamespace } from '../context';
import { allowAllOpenings, Direction, policyTypes, selectsEveryPod } from '../checks/network-policy';
import { asArray, asBool, asDict, asDicts, Dict } from '../util/values';

const SYSTEM = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

function tenantNamespaces(ctx: CheckContext): Document[] {
  return ctx.namespaces.filter((d) => !SYSTEM.has(d.object.metadata?.name ?? ''));
}

function perNamespace(decide: (ns: string, doc: Document, ctx: CheckContext) => Omit<CheckResult, 'object'>) {
  return (ctx: CheckContext): CheckResult[] => {
    const nss = tenantNamespaces(ctx);
    if (nss.length === 0) return [notEvaluated('no Namespace objects (other than default and kube-*) in the input.')];
    return nss.map((d) => {
      const r = decide(d.object.metadata?.name ?? '', d, ctx);
      return result(r.status, r.message, ctx.ref(d));
    });
  };
}

function inNamespace(ctx: CheckContext, kind: string, ns: string): readonly Document[] {
  return kindInNamespace(ctx, kind, ns);
}

function defaultDeny(direction: Direction) {
  const rulesKey = direction === 'Ingress' ? 'ingress' : 'egress';
  const lower = direction.toLowerCase();
  return perNamespace((ns, _d, ctx) => {
    const policies = inNamespace(ctx, 'NetworkPolicy', ns).filter(
      (p) => p.object.apiVersion === 'networking.k8s.io/v1',
    );
    const specs = policies.map((p) => ({
      name: p.object.metadata?.name ?? '?',
      spec: asDict((p.object as Dict).spec),
    }));
    const deny = specs.find(
      (p) =>
        selectsEveryPod(p.spec) && policyTypes(p.spec).includes(direction) && asArray(p.spec[rulesKey]).length === 0,
    );
    if (!deny) {
      return {
        status: 'fail',
        message: `No NetworkPolicy in the input selects every pod of ${ns} for ${direction} without allowing anything: ${lower} traffic is open by default.`,
      };
    }
    // Rules of every policy that selects a pod add up: one that lets every pod talk to everything undoes the deny.
    const openings = allowAllOpenings(specs, direction);
    if (openings.length > 0) {
      const names = [...new Set(openings.flatMap((o) => o.policies))];
      return {
        status: 'fail',
        message: `NetworkPolicy ${names.join(', ')} allows all ${lower} traffic for every pod, undoing the default deny ${deny.name}: ${openings.map((o) => `${o.policies.join(' + ')}: ${o.what}`).join('; ')}.`,
      };
    }
    return {
      status: 'pass',
      message: `NetworkPolicy ${deny.name} denies ${lower} traffic by default; no policy for every pod opens it to everything.`,
    };
  });
}

const PSA_ENFORCE = 'pod-security.kubernetes.io/enforce';
const PSA_VERSION = 'pod-security.kubernetes.io/enforce-version';

/**
 * Namespaces that hold no user objects (V-242383): default, and the API server's kube-public and
 * kube-node-lease — the three the STIG's check text looks at. kube-system is the provider's; user
 * pods there fail V-242417 (HCB-WORKLOAD-USER-NAMESPACE).
 */
const NO_USER_OBJECT_NAMESPACES = new Set(['default', 'kube-public', 'kube-node-lease']);

function nonSystemNamespacedKinds(d: Document): boolean {
  return NO_USER_OBJECT_NAMESPACES.has(d.object.metadata?.namespace ?? '');
}

/** Objects the API server and kubeadm create in those namespaces; they are not user objects. */
function builtIn(d: Document): boolean {
  const k = d.object.kind;
  const n = d.object.metadata?.name;
  const ns = d.object.metadata?.namespace;
  if (ns === 'kube-node-lease')
    return (
      k === 'Lease' || (k === 'ServiceAccount' && n === 'default') || (k === 'ConfigMap' && n === 'kube-root-ca.crt')
    );
  if (ns === 'kube-public') {
    return (
      (k === 'ConfigMap' && (n === 'cluster-info' || n === 'kube-root-ca.crt')) ||
      (k === 'ServiceAccount' && n === 'default') ||
      ((k === 'Role' || k === 'RoleBinding') &&
        (n === 'system:controller:bootstrap-signer' || n === 'kubeadm:bootstrap-signer-clusterinfo'))
    );
  }
  return (
    (k === 'Service' && n === 'kubernetes') ||
    (k === 'Endpoints' && n === 'kubernetes') ||
    (k === 'EndpointSlice' && n === 'kubernetes') ||
    (k === 'ServiceAccount' && n === 'default') ||
    (k === 'ConfigMap' && n === 'kube-root-ca.crt')
  );
}

export const NAMESPACE_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-NAMESPACE-POD-SECURITY-LABELS',
    title: 'Namespaces enforce the baseline or restricted Pod Security level at a pinned version',
    rationale:
      'Pod Security labels make the API server reject pods that break the level; pinning the version keeps an upgrade from changing what is allowed without review.',
    severity: 'high',
    frameworks: { stig: ['V-242437'], cis: ['5.2.1'], ccn: ['CCN-CL-16'], bsi: ['APP.4.4.A4'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: [
      {
        construct: 'HardenedNamespace',
        prop: 'podSecurityVersion',
        text: "the construct enforces 'restricted'; this pins its version to the cluster's minor.",
      },
      { construct: 'HardenedNamespace', prop: 'podSecurityException', text: 'the only way to baseline.' },
    ],
    check: perNamespace((ns, d) => {
      const labels = d.object.metadata?.labels ?? {};
      const level = labels[PSA_ENFORCE];
      const version = labels[PSA_VERSION];
      if (level !== 'baseline' && level !== 'restricted') {
        return {
          status: 'fail',
          message: `${PSA_ENFORCE} is ${level === undefined ? 'not set' : JSON.stringify(level)}; it must be baseline or restricted.`,
        };
      }
      if (version === undefined || !/^v1\.\d+$/.test(version)) {
        return {
          status: 'fail',
          message: `Enforces ${level} but ${PSA_VERSION} is ${version === undefined ? 'not set' : JSON.stringify(version)}; pin it to a version such as v1.33 (latest follows upgrades unreviewed).`,
        };
      }
      return { status: 'pass', message: `Enforces ${level} at ${version}.` };
    }),
  },
  {
    id: 'HCB-NAMESPACE-DEFAULT-DENY-INGRESS',
    title: 'Namespaces deny incoming traffic unless a policy allows it',
    rationale:
      'Pods accept traffic from anywhere until a NetworkPolicy selects them; a default deny turns the model around so that only declared flows work.',
    severity: 'high',
    frameworks: { cis: ['5.3.2'], bsi: ['APP.4.4.A7', 'APP.4.4.A18'], ccn: ['CCN-CL-11'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedNamespace',
      text: 'HardenedNamespace renders DefaultDenyNetworkPolicy (ingress and egress); add NetworkAllowPolicy for the flows the application needs.',
    },
    check: defaultDeny('Ingress'),
  },
  {
    id: 'HCB-NAMESPACE-DEFAULT-DENY-EGRESS',
    title: 'Namespaces deny outgoing traffic unless a policy allows it',
    rationale:
      'Open egress lets a compromised pod reach the control plane, node ports, cloud metadata and the internet; default deny plus explicit allows (DNS first) closes that.',
    severity: 'medium',
    frameworks: { cis: ['5.3.2'], bsi: ['APP.4.4.A7'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedNamespace',
      text: 'HardenedNamespace renders DefaultDenyNetworkPolicy (ingress and egress) and DnsEgressNetworkPolicy.',
    },
    check: defaultDeny('Egress'),
  },
  {
    id: 'HCB-NAMESPACE-RESOURCE-QUOTA',
    title: 'Namespaces have a resource quota',
    rationale:
      'A quota caps what one tenant can take from the cluster, so a runaway or hostile workload cannot starve the others.',
    severity: 'medium',
    frameworks: { ccn: ['CCN-CL-22'], bsi: ['APP.4.4.A1'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: { construct: 'HardenedNamespace', prop: 'quota', text: 'set it (a NamespaceResourceQuota).' },
    check: perNamespace((ns, _d, ctx) => {
      const q = inNamespace(ctx, 'ResourceQuota', ns).filter(
        (d) => Object.keys(asDict(asDict((d.object as Dict).spec).hard)).length > 0,
      );
      return q.length > 0
        ? {
            status: 'pass',
            message: `ResourceQuota ${q.map((d) => d.object.metadata?.name).join(', ')} limits the namespace.`,
          }
        : { status: 'fail', message: `No ResourceQuota with hard limits for ${ns} in the input.` };
    }),
  },
  {
    id: 'HCB-NAMESPACE-LIMIT-RANGE',
    title: 'Namespaces have a LimitRange with container defaults',
    rationale:
      'A LimitRange gives containers that declare no resources sensible requests and limits, so the quota and the scheduler can account for them.',
    severity: 'low',
    frameworks: { ccn: ['CCN-CL-22'], bsi: ['APP.4.4.A1'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedNamespace',
      prop: 'containerLimits',
      text: 'renders a NamespaceLimitRange, sized by the prop size.',
    },
    check: perNamespace((ns, _d, ctx) => {
      const lr = inNamespace(ctx, 'LimitRange', ns).filter((d) =>
        asDicts(asDict((d.object as Dict).spec).limits).some(
          (l) => l.type === 'Container' && Object.keys(asDict(l.default)).length > 0,
        ),
      );
      return lr.length > 0
        ? {
            status: 'pass',
            message: `LimitRange ${lr.map((d) => d.object.metadata?.name).join(', ')} sets container defaults.`,
          }
        : { status: 'fail', message: `No LimitRange with container defaults for ${ns} in the input.` };
    }),
  },
  {
    id: 'HCB-NAMESPACE-DEFAULT-SA-LOCKED',
    title: "The namespace's default service account mounts no token",
    rationale:
      'Pods that name no service account get the default one; if it does not mount a token, such pods carry no API credential.',
    severity: 'medium',
    frameworks: { cis: ['5.1.5'], bsi: ['APP.4.4.A9'], ccn: ['CCN-CL-17'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedNamespace',
      text: 'HardenedNamespace renders DefaultServiceAccountLockdown (automountServiceAccountToken: false on "default"); the Blueprint locks the system namespaces with SystemServiceAccountLockdown (lockSystemServiceAccounts, default true).',
    },
    check: (ctx) => {
      // The namespaces of the input that the user creates must bring a locked default account (it
      // is created with automounting on otherwise); the system namespaces' default accounts are
      // judged where they are in the input (the blueprint's SystemServiceAccountLockdown, or
      // objects read from a running cluster) — absent there, they are not a finding of the input.
      const tenants = perNamespace((ns, _d, c) => {
        const sa = inNamespace(c, 'ServiceAccount', ns).find((d) => d.object.metadata?.name === 'default');
        if (!sa)
          return {
            status: 'fail',
            message: `The default ServiceAccount of ${ns} is not in the input, so it is created with token automounting on.`,
          };
        return asBool((sa.object as Dict).automountServiceAccountToken) === false
          ? { status: 'pass', message: 'The default ServiceAccount sets automountServiceAccountToken: false.' }
          : { status: 'fail', message: 'The default ServiceAccount does not set automountServiceAccountToken: false.' };
      })(ctx);
      const system = ctx
        .byKind('ServiceAccount')
        .filter((d) => d.object.metadata?.name === 'default' && SYSTEM.has(d.object.metadata?.namespace ?? ''));
      const systemResults = system.map((d) =>
        asBool((d.object as Dict).automountServiceAccountToken) === false
          ? result(
              'pass',
              `The default ServiceAccount of ${d.object.metadata?.namespace} sets automountServiceAccountToken: false.`,
              ctx.ref(d),
            )
          : result(
              'fail',
              `The default ServiceAccount of ${d.object.metadata?.namespace} does not set automountServiceAccountToken: false (pods there without a service account of their own get a token).`,
              ctx.ref(d),
            ),
      );
      if (systemResults.length === 0) return tenants;
      return [...tenants.filter((r) => r.status !== 'not-evaluated'), ...systemResults];
    },
  },
  {
    id: 'HCB-NAMESPACE-NO-DEFAULT-OBJECTS',
    title: 'Nothing is created in the default, kube-public or kube-node-lease namespace',
    rationale:
      'The default namespace has no tenant boundaries (quota, network policy, Pod Security labels); objects there escape all of them.',
    severity: 'medium',
    frameworks: { stig: ['V-242383'], cis: ['5.7.4'], bsi: ['APP.4.4.A1'], ccn: ['CCN-CL-11'] },
    admission: {
      target: 'workloads',
      expression: "request.namespace != 'default'",
      detail: 'pods and workload controllers may not be created in the default namespace',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedNamespace',
      text: 'Create the object in a HardenedNamespace; never set namespace: default.',
    },
    check: (ctx) => {
      const namespaced = ctx.documents.filter((d) => d.object.metadata?.namespace !== undefined);
      if (namespaced.length === 0) return [notEvaluated('no namespaced objects in the input.')];
      const bad = namespaced.filter(nonSystemNamespacedKinds).filter((d) => !builtIn(d));
      const out = bad.map((d) =>
        result(
          'fail',
          `${d.object.kind ?? 'Object'} ${d.object.metadata?.name ?? '?'} is in the ${d.object.metadata?.namespace} namespace.`,
          ctx.ref(d),
        ),
      );
      const ok = namespaced.length - bad.length;
      if (ok > 0)
        out.push(
          result(
            'pass',
            `${ok} namespaced object(s) outside default, kube-public and kube-node-lease${bad.length > 0 ? '' : ', none in them'}.`,
          ),
        );
      return out;
    },
  },
];
