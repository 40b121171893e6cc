/**
 * Exceptions: reviewed, versioned decisions that a failing control is accepted for a scope
 * until a date. Validation is strict (a missing owner or a bad date is an error, never a
 * silently ignored exception); matching is exact on every scope field that is given.
 */
import { ControlException, KubeObject, ObjectRef } from './model';

/**
 * Exceptions as a document, the form `hcb synth` writes to `exceptions.yaml` and
 * `hcb audit --exceptions` reads: `apiVersion: hcb.dev/v1alpha1`, `kind: ControlExceptionList`,
 * `items: [ControlException...]`. Found among audited input it is never applied (an audited
 * manifest must not exempt itself) and no control treats it as a subject.
 */
export const EXCEPTION_LIST_API_VERSION = 'hcb.dev/v1alpha1';
export const EXCEPTION_LIST_KIND = 'ControlExceptionList';

export interface ControlExceptionList {
  apiVersion: typeof EXCEPTION_LIST_API_VERSION;
  kind: typeof EXCEPTION_LIST_KIND;
  items: ControlException[];
}

/** The exceptions as a ControlExceptionList document (fields in a fixed order, copies only). */
export function exceptionListDocument(exceptions: readonly ControlException[]): ControlExceptionList {
  return {
    apiVersion: EXCEPTION_LIST_API_VERSION,
    kind: EXCEPTION_LIST_KIND,
    items: exceptions.map((e) => {
      const scope: ControlException['scope'] = {};
      for (const k of SCOPE_KEYS as Array<keyof ControlException['scope']>)
        if (e.scope?.[k] !== undefined) scope[k] = e.scope[k];
      const out: ControlException = {
        control: e.control,
        scope,
        justification: e.justification,
        owner: e.owner,
        expires: e.expires,
      };
      if (e.ticket !== undefined) out.ticket = e.ticket;
      return out;
    }),
  };
}

/** True for a ControlExceptionList of any hcb.dev version: exceptions, not something to check. */
export function isExceptionDocument(o: Pick<KubeObject, 'apiVersion' | 'kind'> | null | undefined): boolean {
  return (
    !!o && o.kind === EXCEPTION_LIST_KIND && typeof o.apiVersion === 'string' && o.apiVersion.startsWith('hcb.dev/')
  );
}

export interface ExceptionProblem {
  /** 0-based position in the list that was validated. */
  index: number;
  /** The control the exception names, when it names one. */
  control?: string;
  message: string;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const SCOPE_KEYS = ['namespace', 'kind', 'name', 'path'];

/** End of the expiry day (UTC), or undefined when the date is not a real YYYY-MM-DD date. */
export function expiryEnd(expires: string): Date | undefined {
  const m = ISO_DATE.exec(expires);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const start = new Date(Date.UTC(y, mo - 1, d));
  if (start.getUTCFullYear() !== y || start.getUTCMonth() !== mo - 1 || start.getUTCDate() !== d) return undefined;
  return new Date(Date.UTC(y, mo - 1, d, 23, 59, 59, 999));
}

/** Problems of one exception; empty when it is valid. `knownControls` adds an unknown-control check. */
export function validateException(e: unknown, knownControls?: ReadonlySet<string>): string[] {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return ['an exception must be a mapping'];
  const x = e as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof x.control !== 'string' || x.control.trim() === '') {
    problems.push('"control" is missing: name the control id the exception is for');
  } else if (knownControls && !knownControls.has(x.control)) {
    problems.push(`"control" ${JSON.stringify(x.control)} is not a control of the catalogue`);
  }
  if (typeof x.justification !== 'string' || x.justification.trim() === '') {
    problems.push('"justification" is missing: say why the failure is acceptable and what compensates for it');
  }
  if (typeof x.owner !== 'string' || x.owner.trim() === '') {
    problems.push('"owner" is missing: name the person or team that answers for the exception');
  }
  if (typeof x.expires !== 'string' || expiryEnd(x.expires) === undefined) {
    problems.push(`"expires" must be a real date written YYYY-MM-DD, got ${JSON.stringify(x.expires ?? null)}`);
  }
  if (x.ticket !== undefined && typeof x.ticket !== 'string') problems.push('"ticket" must be a string when given');
  const scope = x.scope;
  if (scope === null || typeof scope !== 'object' || Array.isArray(scope)) {
    problems.push('"scope" must be a mapping of namespace/kind/name/path ({} covers every subject of the control)');
  } else {
    for (const [k, v] of Object.entries(scope as Record<string, unknown>)) {
      if (!SCOPE_KEYS.includes(k)) problems.push(`scope key "${k}" is not one of ${SCOPE_KEYS.join(', ')}`);
      else if (typeof v !== 'string' || v === '') problems.push(`scope.${k} must be a non-empty string`);
    }
  }
  return problems;
}

/** Problems of every exception in a list (empty when all are valid). */
export function validateExceptions(
  exceptions: readonly unknown[],
  knownControls?: ReadonlySet<string>,
): ExceptionProblem[] {
  const out: ExceptionProblem[] = [];
  exceptions.forEach((e, index) => {
    const control =
      e && typeof e === 'object' && typeof (e as { control?: unknown }).control === 'string'
        ? (e as { control: string }).control
        : undefined;
    for (const message of validateException(e, knownControls)) {
      const p: ExceptionProblem = { index, message };
      if (control !== undefined) p.control = control;
      out.push(p);
    }
  });
  return out;
}

/** True when every field the exception's scope gives equals the subject's. */
export function scopeMatches(e: ControlException, object: ObjectRef | undefined): boolean {
  const s = e.scope ?? {};
  for (const k of SCOPE_KEYS as Array<keyof ControlException['scope']>) {
    const want = s[k];
    if (want === undefined) continue;
    if (object === undefined || object[k] !== want) return false;
  }
  return true;
}

/** True when the exception is still valid at `now` (valid through its expiry day, UTC). */
export function isExpired(e: ControlException, now: Date): boolean {
  const end = expiryEnd(e.expires);
  return end === undefined || now.getTime() > end.getTime();
}
