import { PolicyRule } from 'cdk8s-plus-28/lib/imports/k8s';
import { AccessRule } from './access-rule';

/** Renders trusted (preset) rules without the least-privilege checks custom rules go through. */
export function renderPresetRules(rules: readonly AccessRule[]): PolicyRule[] {
  return rules.map((r) => ({
    apiGroups: [r.apiGroup],
    resources: [...r.resources],
    verbs: [...r.verbs].sort(),
    ...(r.resourceNames ? { resourceNames: [...r.resourceNames] } : {}),
  }));
}
