/**
 * The hosts target's cluster objects are a function of the stack's config alone: synthesizing the
 * same spec again (another `pulumi up`, another day) renders byte-identical objects, and the
 * catalogue's admission policies of a hosts cluster are those of any other target (the kube-system
 * PodSecurity exemption hostsBlueprintSpec adds does not reach them). Otherwise every `up` would
 * update them (e2e pulumi-hosts, "a second pulumi up changes nothing").
 */
import { ADMISSION_POLICY_CONTROLS } from '../../../constructs';
import { synthesizeBlueprint } from '../../../constructs/blueprint';
import type { HostsTargetSpec } from '../../../stacks/hosts/config';
import { hostsBlueprintSpec } from '../../../stacks/hosts/program';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICbGp5dTJf0264nGwUsMHwpYo4AXTWkv49Ea4R/aqWjq';
const hosts: HostsTargetSpec = {
  hosts: [
    {
      name: 'h4cp1',
      address: '198.18.4.2',
      port: 22,
      user: 'root',
      role: 'control-plane',
      hostKey: KEY,
      hostKeyFingerprint: 'SHA256:x',
    },
  ],
};
const ADMISSION_KINDS = new Set(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

function render(spec: Parameters<typeof synthesizeBlueprint>[0]): string[] {
  return synthesizeBlueprint(spec).clusterObjects.map((o) => JSON.stringify(o));
}

afterEach(() => jest.useRealTimers());

test('the hosts blueprint renders the same cluster objects on every synthesis and on another day', () => {
  const spec = () =>
    hostsBlueprintSpec({ namespaces: [{ name: 'hcb-e2e-hosts' }] }, hosts, { stack: 'hosts-e2e-47690' });
  const first = render(spec());
  expect(first.length).toBeGreaterThan(15);
  expect(render(spec())).toEqual(first);
  // A later day (before the kube-system exemption's expiry): nothing date-dependent is rendered.
  jest.useFakeTimers({ now: new Date(Date.now() + 200 * 86_400_000), doNotFake: ['nextTick', 'setImmediate'] });
  expect(render(spec())).toEqual(first);
});

test('the admission policies of a hosts cluster are those of the same spec on another target', () => {
  const base = { namespaces: [{ name: 'hcb-e2e-hosts' }] };
  const admission = (objects: string[]) =>
    objects.filter((o) => ADMISSION_KINDS.has((JSON.parse(o) as { kind: string }).kind));
  const onHosts = admission(render(hostsBlueprintSpec(base, hosts, { stack: 'hosts-e2e-47690' })));
  // every admission control's validation is there (28 in 4 grouped policies)
  const validations = onHosts
    .map((o) => JSON.parse(o) as { kind: string; spec: { validations?: unknown[] } })
    .filter((o) => o.kind === 'ValidatingAdmissionPolicy')
    .flatMap((o) => o.spec.validations ?? []);
  expect(validations.length).toBe(ADMISSION_POLICY_CONTROLS.length);
  expect(onHosts).toEqual(admission(render(base)));
});
