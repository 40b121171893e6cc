import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';
import { isLabelKey, isLabelValue, requireLabels } from '../tenant/names';

/** A taint on dedicated nodes that the workload tolerates. */
export interface DedicatedNodeToleration {
  readonly key: string;
  /** @default - tolerate the key with any value (operator Exists) */
  readonly value?: string;
  /** @default 'NoSchedule' */
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/**
 * Dedicated nodes for a workload (BSI APP.4.4.A14, A15): a node selector the workload must
 * match and the taints it tolerates. The taints keep other pods off those nodes; the selector keeps
 * this workload on them. Tainting and labelling the nodes is the platform's job.
 */
export interface DedicatedNodes {
  /** Labels of the dedicated nodes. At least one. */
  readonly nodeSelector: Record<string, string>;
  /** @default - none */
  readonly tolerations?: DedicatedNodeToleration[];
}

/** Validates the placement and renders nodeSelector and tolerations. */
export function renderPlacement(
  scope: Construct,
  prop: string,
  d: DedicatedNodes,
): {
  nodeSelector: Record<string, string>;
  tolerations: Array<{ key: string; operator: string; value?: string; effect: string }>;
} {
  const nodeSelector = requireLabels(scope, `${prop}.nodeSelector`, d?.nodeSelector);
  if (Object.keys(nodeSelector).length === 0) {
    throw new BlueprintPropError(
      scope,
      `${prop}.nodeSelector`,
      d?.nodeSelector,
      'is empty, so it does not dedicate any node',
      'name the label of the dedicated nodes, e.g. { "hcb.dev/pool": "payments" }',
    );
  }
  const tolerations = (d.tolerations ?? []).map((t, i) => {
    if (!isLabelKey(t?.key))
      throw new BlueprintPropError(
        scope,
        `${prop}.tolerations[${i}].key`,
        t?.key,
        'is not a taint key',
        'use a label-style key such as "hcb.dev/dedicated"',
      );
    if (t.value !== undefined && !isLabelValue(t.value))
      throw new BlueprintPropError(
        scope,
        `${prop}.tolerations[${i}].value`,
        t.value,
        'is not a taint value',
        'use a label-style value',
      );
    const effect = t.effect ?? 'NoSchedule';
    if (!['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(effect)) {
      throw new BlueprintPropError(
        scope,
        `${prop}.tolerations[${i}].effect`,
        effect,
        'is not a taint effect',
        'use NoSchedule, PreferNoSchedule or NoExecute',
      );
    }
    return t.value === undefined
      ? { key: t.key, operator: 'Exists', effect }
      : { key: t.key, operator: 'Equal', value: t.value, effect };
  });
  return { nodeSelector, tolerations };
}
