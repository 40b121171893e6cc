/**
 * The one status order and the one finding order of the whole product: the engine sorts its
 * findings with them, the framework summary and the report roll-ups use the same status order, and
 * every report lists with them. (Before, the engine ranked not-evaluated worse than accepted and
 * the reports the other way round, so a requirement and its control could roll up differently.)
 */
import { Finding, ObjectRef, Status } from './model';
import { compareStrings } from './util/values';

/**
 * Worst first: what needs action first, and the status a control or requirement rolls up to when
 * its findings differ. not-evaluated ranks above accepted: a reviewed, expiring exception is a
 * known deviation; a subject nobody could check is not known to be anything.
 */
export const STATUS_ORDER: readonly Status[] = ['error', 'fail', 'not-evaluated', 'accepted', 'pass', 'not-applicable'];

export function compareStatus(a: Status, b: Status): number {
  return STATUS_ORDER.indexOf(a) - STATUS_ORDER.indexOf(b);
}

/** A subject's sort key: namespace, kind, name, node path, file, line, apiVersion. */
function objectKey(o: ObjectRef | undefined): string[] {
  if (!o) return [];
  return [
    o.namespace ?? '',
    o.kind ?? '',
    o.name ?? '',
    o.path ?? '',
    o.file ?? '',
    String(o.line ?? 0).padStart(9, '0'),
    o.apiVersion ?? '',
  ];
}

/**
 * The order of findings: control id, then subject (findings without one first; then namespace,
 * kind, name, path, file, line, apiVersion), then status (STATUS_ORDER) and message. Code-unit
 * string comparison, so it is the same on every machine and locale.
 */
export function compareFindings(a: Finding, b: Finding): number {
  const c = compareStrings(a.control, b.control);
  if (c !== 0) return c;
  const ka = objectKey(a.object);
  const kb = objectKey(b.object);
  if (ka.length !== kb.length) return ka.length - kb.length;
  for (let i = 0; i < ka.length; i++) {
    const d = compareStrings(ka[i], kb[i]);
    if (d !== 0) return d;
  }
  return compareStatus(a.status, b.status) || compareStrings(a.message, b.message);
}
