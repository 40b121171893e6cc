// Feature gates of every component go through one check: AllAlpha=true (STIG V-242400) and values
// that are not { GateName: boolean } are refused with the prop path of the component's gates.
import { BlueprintPropError } from '../../../../constructs/common/errors';
import { HardenedControlPlaneProps } from '../../../../constructs/control-plane';
import { build, buildError } from './support';

const GATE_PROPS: Array<[string, (gates: Record<string, boolean>) => HardenedControlPlaneProps]> = [
  ['apiServer.featureGates', (featureGates) => ({ apiServer: { featureGates } })],
  ['controllerManager.featureGates', (featureGates) => ({ controllerManager: { featureGates } })],
  ['featureGates', (featureGates) => ({ kubelet: { featureGates } })],
];

function propError(props: HardenedControlPlaneProps): BlueprintPropError {
  const e = buildError(props);
  expect(e).toBeInstanceOf(BlueprintPropError);
  return e as BlueprintPropError;
}

describe.each(GATE_PROPS)('%s', (prefix, props) => {
  test('AllAlpha=true is refused (STIG V-242400); AllAlpha=false and named gates are accepted', () => {
    const err = propError(props({ AllAlpha: true }));
    expect([err.prop, err.value, err.fix]).toEqual([`${prefix}.AllAlpha`, true, 'remove AllAlpha']);
    expect(err.message).toMatch(/alpha features must not be enabled \(STIG V-242400\)/);
    expect(() => build(props({ AllAlpha: false, SomeBetaFeature: true }))).not.toThrow();
  });

  test('a value that is not a boolean, or a name that is not a gate name, is refused with its own prop path', () => {
    const notBool = propError(props({ SomeFeature: 'yes' as unknown as boolean }));
    expect([notBool.prop, notBool.value]).toEqual([`${prefix}.SomeFeature`, 'yes']);
    expect(notBool.message).toMatch(/not a feature gate setting/);
    expect(notBool.fix).toBe('use { GateName: true|false }');
    expect(propError(props({ 'some-feature': true })).prop).toBe(`${prefix}.some-feature`);
  });
});
