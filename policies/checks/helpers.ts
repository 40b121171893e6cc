/**
 * Building blocks for checks: iterate over the subjects of a control and turn "no subject in the
 * input" into one not-evaluated result that names what was missing.
 */
import { CheckContext, CheckResult, ComponentConfig, ComponentName } from '../control';
import { Document, ObjectRef, Status } from '../model';
import { parseGoBool } from '../util/go-values';

export const COMPONENT_LABEL: Record<ComponentName, string> = {
  'kube-apiserver': 'kube-apiserver',
  etcd: 'etcd',
  'kube-controller-manager': 'kube-controller-manager',
  'kube-scheduler': 'kube-scheduler',
};

export function result(status: Status, message: string, object?: ObjectRef): CheckResult {
  return object === undefined ? { status, message } : { status, message, object };
}

export function notEvaluated(missing: string): CheckResult {
  return { status: 'not-evaluated', message: `Not evaluated: ${missing}` };
}

/** What a component check decides for one component instance. */
export interface Verdict {
  status: Status;
  message: string;
}

export const pass = (message: string): Verdict => ({ status: 'pass', message });
export const fail = (message: string): Verdict => ({ status: 'fail', message });

/**
 * A check over every instance of a component (kubeadm ClusterConfiguration or static pod). No
 * instance in the input gives not-evaluated.
 */
export function componentCheck(component: ComponentName, decide: (c: ComponentConfig, ctx: CheckContext) => Verdict) {
  return (ctx: CheckContext): CheckResult[] => {
    const configs = ctx.components(component);
    if (configs.length === 0) {
      return [
        notEvaluated(
          `no ${COMPONENT_LABEL[component]} configuration in the input (a kubeadm ClusterConfiguration or a static pod manifest in kube-system).`,
        ),
      ];
    }
    return configs.map((c) => {
      // A command line that cannot be read without running the container (sh -c with expansions, …).
      if (c.unreadable !== undefined)
        return result('not-evaluated', `Not evaluated: ${c.unreadable}. [${c.describe()}]`, c.ref);
      const v = decide(c, ctx);
      return result(v.status, `${v.message} [${c.describe()}]`, c.ref);
    });
  };
}

/** A check over every document of a kind; none in the input gives not-evaluated. */
export function documentCheck(
  kind: string,
  apiGroup: string | undefined,
  what: string,
  decide: (doc: Document, ctx: CheckContext) => Verdict | Verdict[],
) {
  return (ctx: CheckContext): CheckResult[] => {
    const docs = ctx.byKind(kind, apiGroup);
    if (docs.length === 0) return [notEvaluated(`no ${what} in the input.`)];
    return docs.flatMap((d) => {
      const v = decide(d, ctx);
      return (Array.isArray(v) ? v : [v]).map((x) => result(x.status, x.message, ctx.ref(d)));
    });
  };
}

/**
 * A boolean flag that must have a given value. `defaultValue` is the component's built-in
 * default (used, and said, when the flag is not set); undefined means "must be set explicitly".
 */
export function boolFlag(component: ComponentName, flag: string, want: boolean, defaultValue?: boolean) {
  return componentCheck(component, (c) => {
    const raw = c.flag(flag);
    if (raw === undefined) {
      if (defaultValue === undefined) return fail(`--${flag} is not set; it must be set to ${want}.`);
      return defaultValue === want
        ? pass(`--${flag} is not set; the built-in default ${defaultValue} applies.`)
        : fail(`--${flag} is not set and defaults to ${defaultValue}; it must be ${want}.`);
    }
    // Read as pflag reads it (strconv.ParseBool): 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False.
    const v = parseGoBool(raw);
    if (v === undefined)
      return fail(`--${flag}=${raw} is not a boolean the component accepts (it would not start); it must be ${want}.`);
    return v === want ? pass(`--${flag}=${raw}.`) : fail(`--${flag}=${raw}; it must be ${want}.`);
  });
}

/** A flag that must be set to a non-empty value (a file path, usually). */
export function requiredFlags(component: ComponentName, flags: readonly string[], purpose: string) {
  return componentCheck(component, (c) => {
    const missing = flags.filter((f) => (c.flag(f) ?? '').trim() === '');
    if (missing.length > 0) return fail(`${missing.map((f) => `--${f}`).join(', ')} not set: ${purpose}.`);
    return pass(flags.map((f) => `--${f}=${c.flag(f)}`).join(', '));
  });
}

/** A flag that must not be set (or must be empty). */
export function forbiddenFlag(component: ComponentName, flag: string, why: string) {
  return componentCheck(component, (c) => {
    const v = c.flag(flag);
    if (v !== undefined && v.trim() !== '') return fail(`--${flag}=${v} is set: ${why}.`);
    return pass(`--${flag} is not set.`);
  });
}
