/**
 * stacks/apply.ts `handOff`: how cluster objects reach Pulumi. Runs the program part under
 * Pulumi's mocks (no engine, no provider) and records what is registered: with `configgroup`
 * (the product) one Kubernetes resource per object under the two groups; for `yaml-v2` the
 * transform that retains the namespace's `default` ServiceAccount (the mocks support no
 * transforms and do not run the provider that registers yaml/v2's children: bench/pulumi.ts and
 * the e2e tests exercise those). Also the internal switch.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { handOff, handoffFromEnv, retainControllerOwnedV2 } from '../../../stacks/apply';
import type { KubeObject } from '../../../policies/model';

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const registered: Registered[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (a: pulumi.runtime.MockResourceArgs) => {
        registered.push({ type: a.type, name: a.name, inputs: a.inputs as Record<string, unknown> });
        return { id: `${a.name}-id`, state: a.inputs };
      },
      call: (a: pulumi.runtime.MockCallArgs) => a.inputs,
    },
    'hcb',
    'unit',
    false,
  );
});

const objects: KubeObject[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'team-a' } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'team-a' }, data: { a: 'b' } },
] as KubeObject[];

function settle(resources: pulumi.Resource[]): Promise<unknown> {
  return new Promise((resolve) => pulumi.all(resources.map((r) => r.urn)).apply(resolve));
}

test('the switch: unset or configgroup is the product, yaml-v2 the alternative, anything else is refused', () => {
  expect(handoffFromEnv({})).toBe('configgroup');
  expect(handoffFromEnv({ HCB_PULUMI_HANDOFF: 'configgroup' })).toBe('configgroup');
  expect(handoffFromEnv({ HCB_PULUMI_HANDOFF: 'yaml-v2' })).toBe('yaml-v2');
  expect(() => handoffFromEnv({ HCB_PULUMI_HANDOFF: 'v2' })).toThrow(/HCB_PULUMI_HANDOFF=v2 is not a hand-off/);
});

test('configgroup: one Kubernetes resource per object under two ConfigGroups', async () => {
  registered.length = 0;
  const provider = new k8s.Provider('p1', {});
  const groups = handOff('blueprint', objects, { provider, handoff: 'configgroup' });
  await settle(groups);
  // Let the children (created from the groups' outputs) register too.
  await new Promise((r) => setTimeout(r, 200));
  const kinds = registered.filter((r) => r.type.startsWith('kubernetes:') && !r.type.startsWith('kubernetes:yaml'));
  expect(kinds.map((r) => r.type).sort()).toEqual([
    'kubernetes:core/v1:ConfigMap',
    'kubernetes:core/v1:Namespace',
    'kubernetes:core/v1:ServiceAccount',
  ]);
  expect(groups.map((g) => (g as unknown as { __pulumiType: string }).__pulumiType)).toEqual([
    'kubernetes:yaml:ConfigGroup',
    'kubernetes:yaml:ConfigGroup',
  ]);
});

test('yaml-v2: the transform retains only the namespace default ServiceAccount on delete', async () => {
  // Pulumi's mocks support no transforms, so the yaml-v2 groups themselves are exercised by
  // bench/pulumi.ts and the e2e tests; here the transform their children go through.
  const args = (type: string, name: string, custom = true): pulumi.ResourceTransformArgs => ({
    type,
    name,
    custom,
    props: { metadata: { name } },
    opts: { protect: false },
  });
  const sa = await retainControllerOwnedV2(args('kubernetes:core/v1:ServiceAccount', 'default'));
  expect(sa?.opts).toEqual({ protect: false, retainOnDelete: true });
  expect(await retainControllerOwnedV2(args('kubernetes:core/v1:ServiceAccount', 'app'))).toBeUndefined();
  expect(await retainControllerOwnedV2(args('kubernetes:core/v1:ConfigMap', 'default'))).toBeUndefined();
  expect(await retainControllerOwnedV2(args('kubernetes:core/v1:ServiceAccount', 'default', false))).toBeUndefined();
});
