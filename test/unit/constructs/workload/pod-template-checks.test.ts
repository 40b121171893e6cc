/**
 * checkPodSpec is the catalogue's workload checks run on one rendered pod spec: no second copy of
 * the rules (the copy it replaced compared capability names case-sensitively, the catalogue does not).
 */
import { CATALOGUE } from '../../../../policies/catalogue';
import { remediationText } from '../../../../policies/control';
import { evaluate } from '../../../../policies/engine';
import {
  CONSTRUCT_TIME_WORKLOAD_CONTROLS,
  checkPodSpec,
  PodSpecKind,
} from '../../../../constructs/workload/pod-template-checks';
import { fixtureFiles, loadFixture } from '../../policies/fixture-loader';

/** A pod spec every construct-time control passes. */
function good(over: Record<string, unknown> = {}, container: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    serviceAccountName: 'web',
    securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'web',
        image: 'registry.example/web@sha256:' + 'a'.repeat(64),
        securityContext: {
          allowPrivilegeEscalation: false,
          privileged: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        },
        resources: {
          requests: { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '64Mi' },
          limits: { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '1Gi' },
        },
        livenessProbe: { httpGet: { path: '/', port: 8080 } },
        readinessProbe: { httpGet: { path: '/', port: 8080 } },
        ...container,
      },
    ],
    ...over,
  };
}

const caps = (capabilities: Record<string, unknown>) =>
  good({}, { securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities } });
const capabilityProblems = (spec: Record<string, unknown>) =>
  checkPodSpec(spec).filter((p) => p.startsWith('HCB-WORKLOAD-CAPABILITIES '));

describe('checkPodSpec', () => {
  it('passes a hardened spec', () => {
    expect(checkPodSpec(good())).toEqual([]);
  });

  it('reads capability names without regard to case, as the container runtime does', () => {
    // containerd (internal/cri/opts/spec_opts.go) upper-cases every name and compares "ALL" with EqualFold.
    expect(capabilityProblems(caps({ drop: ['all'] }))).toEqual([]);
    expect(capabilityProblems(caps({ drop: ['All'], add: ['net_bind_service'] }))).toEqual([]);
    const added = capabilityProblems(caps({ drop: ['all'], add: ['sys_admin'] }));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/web: adds sys_admin/);
    expect(capabilityProblems(caps({ drop: ['NET_RAW'] }))[0]).toMatch(/web: capabilities.drop does not include ALL/);
  });

  it('writes the control, its framework IDs and title, what was found, and the fix', () => {
    const [p] = checkPodSpec(
      good(
        {},
        {
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            privileged: true,
          },
        },
      ),
    );
    const c = CATALOGUE.find((x) => x.id === 'HCB-WORKLOAD-PRIVILEGED')!;
    expect(p).toBe(
      `HCB-WORKLOAD-PRIVILEGED (CIS 5.2.2, BSI APP.4.4.A4, CCN CCN-CL-16): ${c.title}: web: privileged: true. Fix: ${remediationText(c.remediation)}`,
    );
  });

  it('decides by the kind that carries the spec: a Job or CronJob needs no probes', () => {
    const noProbes = good({}, { livenessProbe: undefined, readinessProbe: undefined });
    for (const kind of ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'] as PodSpecKind[]) {
      expect(checkPodSpec(noProbes, kind).map((p) => p.split(' ')[0])).toEqual(['HCB-WORKLOAD-PROBES']);
    }
    for (const kind of ['Job', 'CronJob'] as PodSpecKind[]) expect(checkPodSpec(noProbes, kind)).toEqual([]);
  });

  it('only the probe control mentions probes (PodRestartSchedule leaves those out for its job)', () => {
    const bad = checkPodSpec({
      hostPID: true,
      containers: [{ name: 'x', securityContext: { privileged: true } }],
      volumes: [{ name: 'h', hostPath: { path: '/' } }],
    });
    expect(bad.length).toBeGreaterThan(10);
    expect(bad.filter((p) => p.includes('probe')).map((p) => p.split(' ')[0])).toEqual(['HCB-WORKLOAD-PROBES']);
  });

  it('refuses what it cannot check instead of passing it', () => {
    expect(checkPodSpec(undefined)).toEqual(['no pod spec']);
    expect(checkPodSpec({ containers: [] })).toEqual(['no containers']);
  });

  it('says what the catalogue says on every workload fixture of its controls', () => {
    const controls = CATALOGUE.filter((c) => CONSTRUCT_TIME_WORKLOAD_CONTROLS.includes(c.id));
    expect(controls).toHaveLength(CONSTRUCT_TIME_WORKLOAD_CONTROLS.length);
    let compared = 0;
    for (const control of controls) {
      for (const file of [...fixtureFiles(control.id, 'pass'), ...fixtureFiles(control.id, 'fail')]) {
        const docs = loadFixture(file);
        // Fixtures of one pod template and nothing it could be decided with (LimitRanges, namespaces).
        const workloads = docs.filter((d) =>
          ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'].includes(
            String(d.object.kind),
          ),
        );
        if (workloads.length !== 1 || docs.length !== 1) continue;
        const o = workloads[0].object as Record<string, any>;
        const kind = o.kind as PodSpecKind;
        const spec =
          kind === 'Pod'
            ? o.spec
            : kind === 'CronJob'
              ? o.spec?.jobTemplate?.spec?.template?.spec
              : o.spec?.template?.spec;
        if (!spec?.containers?.length || o.metadata?.namespace === 'kube-system') continue;
        const engine = evaluate(docs, { controls: [control] }).some(
          (f) => f.status !== 'pass' && f.status !== 'not-applicable',
        );
        const construct = checkPodSpec(spec, kind).some((p) => p.startsWith(`${control.id} `));
        expect({ file, fails: construct }).toEqual({ file, fails: engine });
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(20);
  });
});
