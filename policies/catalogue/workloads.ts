/** Workloads: pod and container security settings inside every pod template. */
import { CheckContext, CheckResult, ControlRecord, PodSubject } from '../control';
import { effectiveCel } from '../checks/admission-cel';
import { kindInNamespace } from '../context';
import { fail, notEvaluated, pass, result } from '../checks/helpers';
import { containerCheck, containersOf, effective, podCheck } from '../checks/workloads';
import { asBool, asDict, asDicts, asString, asStrings, Dict } from '../util/values';

/** Why resource limits do not apply to a control-plane static pod. */
const STATIC_POD_UNCAPPED =
  'kubeadm gives the component a CPU request and the system-node-critical priority, and no limits: a limit reached would have the kernel or the kubelet stop the API server or etcd, which stops the cluster.';

/**
 * What a container ends up with for one resource, as the API server sets it: pod defaulting
 * copies a limit into a missing request (SetDefaults_Pod), then the LimitRanger admission plugin
 * fills what is still missing from the namespace's Container LimitRanges in the input, whose own
 * defaulting gives `default` from `max` and `defaultRequest` from `default`, else from `min`
 * (SetDefaults_LimitRangeItem).
 */
function effectiveResource(
  ctx: CheckContext,
  namespace: string | undefined,
  container: Dict,
  resource: string,
): { request?: string; limit?: string; fromLimitRange: boolean } {
  const given = (v: unknown): string | undefined =>
    v === undefined || v === null || String(v) === '' ? undefined : String(v);
  const res = asDict(container.resources);
  let limit = given(asDict(res.limits)[resource]);
  let request = given(asDict(res.requests)[resource]) ?? limit;
  let fromLimitRange = false;
  if (namespace !== undefined && (limit === undefined || request === undefined)) {
    for (const d of kindInNamespace(ctx, 'LimitRange', namespace)) {
      for (const l of asDicts(asDict((d.object as Dict).spec).limits)) {
        if (l.type !== 'Container') continue;
        const dflt = given(asDict(l.default)[resource]) ?? given(asDict(l.max)[resource]);
        const dfltRequest = given(asDict(l.defaultRequest)[resource]) ?? dflt ?? given(asDict(l.min)[resource]);
        if (limit === undefined && dflt !== undefined) {
          limit = dflt;
          fromLimitRange = true;
        }
        if (request === undefined && dfltRequest !== undefined) {
          request = dfltRequest;
          fromLimitRange = true;
        }
      }
    }
  }
  return { request, limit, fromLimitRange };
}

function serviceAccountOf(p: PodSubject): string {
  return asString(p.spec.serviceAccountName) ?? asString(p.spec.serviceAccount) ?? 'default';
}

const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

/** Why a control-plane static pod has no ServiceAccount: the API server refuses mirror pods that reference one. */
const STATIC_POD_NO_SERVICE_ACCOUNT =
  'the API server refuses a mirror pod that references a ServiceAccount or its token, so a static pod has neither.';

/**
 * Host paths no control-plane component needs: the node's root, kernel interfaces, devices, the
 * container runtime's and the kubelet's state. A static pod mounting one of these fails
 * HCB-WORKLOAD-HOST-PATH; its other hostPath volumes (certificates, kubeconfigs, configuration,
 * etcd data, as kubeadm mounts them, paths configurable) are what a static pod is made of.
 */
const HOST_PATHS_NO_COMPONENT_NEEDS = [
  '/',
  '/proc',
  '/sys',
  '/dev',
  '/run',
  '/var/run',
  '/var/lib/kubelet',
  '/var/lib/containerd',
  '/var/lib/docker',
  '/var/lib/cri-o',
  '/root',
  '/home',
  '/boot',
];

function normalisedPath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join('/')}`;
}

function pathNoComponentNeeds(p: string): boolean {
  const n = normalisedPath(p);
  // The node's root and the runtime/kubelet trees, or anything below them except '/'.
  return HOST_PATHS_NO_COMPONENT_NEEDS.some((d) => (d === '/' ? n === '/' : n === d || n.startsWith(`${d}/`)));
}

/** OCI digests the registries use: sha256 (64 hex) or sha512 (128 hex), lower-case. */
const IMAGE_DIGEST = /@(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

function imageDigestProblem(image: string | undefined): string | undefined {
  if (image === undefined || image.trim() === '') return 'no image';
  if (IMAGE_DIGEST.test(image)) return undefined;
  const at = image.lastIndexOf('@');
  if (at >= 0)
    return `image ${image} has a malformed digest (${image.slice(at + 1)}; want sha256: and 64, or sha512: and 128, lower-case hex digits)`;
  const name = image.slice(image.lastIndexOf('/') + 1);
  const tag = name.includes(':') ? name.slice(name.indexOf(':') + 1) : undefined;
  if (tag === undefined) return `image ${image} has neither tag nor digest (it means :latest)`;
  return `image ${image} is pinned by tag only${tag === 'latest' ? ' (:latest)' : ''}`;
}

function imageRepository(image: string): { repo: string; version: string } {
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const repo = colon > slash ? name.slice(0, colon) : name;
  // The runtime pulls by digest when there is one; a tag beside it is ignored.
  if (at >= 0) return { repo, version: image.slice(at + 1) };
  return { repo, version: colon > slash ? name.slice(colon + 1) : 'latest' };
}

/** Labels the Dashboard's own manifests and Helm chart put on its objects and pods. */
function dashboardLabel(labels: Dict): string | undefined {
  if (labels['k8s-app'] === 'kubernetes-dashboard') return 'k8s-app=kubernetes-dashboard';
  if (labels['app.kubernetes.io/part-of'] === 'kubernetes-dashboard')
    return 'app.kubernetes.io/part-of=kubernetes-dashboard';
  const name = asString(labels['app.kubernetes.io/name']);
  if (name !== undefined && /^kubernetes-dashboard(-|$)/.test(name)) return `app.kubernetes.io/name=${name}`;
  return undefined;
}

function dashboardCheck(ctx: CheckContext): CheckResult[] {
  const pods = ctx.pods;
  if (pods.length === 0) return [notEvaluated('no workloads in the input.')];
  const out: CheckResult[] = [];
  for (const p of pods) {
    const images = containersOf(p.spec).map((c) => asString(c.container.image) ?? '');
    const hit = images.find((i) => /(^|\/)kubernetesui\/dashboard|(^|\/)kubernetes-dashboard(:|@|$)/.test(i));
    // Found by its labels too, whatever image, name or namespace it has.
    const labelled =
      dashboardLabel(asDict(asDict(p.object.metadata).labels)) ?? dashboardLabel(asDict(p.podMetadata.labels));
    if (hit || labelled || p.name === 'kubernetes-dashboard') {
      out.push(
        result(
          'fail',
          `The Kubernetes Dashboard is deployed${hit ? ` (image ${hit})` : labelled ? ` (label ${labelled})` : ''}.`,
          p.ref,
        ),
      );
    }
  }
  if (out.length === 0)
    out.push(result('pass', `None of the ${pods.length} workload(s) in the input is the Kubernetes Dashboard.`));
  return out;
}

function singleVersionCheck(ctx: CheckContext): CheckResult[] {
  const pods = ctx.pods;
  if (pods.length === 0) return [notEvaluated('no workloads in the input.')];
  const versions = new Map<string, Map<string, string[]>>();
  for (const p of pods) {
    for (const c of containersOf(p.spec)) {
      const image = asString(c.container.image);
      if (!image) continue;
      const { repo, version } = imageRepository(image);
      const byVersion = versions.get(repo) ?? new Map<string, string[]>();
      const users = byVersion.get(version) ?? [];
      users.push(`${p.kind} ${p.namespace ?? '(no namespace)'}/${p.name ?? '?'}`);
      byVersion.set(version, users);
      versions.set(repo, byVersion);
    }
  }
  const out: CheckResult[] = [];
  for (const repo of [...versions.keys()].sort()) {
    const byVersion = versions.get(repo)!;
    if (byVersion.size > 1) {
      const detail = [...byVersion.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([v, users]) => `${v} (${users.join(', ')})`)
        .join('; ');
      out.push(
        result('fail', `Image ${repo} runs in ${byVersion.size} versions: ${detail}. Remove the superseded ones.`, {
          name: repo,
        }),
      );
    }
  }
  if (out.length === 0)
    out.push(result('pass', `Each of the ${versions.size} image repositories in the input runs in one version only.`));
  return out;
}

export const WORKLOAD_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-WORKLOAD-PRIVILEGED',
    title: 'No privileged containers',
    rationale: 'A privileged container has every capability and device of the host: escaping it is trivial.',
    severity: 'critical',
    frameworks: { cis: ['5.2.2'], bsi: ['APP.4.4.A4'], ccn: ['CCN-CL-16'] },
    admission: {
      target: 'workloads',
      expression:
        'variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || c.securityContext.privileged != true)',
      detail: 'no container may set securityContext.privileged: true',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedWorkload',
      text: 'HardenedWorkload renders securityContext.privileged: false; remove any override of it.',
    },
    check: containerCheck(
      (c) => (asBool(asDict(c.container.securityContext).privileged) === true ? 'privileged: true' : undefined),
      'No container is privileged.',
    ),
  },
  {
    id: 'HCB-WORKLOAD-HOST-NAMESPACES',
    title: 'Pods do not share the host network, PID or IPC namespace',
    rationale:
      'Sharing host namespaces removes the separation of processes, inter-process communication and network between pod and node.',
    severity: 'high',
    frameworks: { cis: ['5.2.3', '5.2.4', '5.2.5'], bsi: ['APP.4.4.A4'], ccn: ['CCN-CL-16'] },
    admission: {
      target: 'workloads',
      expression: ['hostNetwork', 'hostPID', 'hostIPC']
        .map((k) => `(!has(variables.podSpec.${k}) || variables.podSpec.${k} != true)`)
        .join(' && '),
      detail: 'the pod may not set hostNetwork, hostPID or hostIPC',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedWorkload',
      text: 'HardenedWorkload never sets hostNetwork, hostPID or hostIPC; remove them from the pod spec.',
    },
    check: podCheck((p) => {
      // A control-plane static pod serves on the node's addresses: the host network is what it is
      // for. It has no need for the host's PID or IPC namespace.
      const keys = p.controlPlane ? ['hostPID', 'hostIPC'] : ['hostNetwork', 'hostPID', 'hostIPC'];
      const on = keys.filter((k) => asBool(p.spec[k]) === true);
      if (on.length > 0) return fail(`${on.join(', ')} set to true.`);
      return p.controlPlane
        ? {
            status: 'not-applicable',
            message:
              'Control-plane static pod: it serves on the node network (hostNetwork) by design; it shares no host PID or IPC namespace.',
          }
        : pass('No host namespace is shared.');
    }),
  },
  {
    id: 'HCB-WORKLOAD-PRIVILEGED-HOST-PORTS',
    title: 'User pods bind no privileged host ports (below 1024)',
    rationale: 'Ports below 1024 on the node belong to system services; a pod taking one can impersonate them.',
    severity: 'medium',
    frameworks: { stig: ['V-242414'], bsi: ['APP.4.4.A7'] },
    admission: {
      target: 'workloads',
      expression:
        'variables.containers.all(c, !has(c.ports) || c.ports.all(p, (!has(p.hostPort) || p.hostPort <= 0 || p.hostPort >= 1024) && ' +
        '(!has(variables.podSpec.hostNetwork) || variables.podSpec.hostNetwork != true || !has(p.containerPort) || p.containerPort <= 0 || p.containerPort >= 1024)))',
      detail: 'no container may bind a hostPort below 1024, nor a containerPort below 1024 on the host network',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedWorkload',
      prop: 'containers[].ports',
      text: 'drop hostPort and expose the workload through a Service.',
    },
    check: containerCheck(
      (c, p) => {
        const ports = asDicts(c.container.ports);
        const low = ports.map((p) => Number(p.hostPort ?? 0)).filter((n) => n > 0 && n < 1024);
        // On the host network the container port IS a port on the node.
        const hostNet =
          p.spec.hostNetwork === true
            ? ports.map((p) => Number(p.containerPort ?? 0)).filter((n) => n > 0 && n < 1024 && !low.includes(n))
            : [];
        const parts = [
          ...(low.length > 0 ? [`hostPort ${low.join(', ')} (below 1024)`] : []),
          ...(hostNet.length > 0 ? [`containerPort ${hostNet.join(', ')} on the host network (below 1024)`] : []),
        ];
        return parts.length > 0 ? parts.join('; ') : undefined;
      },
      'No container binds a host port below 1024.',
      {
        controlPlaneReason:
          "V-242414 is about user pods; the component's own listening ports are checked by the component controls.",
      },
    ),
  },
  {
    id: 'HCB-WORKLOAD-HOST-PORTS',
    title: 'Pods bind no host ports',
    rationale:
      'A host port opens the node itself to traffic for the pod and bypasses the Service and NetworkPolicy model.',
    severity: 'low',
    frameworks: { cis: ['5.2.13'], bsi: ['APP.4.4.A7'] },
    admission: {
      target: 'workloads',
      expression:
        'variables.containers.all(c, !has(c.ports) || c.ports.all(p, (!has(p.hostPort) || p.hostPort <= 0) && ' +
        '(!has(variables.podSpec.hostNetwork) || variables.podSpec.hostNetwork != true || !has(p.containerPort) || p.containerPort <= 0)))',
      detail:
        'no container may bind a hostPort, nor declare a port on the host network (there every containerPort is a host port)',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedWorkload',
      prop: 'containers[].ports',
      text: 'drop hostPort and expose the workload through a Service.',
    },
    check: containerCheck((c, p) => {
      // On the host network the API server defaults hostPort to containerPort: every declared
      // port is a port on the node (what admission sees). A control-plane static pod serves on
      // the node by design (its host network is accepted, see HCB-WORKLOAD-HOST-NAMESPACES).
      const hostNet = p.spec.hostNetwork === true && !p.controlPlane;
      const ports = asDicts(c.container.ports)
        .map((x) => Number(x.hostPort ?? (hostNet ? (x.containerPort ?? 0) : 0)))
        .filter((n) => n > 0);
      return ports.length > 0 ? `${hostNet ? 'host-network port' : 'hostPort'} ${ports.join(', ')}` : undefined;
    }, 'No container binds a host port.'),
  },
  {
    id: 'HCB-WORKLOAD-PRIVILEGE-ESCALATION',
    title: 'Containers cannot gain privileges (allowPrivilegeEscalation: false)',
    rationale:
      'Without this setting a process can gain more privileges than its parent through setuid binaries or file capabilities.',
    severity: 'high',
    frameworks: { cis: ['5.2.6'], bsi: ['APP.4.4.A4'], ccn: ['CCN-CL-16'] },
    admission: {
      target: 'workloads',
      expression:
        'variables.containers.all(c, has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation) && c.securityContext.allowPrivilegeEscalation == false)',
      detail: 'every container must set securityContext.allowPrivilegeEscalation: false',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedWorkload',
      text: 'HardenedWorkload renders securityContext.allowPrivilegeEscalation: false for every container.',
    },
    check: containerCheck((c) => {
      const v = asBool(asDict(c.container.securityContext).allowPrivilegeEscalation);
      return v === false
        ? undefined
        : v === true
          ? 'allowPrivilegeEscalation: true'
          : 'allowPrivilegeEscalation not set (defaults to true)';
    }, 'Every container sets allowPrivilegeEscalation: false.'),
  },
  {
    id: 'HCB-WORKLOAD-RUN-AS-NON-ROOT',
    title: 'Containers run as a non-root user',
    rationale: 'A process running as root inside the container is one kernel bug away from root on the node.',
    severity: 'high',
    frameworks: { cis: ['5.2.7'], bsi: ['APP.4.4.A4'], ccn: ['CCN-CL-16'] },
    admission: {
      target: 'workloads',
      expression: (() => {
        const user = effectiveCel('runAsUser');
        const nonRoot = effectiveCel('runAsNonRoot');
        return `variables.containers.all(c, (!(${user.set}) || ${user.value} != 0) && (${nonRoot.set}) && ${nonRoot.value} == true)`;
      })(),
      detail: 'every container must run with runAsNonRoot: true (container or pod securityContext) and no runAsUser 0',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedWorkload',
      text: 'HardenedWorkload renders runAsNonRoot: true and a non-zero runAsUser; build images that run as an unprivileged user.',
    },
    check: containerCheck((c, p) => {
      const nonRoot = asBool(effective(p, c, 'runAsNonRoot'));
      const user = effective(p, c, 'runAsUser');
      if (user === 0 || user === '0') return 'runAsUser: 0 (root)';
      if (nonRoot !== true)
        return nonRoot === false ? 'runAsNonRoot: false' : 'runAsNonRoot not set (the image may run as root)';
      return undefined;
    }, 'Every container runs with runAsNonRoot: true.'),
  },
  {
    id: 'HCB-WORKLOAD-READ-ONLY-ROOT-FS',
    title: 'Container root filesystems are read-only',
    rationale:
      'An immutable root filesystem stops an intruder from dropping tools or changing binaries; writable paths become explicit volumes.',
    severity: 'medium',
    frameworks: { ccn: ['CCN-CL-23'], bsi: ['APP.4.4.A4'] },
    admission: {
      target: 'workloads',
      expression:
        'variables.regularContainers.all(c, has(c.securityContext) && has(c.securityContext.readOnlyRootFilesystem) && c.securityContext.readOnlyRootFilesystem == true)',
      detail: 'every container must set securityContext.readOnlyRootFilesystem: true',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedWorkload',
      text: 'HardenedWorkload renders readOnlyRootFilesystem: true; mount an emptyDir for paths the application writes.',
    },
    check: containerCheck(
      (c) =>
        asBool(asDict(c.container.securityContext).readOnlyRootFilesystem) === true
          ? undefined
          : 'readOnlyRootFilesystem is not true',
      'Every container has a read-only root filesystem.',
      { ephemeral: false },
    ),
  },
  {
    id: 'HCB-WORKLOAD-CAPABILITIES',
    title: 'Containers drop all capabilities (adding back NET_BIND_SERVICE at most)',
    rationale:
      'Linux capabilities split root’s power; dropping all of them leaves nothing to abuse, NET_BIND_SERVICE is the only one ordinary services need.',
    severity: 'medium',
    frameworks: { cis: ['5.2.9', '5.2.10'], bsi: ['APP.4.4.A4'], ccn: ['CCN-CL-16'] },
    admission: {
      target: 'workloads',
      expression:
        'variables.containers.all(c, has(c.securityContext) && has(c.securityContext.capabilities) && has(c.securityContext.capabilities.drop) && ' +
        "c.securityContext.capabilities.drop.exists(d, d.upperAscii() == 'ALL') && " +
        "(!has(c.securityContext.capabilities.add) || c.securityContext.capabilities.add.all(a, a.upperAscii() == 'NET_BIND_SERVICE')))",
      detail: 'every container must drop ALL capabilities and add back NET_BIND_SERVICE at most',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: [
      { construct: 'HardenedWorkload', text: "HardenedWorkload renders capabilities.drop: ['ALL'] and adds none." },
      {
        construct: 'HardenedWorkload',
        prop: 'containers[].ports',
        text: 'listen on a port from 1024 up instead of adding NET_BIND_SERVICE; a Service can still offer port 80.',
      },
    ],
    check: containerCheck((c) => {
      const caps = asDict(asDict(c.container.securityContext).capabilities);
      const drop = asStrings(caps.drop).map((x) => x.toUpperCase());
      const add = asStrings(caps.add).filter((x) => x.toUpperCase() !== 'NET_BIND_SERVICE');
      const problems: string[] = [];
      if (!drop.includes('ALL')) problems.push('capabilities.drop does not include ALL');
      if (add.length > 0) problems.push(`adds ${add.join(', ')}`);
      return problems.length > 0 ? problems.join(', ') : undefined;
    }, 'Every container drops all capabilities.'),
  },
  {
    id: 'HCB-WORKLOAD-SECCOMP',
    title: 'Containers run with a seccomp profile (RuntimeDefault or Localhost)',
    rationale:
      'seccomp removes rarely needed system calls that kernel exploits depend on; Unconfined turns the filter off.',
    severity: 'medium',
    frameworks: { cis: ['5.7.2'], ccn: ['CCN-CL-20'], bsi: ['APP.4.4.A4'] },
    admission: {
      target: 'workloads',
      expression: (() => {
        const p = effectiveCel('seccompProfile');
        return `variables.containers.all(c, (${p.set}) && has(${p.value}.type) && ${p.value}.type in ['RuntimeDefault', 'Localhost'])`;
      })(),
      detail:
        'every container must run with a RuntimeDefault or Localhost seccomp profile (container or pod securityContext)',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedWorkload',
      text: 'HardenedWorkload renders the pod securityContext.seccompProfile.type: RuntimeDefault.',
    },
    check: containerCheck((c, p) => {
      const t = asString(asDict(effective(p, c, 'seccompProfile')).type);
      if (t === 'RuntimeDefault' || t === 'Localhost') return undefined;
      return t === undefined
        ? 'no seccomp profile set (only a kubelet with seccompDefault would apply one)'
        : `seccompProfile ${t}`;
    }, 'Every container runs with RuntimeDefault or Localhost seccomp.'),
  },
  {
    id: 'HCB-WORKLOAD-RESOURCE-LIMITS',
    title: 'Containers have CPU and memory limits',
    rationale:
      'Without limits one pod can starve its node and every other pod on it; limits (set directly or by a LimitRange default) cap each container.',
    severity: 'medium',
    frameworks: { ccn: ['CCN-CL-22'], bsi: ['APP.4.4.A1', 'APP.4.4.A4'] },
    admission: {
      target: 'workloads',
      // Decided on Pods, after the LimitRanger admission plugin has filled the namespace's defaults.
      expression:
        "object.kind != 'Pod' || variables.regularContainers.all(c, has(c.resources) && has(c.resources.limits) && 'cpu' in c.resources.limits && 'memory' in c.resources.limits)",
      detail:
        'every container of a pod must have CPU and memory limits (directly or from a LimitRange default; decided on the Pod)',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: [
      {
        construct: 'HardenedWorkload',
        prop: ['containers[].resources.cpuLimit', 'containers[].resources.memoryLimit'],
        text: 'defaults 500m and 512Mi.',
      },
      {
        construct: 'HardenedNamespace',
        prop: 'containerLimits',
        text: 'gives the namespace default limits for pods built otherwise.',
      },
    ],
    check: containerCheck(
      (c, p, ctx) => {
        const missing = ['cpu', 'memory'].filter(
          (r) => effectiveResource(ctx, p.namespace, c.container, r).limit === undefined,
        );
        return missing.length > 0
          ? `no ${missing.join(' or ')} limit (and no LimitRange default in the input)`
          : undefined;
      },
      'Every container has CPU and memory limits (directly or from a LimitRange default).',
      { ephemeral: false, controlPlaneReason: STATIC_POD_UNCAPPED },
    ),
  },
  {
    id: 'HCB-WORKLOAD-EPHEMERAL-STORAGE',
    title: 'Containers have an ephemeral-storage request and limit',
    rationale:
      "Container logs, writable layers and emptyDir volumes fill the node's disk; without a request the scheduler ignores that use, without a limit one pod can fill the disk and have the kubelet evict its neighbours.",
    severity: 'medium',
    frameworks: { ccn: ['CCN-CL-22'], bsi: ['APP.4.4.A1', 'APP.4.4.A4'] },
    admission: {
      target: 'workloads',
      // Decided on Pods, after the LimitRanger has filled defaults and pod defaulting has copied limits into requests.
      expression:
        "object.kind != 'Pod' || variables.regularContainers.all(c, has(c.resources) && has(c.resources.limits) && 'ephemeral-storage' in c.resources.limits && " +
        "has(c.resources.requests) && 'ephemeral-storage' in c.resources.requests)",
      detail:
        'every container of a pod must have an ephemeral-storage request and limit (directly or from a LimitRange default; decided on the Pod)',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: [
      {
        construct: 'HardenedWorkload',
        prop: ['containers[].resources.ephemeralStorageRequest', 'containers[].resources.ephemeralStorageLimit'],
        text: 'defaults 64Mi and 1Gi.',
      },
      {
        construct: 'HardenedNamespace',
        prop: ['containerLimits.defaultRequestEphemeralStorage', 'containerLimits.defaultLimitEphemeralStorage'],
        text: 'for pods built otherwise.',
      },
    ],
    check: containerCheck(
      (c, p, ctx) => {
        const r = effectiveResource(ctx, p.namespace, c.container, 'ephemeral-storage');
        const missing = [...(r.request === undefined ? ['request'] : []), ...(r.limit === undefined ? ['limit'] : [])];
        return missing.length > 0
          ? `no ephemeral-storage ${missing.join(' or ')} (and no LimitRange default in the input)`
          : undefined;
      },
      'Every container has an ephemeral-storage request and limit (directly or from a LimitRange default).',
      { ephemeral: false, controlPlaneReason: STATIC_POD_UNCAPPED },
    ),
  },
  {
    id: 'HCB-WORKLOAD-IMAGE-DIGEST',
    title: 'Container images are pinned by digest',
    rationale:
      'A tag can be moved to other content at any time, by the publisher or by whoever controls the registry; only a digest names exactly the image that was reviewed and scanned, on every node and every restart.',
    severity: 'medium',
    // CIS 5.5.1 asks for image provenance; a digest is its precondition (what was verified is what runs), not all of it.
    frameworks: { cis: ['5.5.1'] },
    admission: {
      target: 'workloads',
      expression:
        "variables.containers.all(c, has(c.image) && c.image.matches('@(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$'))",
      detail: 'every container image must be pinned by digest (repository@sha256:…)',
      defaultMode: 'dry-run',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: [
      {
        construct: 'HardenedWorkload',
        prop: ['containers[].image', 'initContainers[].image'],
        text: 'write repository@sha256:<digest>, e.g. the digest `crane digest <image:tag>` prints.',
      },
      { construct: 'PodRestartSchedule', prop: 'kubectlImage', text: 'likewise.' },
    ],
    check: containerCheck(
      (c) => imageDigestProblem(asString(c.container.image)),
      'Every container image is pinned by digest.',
    ),
  },
  {
    id: 'HCB-WORKLOAD-SECRETS-IN-ENV',
    title: 'Secrets are mounted as files, not passed in environment variables',
    rationale:
      'Environment variables leak into logs, crash reports and child processes and cannot be updated in place; mounted files can be protected by permissions.',
    severity: 'medium',
    frameworks: { stig: ['V-242415'], cis: ['5.4.1'], bsi: ['APP.4.4.A2'] },
    admission: {
      target: 'workloads',
      expression:
        'variables.containers.all(c, (!has(c.env) || c.env.all(e, !has(e.valueFrom) || !has(e.valueFrom.secretKeyRef))) && (!has(c.envFrom) || c.envFrom.all(f, !has(f.secretRef))))',
      detail: 'no container may read a Secret through env valueFrom.secretKeyRef or envFrom.secretRef',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedWorkload',
      prop: 'containers[].secretMounts',
      text: 'mounts the Secret as a read-only volume instead of env secretKeyRef or envFrom secretRef.',
    },
    check: containerCheck((c) => {
      const refs = asDicts(c.container.env)
        .filter((e) => asDict(e.valueFrom).secretKeyRef !== undefined)
        .map(
          (e) => `env ${String(e.name)} from Secret ${String(asDict(asDict(e.valueFrom).secretKeyRef).name ?? '?')}`,
        );
      for (const f of asDicts(c.container.envFrom))
        if (f.secretRef !== undefined) refs.push(`envFrom Secret ${String(asDict(f.secretRef).name ?? '?')}`);
      return refs.length > 0 ? refs.join(', ') : undefined;
    }, 'No container reads a Secret through environment variables.'),
  },
  {
    id: 'HCB-WORKLOAD-SA-TOKEN-AUTOMOUNT',
    title: 'Pods mount no service account token unless they need one',
    rationale:
      'A mounted token is a credential for the API; a compromised pod that does not need one should not hand it to the attacker.',
    severity: 'medium',
    frameworks: { cis: ['5.1.6'], bsi: ['APP.4.4.A9'], ccn: ['CCN-CL-17'] },
    admission: {
      target: 'workloads',
      // On a Pod the ServiceAccount admission plugin has already added the token volume
      // (kube-api-access-…) when pod and service account leave automounting on.
      expression:
        'has(variables.podSpec.automountServiceAccountToken) ? variables.podSpec.automountServiceAccountToken == false : ' +
        "(object.kind != 'Pod' || !has(variables.podSpec.volumes) || !variables.podSpec.volumes.exists(v, v.name.startsWith('kube-api-access-')))",
      detail:
        'the pod may not mount a service account token (automountServiceAccountToken: false on the pod or its ServiceAccount)',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: [
      { construct: 'HardenedWorkload', text: 'HardenedWorkload renders automountServiceAccountToken: false.' },
      {
        construct: 'WorkloadIdentity',
        prop: 'automountToken',
        text: 'true, with least-privilege rules, for a pod that calls the API (passed as HardenedWorkload prop serviceAccount).',
      },
    ],
    check: podCheck(
      (p, ctx) => {
        const own = asBool(p.spec.automountServiceAccountToken);
        if (own === false) return pass('automountServiceAccountToken: false.');
        if (own === true) return fail('automountServiceAccountToken: true: the pod receives an API token.');
        const sa = serviceAccountOf(p);
        const saDoc = kindInNamespace(ctx, 'ServiceAccount', p.namespace).find((d) => d.object.metadata?.name === sa);
        if (saDoc && asBool((saDoc.object as Dict).automountServiceAccountToken) === false) {
          return pass(`automountServiceAccountToken is not set on the pod; its ServiceAccount ${sa} sets it to false.`);
        }
        return fail(
          `automountServiceAccountToken is not set and ServiceAccount ${sa} ${saDoc ? 'does not set it to false' : 'is not in the input'}: the token is mounted by default.`,
        );
      },
      { controlPlaneReason: STATIC_POD_NO_SERVICE_ACCOUNT },
    ),
  },
  {
    id: 'HCB-WORKLOAD-DEDICATED-SERVICE-ACCOUNT',
    title: 'Pods run under their own service account, not "default"',
    rationale:
      'The default service account is shared by every pod in the namespace; permissions given to it reach all of them.',
    severity: 'low',
    frameworks: { cis: ['5.1.5'], bsi: ['APP.4.4.A9'], ccn: ['CCN-CL-15'] },
    admission: {
      target: 'workloads',
      expression:
        "(has(variables.podSpec.serviceAccountName) && variables.podSpec.serviceAccountName != '' ? variables.podSpec.serviceAccountName : " +
        "(has(variables.podSpec.serviceAccount) && variables.podSpec.serviceAccount != '' ? variables.podSpec.serviceAccount : 'default')) != 'default'",
      detail: 'the pod must run under its own service account, not "default"',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedWorkload',
      prop: 'serviceAccount',
      text: 'one WorkloadIdentity per workload (HardenedWorkload creates one when the prop is omitted).',
    },
    check: podCheck(
      (p) => {
        const sa = serviceAccountOf(p);
        return sa === 'default'
          ? fail('The pod runs under the default service account.')
          : pass(`serviceAccountName: ${sa}.`);
      },
      { controlPlaneReason: STATIC_POD_NO_SERVICE_ACCOUNT },
    ),
  },
  {
    id: 'HCB-WORKLOAD-PROBES',
    title: 'Long-running containers define liveness and readiness probes',
    rationale: 'Probes let Kubernetes stop routing traffic to, and restart, software that no longer does its job.',
    severity: 'low',
    frameworks: { bsi: ['APP.4.4.A11'] },
    admission: {
      target: 'workloads',
      expression:
        "object.kind in ['Job', 'CronJob'] || (has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(o, o.kind == 'Job')) || " +
        '!has(variables.podSpec.containers) || variables.podSpec.containers.all(c, has(c.livenessProbe) && has(c.readinessProbe))',
      detail:
        'every long-running container must define livenessProbe and readinessProbe (Jobs, CronJobs and the pods a Job creates are left out)',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedWorkload',
      prop: ['containers[].liveness', 'containers[].readiness'],
      text: 'build them with Probe.fromHttpGet/fromTcpSocket/fromCommand.',
    },
    check: containerCheck(
      (c) => {
        const missing = ['livenessProbe', 'readinessProbe'].filter(
          (k) => c.container[k] === undefined || c.container[k] === null,
        );
        return missing.length > 0 ? `no ${missing.join(' or ')}` : undefined;
      },
      'Every container has liveness and readiness probes.',
      {
        init: false,
        ephemeral: false,
        skipKinds: ['Job', 'CronJob'],
        skipReason: 'Jobs run to completion; liveness and readiness probes do not apply.',
      },
    ),
  },
  {
    id: 'HCB-WORKLOAD-HOST-PATH',
    title: 'Pods mount no host paths',
    rationale:
      'A hostPath volume gives the pod the node’s filesystem: credentials, the container runtime socket, other pods’ data.',
    severity: 'high',
    frameworks: { cis: ['5.2.12'], bsi: ['APP.4.4.A4'] },
    admission: {
      target: 'workloads',
      expression: '!has(variables.podSpec.volumes) || variables.podSpec.volumes.all(v, !has(v.hostPath))',
      detail: 'the pod may not mount a hostPath volume',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedWorkload',
      prop: ['containers[].writablePaths', 'containers[].configMapMounts', 'containers[].secretMounts'],
      text: 'use these (emptyDir, ConfigMap, Secret) instead of a hostPath volume; the construct renders none.',
    },
    check: podCheck((p) => {
      const volumes = asDicts(p.spec.volumes).filter((v) => v.hostPath !== undefined && v.hostPath !== null);
      const path = (v: Dict) => String(asDict(v.hostPath).path ?? '?');
      const host = volumes.map((v) => `${String(v.name)} (${path(v)})`);
      if (host.length === 0) return pass('No hostPath volume.');
      if (!p.controlPlane) return fail(`hostPath volume(s): ${host.join(', ')}.`);
      // A static pod reads its certificates, kubeconfig and configuration (etcd: its data) from
      // the node; the node's root, kernel interfaces and runtime state are no part of that.
      const foreign = volumes.filter((v) => pathNoComponentNeeds(path(v))).map((v) => `${String(v.name)} (${path(v)})`);
      if (foreign.length > 0)
        return fail(`Control-plane static pod mounts host path(s) no component needs: ${foreign.join(', ')}.`);
      return {
        status: 'not-applicable',
        message: `Control-plane static pod: its hostPath volumes hold the component's certificates, configuration or data: ${host.join(', ')}.`,
      };
    }),
  },
  {
    id: 'HCB-WORKLOAD-USER-NAMESPACE',
    title: 'User pods run in dedicated namespaces, not in default or system namespaces',
    rationale:
      'default and the kube-* namespaces carry no tenant policy (quotas, network rules, Pod Security labels) and mix user pods with system ones.',
    severity: 'medium',
    frameworks: { stig: ['V-242417'], cis: ['5.7.1'], bsi: ['APP.4.4.A1'], ccn: ['CCN-CL-11'] },
    admission: {
      target: 'workloads',
      expression: "request.namespace != 'default'",
      detail:
        'user workloads run in a namespace of their own, not in default (the system namespaces are left to the provider by the binding)',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedNamespace',
      text: 'Use a HardenedNamespace (or a Tenant) for each application and put the workload in it.',
    },
    check: podCheck(
      (p) => {
        const ns = p.namespace;
        if (ns === undefined)
          return {
            status: 'not-evaluated',
            message:
              'Not evaluated: the workload sets no namespace; it lands wherever it is applied (default unless told otherwise).',
          };
        // Control-plane static pods are the provider's (not-applicable below); anything else in a
        // system namespace fails: a provider add-on there (CoreDNS, kube-proxy) needs a reviewed exception.
        if (ns === 'default' || SYSTEM_NAMESPACES.has(ns))
          return fail(
            `The workload runs in ${ns}${ns === 'default' ? '' : ' (a provider component there needs a reviewed exception)'}.`,
          );
        return pass(`Runs in namespace ${ns}.`);
      },
      { controlPlaneReason: "the control plane is the provider's, and kube-system is where its static pods belong." },
    ),
  },
  {
    id: 'HCB-WORKLOAD-NO-DASHBOARD',
    title: 'The Kubernetes Dashboard is not deployed',
    rationale:
      'The Dashboard is a web front end with broad API access and a long history of being exposed by accident.',
    severity: 'medium',
    frameworks: { stig: ['V-242395'] },
    admission: {
      target: 'workloads',
      expression:
        "variables.containers.all(c, !has(c.image) || !c.image.matches('(^|/)kubernetesui/dashboard|(^|/)kubernetes-dashboard(:|@|$)')) && " +
        "(!has(object.metadata.name) || object.metadata.name != 'kubernetes-dashboard') && " +
        ["has(object.metadata.labels) ? object.metadata.labels : {'': ''}", 'variables.podLabels']
          .map(
            (l) =>
              `!((${l}).exists(k, (k == 'k8s-app' && (${l})[k] == 'kubernetes-dashboard') || (k == 'app.kubernetes.io/part-of' && (${l})[k] == 'kubernetes-dashboard') || ` +
              `(k == 'app.kubernetes.io/name' && (${l})[k].matches('^kubernetes-dashboard(-|$)'))))`,
          )
          .join(' && '),
      detail:
        'the Kubernetes Dashboard (kubernetesui/dashboard image, a workload named kubernetes-dashboard, or its k8s-app / app.kubernetes.io labels) may not be deployed',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: { text: 'Do not deploy kubernetesui/dashboard; use kubectl with RBAC-scoped credentials instead.' },
    check: dashboardCheck,
  },
  {
    id: 'HCB-WORKLOAD-SINGLE-IMAGE-VERSION',
    title: 'Superseded component versions are removed after an update',
    rationale: 'An old version left running after an update keeps its vulnerabilities in the cluster.',
    severity: 'low',
    frameworks: { stig: ['V-242442'], ccn: ['CCN-CL-02'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      text: 'Update every workload that uses an image to the same version (Pulumi replaces the old objects); delete workloads left behind.',
    },
    check: singleVersionCheck,
  },
];
