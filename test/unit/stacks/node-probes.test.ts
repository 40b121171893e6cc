// The node probes' verdicts (one definition for the local node and for hosts): each insecure answer fails,
// each unclear answer is an error, never a pass.
import { kubeletProbePorts, NodeProbeResult, nodeProbeFindings } from '../../../stacks/local/node-probes';

const secure: NodeProbeResult = {
  verified: { status: 401 },
  readOnly: { '10255': 'refused' },
  proxyMetrics: 'refused',
};
const ctx = {
  host: '198.18.0.2',
  port: 10250,
  proxyMetricsPort: 10249,
  proxyMetricsUnknown: 'unknown',
  reachedBy: 'pods',
};
const verdicts = (r: NodeProbeResult, o = ctx) =>
  Object.fromEntries(nodeProbeFindings(r, o).map((f) => [f.control, f.status]));

test('a hardened node passes all four', () => {
  expect(verdicts(secure)).toEqual({
    'HCB-KUBELET-ANONYMOUS-AUTH': 'pass',
    'HCB-KUBELET-SERVING-CERT': 'pass',
    'HCB-KUBELET-READ-ONLY-PORT': 'pass',
    'HCB-KUBE-PROXY-METRICS-LOOPBACK': 'pass',
  });
});

test.each<[string, NodeProbeResult, string, string]>([
  ['anonymous request served', { ...secure, verified: { status: 200 } }, 'HCB-KUBELET-ANONYMOUS-AUTH', 'fail'],
  [
    'anonymous request forbidden (authorized, not authenticated away)',
    { ...secure, verified: { status: 403 } },
    'HCB-KUBELET-ANONYMOUS-AUTH',
    'fail',
  ],
  [
    'no answer at all',
    { ...secure, verified: { error: 'ECONNREFUSED' }, unverified: { error: 'ECONNREFUSED' } },
    'HCB-KUBELET-ANONYMOUS-AUTH',
    'error',
  ],
  [
    'serving certificate not from the CA',
    { ...secure, verified: { error: 'SELF_SIGNED' }, unverified: { status: 401 } },
    'HCB-KUBELET-SERVING-CERT',
    'fail',
  ],
  [
    'read-only port open',
    { ...secure, readOnly: { '10255': 'refused', '10266': 'open' } },
    'HCB-KUBELET-READ-ONLY-PORT',
    'fail',
  ],
  [
    'read-only port timed out',
    { ...secure, readOnly: { '10255': { other: 'timeout' } } },
    'HCB-KUBELET-READ-ONLY-PORT',
    'error',
  ],
  ['no read-only port probed', { ...secure, readOnly: {} }, 'HCB-KUBELET-READ-ONLY-PORT', 'error'],
  ['metrics open on the node address', { ...secure, proxyMetrics: 'open' }, 'HCB-KUBE-PROXY-METRICS-LOOPBACK', 'fail'],
  ['metrics not asked', { ...secure, proxyMetrics: undefined }, 'HCB-KUBE-PROXY-METRICS-LOOPBACK', 'error'],
])('%s', (_what, r, control, status) => {
  expect(verdicts(r)[control]).toBe(status);
});

test('an unknown kube-proxy metrics port is not evaluated, with the reason', () => {
  const f = nodeProbeFindings(secure, {
    ...ctx,
    proxyMetricsPort: undefined,
    proxyMetricsUnknown: 'kube-proxy is not running',
  });
  const m = f.find((x) => x.control === 'HCB-KUBE-PROXY-METRICS-LOOPBACK')!;
  expect([m.status, m.message]).toEqual(['not-evaluated', 'Not evaluated: kube-proxy is not running.']);
  expect(verdicts(secure, { ...ctx, proxyMetricsPort: Number.NaN })['HCB-KUBE-PROXY-METRICS-LOOPBACK']).toBe(
    'not-evaluated',
  );
});

test("the kubelet's ports: its own port, and 10255 plus any read-only port it sets", () => {
  expect(kubeletProbePorts({})).toEqual({ port: 10250, readOnlyPorts: [10255] });
  expect(kubeletProbePorts({ port: 11250, readOnlyPort: 0 })).toEqual({ port: 11250, readOnlyPorts: [10255] });
  expect(kubeletProbePorts({ readOnlyPort: 10266 })).toEqual({ port: 10250, readOnlyPorts: [10255, 10266] });
  expect(kubeletProbePorts({ port: '10250' })).toEqual({ port: 10250, readOnlyPorts: [10255] });
});
