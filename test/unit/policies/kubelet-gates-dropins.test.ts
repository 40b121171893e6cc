/**
 * The feature-gate controls read a kubelet's featureGates like every other kubelet check: when the
 * kubelet names a --config-dir whose drop-ins are not in the input, the gates are unknown and the
 * result is not-evaluated (a drop-in could turn AllAlpha on), never pass; a drop-in that stops the
 * kubelet fails. (Fail fixtures cover a drop-in in the input that turns a gate on.)
 */
import { CATALOGUE } from '../../../policies/catalogue';
import { evaluate } from '../../../policies/engine';
import { parseText } from '../../../policies/input';

const NOW = new Date('2026-11-29T00:00:00Z');
const GATE_CONTROLS = ['HCB-APISERVER-ALPHA-APIS', 'HCB-FEATURE-DYNAMIC-KUBELET-CONFIG'];

function kubeletResults(text: string) {
  const parsed = parseText(text, 'kubelet.yaml');
  expect(parsed.errors).toEqual([]);
  return evaluate(parsed.documents, {
    controls: CATALOGUE.filter((c) => GATE_CONTROLS.includes(c.id)),
    now: NOW,
  }).filter((f) => f.object?.kind === 'KubeletConfiguration');
}

const FILE_GATES_OFF = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
featureGates: {AllAlpha: false, DynamicKubeletConfig: false}
`;

describe('feature gates of a kubelet with drop-ins', () => {
  it('drop-ins named but not in the input → not-evaluated for every gate control (was: pass)', () => {
    const results = kubeletResults(`${FILE_GATES_OFF}---
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
nodeRegistration:
  kubeletExtraArgs:
  - {name: config-dir, value: /etc/kubernetes/kubelet.conf.d}
`);
    expect(results.map((f) => [f.control, f.status]).sort()).toEqual(
      GATE_CONTROLS.map((c) => [c, 'not-evaluated']).sort(),
    );
    for (const f of results) expect(f.message).toMatch(/--config-dir=\/etc\/kubernetes\/kubelet\.conf\.d/);
  });

  it('the same kubelet without --config-dir passes (positive control)', () => {
    expect(kubeletResults(FILE_GATES_OFF).map((f) => f.status)).toEqual(['pass', 'pass']);
  });

  it('a --feature-gates flag that sets the gate decides even when drop-ins are missing (flags win over drop-ins)', () => {
    const results = kubeletResults(`${FILE_GATES_OFF}---
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
nodeRegistration:
  kubeletExtraArgs:
  - {name: config-dir, value: /etc/kubernetes/kubelet.conf.d}
  - {name: feature-gates, value: "AllAlpha=true"}
`);
    expect(results.find((f) => f.control === 'HCB-APISERVER-ALPHA-APIS')!.status).toBe('fail');
    expect(results.find((f) => f.control === 'HCB-FEATURE-DYNAMIC-KUBELET-CONFIG')!.status).toBe('not-evaluated');
  });
});
