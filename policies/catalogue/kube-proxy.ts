/**
 * kube-proxy: where its metrics server listens. Judged on the KubeProxyConfiguration (the
 * blueprint puts it into the kubeadm configuration) and, under `hcb verify`, on the running
 * kube-proxy: its command line and the file its --config names, read as kube-proxy reads them
 * (policies/flags/kube-proxy.ts: with --config the file replaces every configuration flag).
 */
import { ControlRecord } from '../control';
import { notEvaluated, result } from '../checks/helpers';
import { CheckContext, CheckResult } from '../control';
import { kubeProxySubjects } from '../flags/kube-proxy';

function metricsCheck(ctx: CheckContext): CheckResult[] {
  const subjects = kubeProxySubjects(ctx.documents);
  if (subjects.length === 0)
    return [notEvaluated('no KubeProxyConfiguration and no running kube-proxy (KubeProxyProcess) in the input.')];
  return subjects.map((s) => {
    const ref = ctx.ref(s.document);
    if (s.notEvaluated || !s.metrics)
      return result('not-evaluated', `Not evaluated: ${s.notEvaluated ?? 'no configuration'}.`, ref);
    const m = s.metrics;
    const ignored =
      m.ignored.length > 0
        ? ` (${m.ignored.join(', ')} ${m.ignored.length === 1 ? 'is' : 'are'} ignored: kube-proxy takes every setting from the --config file)`
        : '';
    if (m.unreadable) return result('error', `${m.from}: ${m.unreadable}.`, ref);
    if (m.invalid) return result('fail', `${m.from}: ${m.invalid}.${ignored}`, ref);
    return m.loopback
      ? result('pass', `kube-proxy serves metrics on ${m.address}, loopback only; from ${m.from}${ignored}.`, ref)
      : result(
          'fail',
          `kube-proxy serves metrics on ${m.address}, reachable beyond the node's loopback: /metrics and /configz (and /debug/pprof with profiling) answer without authentication; from ${m.from}${ignored}.`,
          ref,
        );
  });
}

export const KUBE_PROXY_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-KUBE-PROXY-METRICS-LOOPBACK',
    title: 'kube-proxy serves its metrics endpoint on loopback only',
    rationale:
      'kube-proxy’s metrics server has no authentication: anyone who reaches it reads its metrics and its whole configuration (/configz), and with profiling on the Go profiler too. On loopback only the node itself reaches it; pods and other networks do not.',
    severity: 'medium',
    frameworks: { bsi: ['APP.4.4.A7'] },
    responsibility: 'provider',
    automation: 'automated',
    remediation: [
      {
        construct: 'HardenedControlPlane',
        prop: 'kubeProxy',
        text: "the blueprint's kube-proxy configuration; it renders metricsBindAddress 127.0.0.1:10249.",
      },
      {
        text: "On a running node, set metricsBindAddress to a loopback IP:port in the file kube-proxy's --config names: flags given beside --config are ignored.",
      },
    ],
    check: metricsCheck,
    probes: ['kube-proxy-metrics-port'],
  },
];
