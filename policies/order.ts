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

/**
 * The order of findings: control id, then subject (findings without one first; then namespace,
 * kind, name, path, file, line, apiVersion), then status (STATUS_ORDER) and message. Code-unit
 * string comparison, so it is the same on every machine and locale. Lines compare as their
 * decimal text padded to 9 digits.
 */
export function compareFindings(a: Finding, b: Finding): number {
  const c = compareStrings(a.control, b.control);
  if (c !== 0) return c;
  const oa = a.object;
  const ob = b.object;
  if (!oa || !ob) {
    if (oa || ob) return oa ? 1 : -1;
  } else {
    const d =
      compareStrings(oa.namespace ?? '', ob.namespace ?? '') ||
      compareStrings(oa.kind ?? '', ob.kind ?? '') ||
      compareStrings(oa.name ?? '', ob.name ?? '') ||
      compareStrings(oa.path ?? '', ob.path ?? '') ||
      compareStrings(oa.file ?? '', ob.file ?? '') ||
      compareLines(oa, ob) ||
      compareStrings(oa.apiVersion ?? '', ob.apiVersion ?? '');
    if (d !== 0) return d;
  }
  return compareStatus(a.status, b.status) || compareStrings(a.message, b.message);
}

function compareLines(a: ObjectRef, b: ObjectRef): number {
  if (a.line === b.line) return 0;
  return compareStrings(String(a.line ?? 0).padStart(9, '0'), String(b.line ?? 0).padStart(9, '0'));
}
