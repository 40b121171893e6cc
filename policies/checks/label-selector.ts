/**
 * metav1.LabelSelector as apimachinery evaluates it (LabelSelectorAsSelector): matchLabels and
 * matchExpressions are ANDed; In / NotIn / Exists / DoesNotExist; an empty selector matches
 * everything. A selector the API server would reject (unknown operator, In without values)
 * gives undefined: the caller cannot know what it selects.
 */
import { asArray, asDict, asDicts, asString, asStrings, Dict, isDict } from '../util/values';

export function matchesLabels(selector: unknown, labels: Readonly<Record<string, string>>): boolean | undefined {
  if (selector === undefined || selector === null) return undefined;
  if (!isDict(selector)) return undefined;
  for (const [k, v] of Object.entries(asDict(selector.matchLabels))) {
    if (labels[k] !== String(v)) return false;
  }
  for (const e of asDicts(selector.matchExpressions)) {
    const key = asString(e.key);
    const values = asStrings(e.values);
    if (key === undefined) return undefined;
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    switch (e.operator) {
      case 'In':
        if (values.length === 0) return undefined;
        if (!has || !values.includes(labels[key])) return false;
        break;
      case 'NotIn':
        if (values.length === 0) return undefined;
        if (has && values.includes(labels[key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return undefined;
    }
  }
  return true;
}

/** An empty selector ({}, or both lists empty): matches every object. */
export function isEmptySelector(selector: unknown): boolean {
  if (!isDict(selector)) return false;
  const s: Dict = selector;
  return Object.keys(asDict(s.matchLabels)).length === 0 && asArray(s.matchExpressions).length === 0;
}
