/** Iteration over workload pod templates and their containers, with effective security settings. */
import { CheckContext, CheckResult, ContainerSubject, PodSubject } from '../control';
import { notEvaluated, result, Verdict } from './helpers';
import { asDict, asDicts, asString, Dict } from '../util/values';

export function containersOf(spec: Dict, opts: { init?: boolean; ephemeral?: boolean } = {}): ContainerSubject[] {
  const out: ContainerSubject[] = [];
  if (opts.init !== false) {
    for (const c of asDicts(spec.initContainers))
      out.push({ container: c, name: asString(c.name) ?? '?', type: 'initContainer' });
  }
  for (const c of asDicts(spec.containers))
    out.push({ container: c, name: asString(c.name) ?? '?', type: 'container' });
  if (opts.ephemeral !== false) {
    for (const c of asDicts(spec.ephemeralContainers))
      out.push({ container: c, name: asString(c.name) ?? '?', type: 'ephemeralContainer' });
  }
  return out;
}

/**
 * containersOf for the checks of one evaluation: the lists are read-only there and every
 * container control asks for them, so they are made once per context, pod spec and options.
 */
const containerLists = new WeakMap<CheckContext, WeakMap<Dict, Array<ContainerSubject[] | undefined>>>();

function containersIn(
  ctx: CheckContext,
  spec: Dict,
  opts: { init?: boolean; ephemeral?: boolean },
): ContainerSubject[] {
  let bySpec = containerLists.get(ctx);
  if (!bySpec) {
    bySpec = new WeakMap();
    containerLists.set(ctx, bySpec);
  }
  let lists = bySpec.get(spec);
  if (!lists) {
    lists = [];
    bySpec.set(spec, lists);
  }
  const i = (opts.init !== false ? 1 : 0) + (opts.ephemeral !== false ? 2 : 0);
  return (lists[i] ??= containersOf(spec, opts));
}

export function label(c: ContainerSubject): string {
  return c.type === 'container' ? c.name : `${c.name} (${c.type === 'initContainer' ? 'init' : 'ephemeral'})`;
}

/** A container's securityContext value, falling back to the pod's securityContext where Kubernetes does. */
export function effective(
  p: PodSubject,
  c: ContainerSubject,
  key: 'runAsNonRoot' | 'runAsUser' | 'seccompProfile',
): unknown {
  const own = asDict(c.container.securityContext)[key];
  if (own !== undefined && own !== null) return own;
  return asDict(p.spec.securityContext)[key];
}

/**
 * A control-plane component observed as a running process (`hcb verify` on the local control
 * plane): a carrier for its command line, not a pod; it has no pod settings to check.
 */
function observedProcess(p: PodSubject): boolean {
  return (
    p.controlPlane &&
    (p.document.source?.file ?? '').startsWith('live:/proc/') &&
    asDict(p.podMetadata.annotations)['hcb.dev/observed-pid'] !== undefined
  );
}

/** Workloads that pod-spec checks look at: every pod template, control-plane static pods included. */
export function checkedPods(ctx: CheckContext): PodSubject[] {
  return ctx.pods.filter((p) => !observedProcess(p));
}

const NO_WORKLOADS = 'no workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) in the input.';

export interface PodCheckOptions {
  /**
   * Set when the control does not apply to control-plane static pods (recognised by their whole
   * shape, see policies/context.ts): why. Such a pod then gets not-applicable with this reason;
   * without it the control checks static pods like any other pod.
   */
  controlPlaneReason?: string;
}

/** One result per workload from a pod-level decision. */
export function podCheck(decide: (p: PodSubject, ctx: CheckContext) => Verdict, opts: PodCheckOptions = {}) {
  return (ctx: CheckContext): CheckResult[] => {
    const pods = checkedPods(ctx);
    if (pods.length === 0) return [notEvaluated(NO_WORKLOADS)];
    return pods.map((p) => {
      const v: Verdict =
        p.controlPlane && opts.controlPlaneReason !== undefined
          ? { status: 'not-applicable', message: `Control-plane static pod: ${opts.controlPlaneReason}` }
          : decide(p, ctx);
      return result(v.status, v.message, p.ref);
    });
  };
}

/**
 * One result per workload from a per-container decision: the problem text for a container, or
 * undefined when it complies. A template without containers is not evaluated.
 */
export function containerCheck(
  problem: (c: ContainerSubject, p: PodSubject, ctx: CheckContext) => string | undefined,
  okMessage: string,
  opts: {
    init?: boolean;
    ephemeral?: boolean;
    skipKinds?: readonly string[];
    skipReason?: string;
  } & PodCheckOptions = {},
) {
  return podCheck((p, ctx) => {
    if (opts.skipKinds?.includes(p.kind))
      return { status: 'not-applicable', message: opts.skipReason ?? `Does not apply to ${p.kind}.` };
    const containers = containersIn(ctx, p.spec, opts);
    if (containers.length === 0)
      return { status: 'not-evaluated', message: 'Not evaluated: the pod template has no containers.' };
    const problems = containers.map((c) => ({ c, text: problem(c, p, ctx) })).filter((x) => x.text !== undefined);
    if (problems.length === 0) return { status: 'pass', message: okMessage };
    return { status: 'fail', message: problems.map((x) => `${label(x.c)}: ${x.text}`).join('; ') + '.' };
  }, opts);
}
