import { BlueprintPropError } from '../../../../constructs/common/errors';
import { HardenedControlPlaneProps } from '../../../../constructs/control-plane';
import { build, buildError } from './support';

/** Expects a BlueprintPropError naming the construct path, the prop, the value and a fix. */
function expectPropError(props: HardenedControlPlaneProps, prop: string, problem: RegExp): BlueprintPropError {
  const e = buildError(props);
  expect(e).toBeInstanceOf(BlueprintPropError);
  const err = e as BlueprintPropError;
  expect(err.prop).toBe(prop);
  expect(err.constructPath).toMatch(/^cp(\/|$)/);
  expect(err.message).toMatch(problem);
  expect(err.fix.length).toBeGreaterThan(5);
  expect(err.message).toContain('Fix:');
  return err;
}

describe('bad props fail at construction with a clear error', () => {
  test('an unknown cipher suite', () => {
    const e = expectPropError(
      { tls: { cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_MADE_UP_SUITE'] } },
      'tls.cipherSuites',
      /unknown cipher suite/,
    );
    expect(e.value).toBe('TLS_MADE_UP_SUITE');
    expect(e.fix).toContain('TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384');
  });

  test('a known but weak cipher suite (CBC, static RSA)', () => {
    expectPropError(
      { tls: { cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA'] } },
      'tls.cipherSuites',
      /not approved: CBC/,
    );
    expectPropError(
      { tls: { cipherSuites: ['TLS_RSA_WITH_AES_128_GCM_SHA256'] } },
      'tls.cipherSuites',
      /no forward secrecy/,
    );
  });

  test('an empty cipher suite list', () => {
    expectPropError({ tls: { cipherSuites: [] } }, 'tls.cipherSuites', /empty/);
  });

  test('TLS 1.0 and 1.1', () => {
    expectPropError({ tls: { minVersion: 'VersionTLS10' as never } }, 'tls.minVersion', /TLS 1\.2 and TLS 1\.3/);
    expectPropError({ tls: { minVersion: 'VersionTLS11' as never } }, 'tls.minVersion', /TLS 1\.2 and TLS 1\.3/);
  });

  test('an empty encryption key name', () => {
    const e = expectPropError({ encryption: { keys: [''] } }, 'keys[0]', /key name is empty/);
    expect(e.constructPath).toBe('cp/Encryption');
  });

  test('an invalid or duplicated encryption key name, or no key at all', () => {
    expectPropError({ encryption: { keys: ['Key With Spaces'] } }, 'keys[0]', /not a valid key name/);
    expectPropError({ encryption: { keys: ['k1', 'k1'] } }, 'keys[1]', /listed twice/);
    expectPropError({ encryption: { keys: [] } }, 'keys', /no key/);
  });

  test('identity or an unknown provider as the write provider', () => {
    expectPropError({ encryption: { provider: 'identity' as never } }, 'provider', /not a strong encryption provider/);
  });

  test('a catch-all None audit rule before the required ones', () => {
    const e = expectPropError(
      { audit: { precedingRules: [{ level: 'None' }] } },
      'precedingRules[0]',
      /required rule "credentials-metadata-only"/,
    );
    expect(e.constructPath).toBe('cp/AuditPolicy');
  });

  test('a None rule for some users only still may not hide the required events', () => {
    expectPropError(
      { audit: { precedingRules: [{ level: 'None', users: ['system:serviceaccount:ci:deployer'] }] } },
      'precedingRules[0]',
      /comes first/,
    );
  });

  test('a preceding rule that would log Secret bodies', () => {
    expectPropError(
      { audit: { precedingRules: [{ level: 'RequestResponse', resources: [{ group: '', resources: ['secrets'] }] }] } },
      'precedingRules[0]',
      /credentials-metadata-only/,
    );
  });

  test('a preceding None rule for pods/* hides exec', () => {
    expectPropError(
      { audit: { precedingRules: [{ level: 'None', resources: [{ group: '', resources: ['pods/*'] }] }] } },
      'precedingRules[0]',
      /pod-access/,
    );
  });

  test('narrow preceding exclusions are accepted', () => {
    expect(() =>
      build({ audit: { precedingRules: [{ level: 'None', nonResourceURLs: ['/openapi*'] }] } }),
    ).not.toThrow();
    expect(() =>
      build({
        audit: {
          precedingRules: [
            { level: 'None', verbs: ['get', 'list'], resources: [{ group: 'apps', resources: ['deployments'] }] },
          ],
        },
      }),
    ).not.toThrow();
    expect(() =>
      build({ audit: { additionalRules: [{ level: 'None', users: ['system:kube-proxy'] }] } }),
    ).not.toThrow();
  });

  test('None as the catch-all audit level', () => {
    expectPropError({ audit: { defaultLevel: 'None' as never } }, 'defaultLevel', /must record something/);
  });

  test('ports out of range', () => {
    expectPropError({ apiServerPort: 0 }, 'apiServerPort', /not a TCP port/);
    expectPropError({ apiServerPort: 70000 }, 'apiServerPort', /not a TCP port/);
    expectPropError({ etcdClientPort: 65536 }, 'etcdClientPort', /not a TCP port/);
    expectPropError({ etcdPeerPort: -1 }, 'etcdPeerPort', /not a TCP port/);
    expectPropError({ etcdMetricsPort: 1.5 }, 'etcdMetricsPort', /not a TCP port/);
    expectPropError({ controllerManagerPort: 0 }, 'controllerManagerPort', /not a TCP port/);
    expectPropError({ schedulerPort: 99999 }, 'schedulerPort', /not a TCP port/);
  });

  test('two endpoints on the same port', () => {
    expectPropError({ schedulerPort: 10257 }, 'schedulerPort', /already used by "controllerManagerPort"/);
    expectPropError({ apiServerPort: 10250 }, 'kubeletPort', /already used by "apiServerPort"/);
  });

  test('non-default etcd ports without an address or node name', () => {
    expectPropError({ etcdClientPort: 12379, nodeName: 'n1' }, 'advertiseAddress', /explicit advertise address/);
    expectPropError({ etcdClientPort: 12379, advertiseAddress: '192.0.2.10' }, 'nodeName', /explicit node name/);
  });

  test('bad addresses, names, subnets and versions', () => {
    expectPropError({ advertiseAddress: 'localhost' }, 'advertiseAddress', /not an IPv4 or IPv6 address/);
    expectPropError(
      { loopbackOnly: true, advertiseAddress: '192.0.2.10' },
      'advertiseAddress',
      /not a loopback address/,
    );
    expectPropError({ nodeName: 'Node_1' }, 'nodeName', /RFC 1123/);
    expectPropError({ serviceSubnet: '10.96.0.0' }, 'serviceSubnet', /not a CIDR/);
    expectPropError({ kubernetesVersion: 'stable' }, 'kubernetesVersion', /not an exact Kubernetes version/);
    expectPropError({ certSANs: ['bad name!'] }, 'certSANs[0]', /not an IP address or DNS name/);
    expectPropError({ profile: 'paranoid' as never }, 'profile', /unknown protection profile/);
  });

  test('API server props that would weaken it', () => {
    expectPropError(
      { apiServer: { extraAdmissionPlugins: ['AlwaysAdmit'] } },
      'apiServer.extraAdmissionPlugins[0]',
      /defeats admission control/,
    );
    expectPropError(
      { apiServer: { extraAdmissionPlugins: ['NoSuchPlugin'] } },
      'apiServer.extraAdmissionPlugins[0]',
      /unknown admission plugin/,
    );
    expectPropError(
      { apiServer: { disableAdmissionPlugins: ['NodeRestriction'] } },
      'apiServer.disableAdmissionPlugins[0]',
      /requires this plugin/,
    );
    expectPropError(
      { apiServer: { featureGates: { AllAlpha: true } } },
      'apiServer.featureGates.AllAlpha',
      /alpha features/,
    );
    expectPropError({ apiServer: { requestTimeout: '0s' } }, 'apiServer.requestTimeout', /between 1s and 5m/);
    expectPropError(
      { apiServer: { extraArgs: { profiling: 'true' } } },
      'apiServer.extraArgs.profiling',
      /sets or forbids/,
    );
    expectPropError(
      { apiServer: { extraArgs: { 'anonymous-auth': 'true' } } },
      'apiServer.extraArgs.anonymous-auth',
      /sets or forbids/,
    );
    expectPropError(
      { apiServer: { extraArgs: { 'runtime-config': 'api/alpha=true' } } },
      'apiServer.extraArgs.runtime-config',
      /sets or forbids/,
    );
    expectPropError({ apiServer: { anonymousPaths: ['/api'] } }, 'anonymousPaths[0]', /only allowed to health/);
  });

  test('kubelet props that would weaken it', () => {
    expectPropError(
      { kubelet: { streamingConnectionIdleTimeout: '0s' } },
      'streamingConnectionIdleTimeout',
      /at least 5m/,
    );
    expectPropError(
      { kubelet: { streamingConnectionIdleTimeout: 'forever' } },
      'streamingConnectionIdleTimeout',
      /not a Go duration/,
    );
    expectPropError({ kubelet: { eventRecordQPS: 0 } }, 'eventRecordQPS', /integer from 1/);
    expectPropError({ kubelet: { featureGates: { AllAlpha: true } } }, 'featureGates.AllAlpha', /alpha features/);
  });

  test('audit log settings', () => {
    expectPropError({ audit: { log: { maxAgeDays: 0 } } }, 'audit.log.maxAgeDays', /integer from 1/);
    expectPropError({ audit: { log: { path: 'audit.log' } } }, 'audit.log.path', /not an absolute path/);
    expectPropError({ audit: { log: { path: '/var/log/audit.log' } } }, 'audit.log.path', /mounted writable/);
  });

  test('file modes looser than the STIG allows', () => {
    expectPropError({ fileModes: { pkiKeyMode: 0o644 } }, 'pkiKeyMode', /more than 0600/);
    expectPropError({ fileModes: { pkiCertMode: 0o666 } }, 'pkiCertMode', /more than 0644/);
  });

  test('PKI lifetimes and algorithms', () => {
    expectPropError({ pki: { certificateValidityPeriod: '17520h' } }, 'pki.certificateValidityPeriod', /one year/);
    expectPropError({ pki: { keyAlgorithm: 'DSA-1024' as never } }, 'pki.keyAlgorithm', /not a key algorithm/);
  });
});
