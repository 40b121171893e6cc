import { ApiObject } from 'cdk8s';
import { CONSTRUCT_PATH_ANNOTATION } from '../../policies/input/types';

/**
 * Annotation that records which construct produced an object, so that a finding on the object
 * can point back to the construct (and the prop) that shaped it. Defined once, where the audit
 * reads it (policies/ imports nothing from constructs/).
 */
export { CONSTRUCT_PATH_ANNOTATION };

/** Label put on every object the blueprint generates. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'hardened-cluster-blueprint';

/**
 * Stamps an object with its construct path and the managed-by label. Every construct in this
 * package calls it on every ApiObject it creates.
 */
export function stampProvenance<T extends ApiObject>(obj: T): T {
  obj.metadata.addAnnotation(CONSTRUCT_PATH_ANNOTATION, obj.node.path);
  obj.metadata.addLabel(MANAGED_BY_LABEL, MANAGED_BY_VALUE);
  return obj;
}
