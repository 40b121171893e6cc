import { DEFAULT_CIPHER_SUITES } from '../../../../constructs/control-plane';
import {
  ADMISSION_CONFIG_PATH,
  AUDIT_POLICY_PATH,
  AUTHENTICATION_CONFIG_PATH,
  ENCRYPTION_CONFIG_PATH,
  KUBEADM_CONFIG_PATH,
} from '../../../../constructs/control-plane/paths';
import { args, build, docs, file, kind, kubeadmDocs } from './support';

describe('HardenedControlPlane: kubeadm configuration', () => {
  const cp = build();
  const api = args(cp, 'apiServer');
  const cm = args(cp, 'controllerManager');
  const sched = args(cp, 'scheduler');
  const etcd = args(cp, 'etcd');

  test('the kubeadm config file holds Init, Cluster, Kubelet and KubeProxyConfiguration in that order', () => {
    const f = file(cp, KUBEADM_CONFIG_PATH);
    expect(f.role).toBe('kubeadm-config');
    expect(f.createdBy).toBe('blueprint');
    expect(f.mode).toBe(0o600);
    expect(docs(f.content!).map((d) => `${d.apiVersion}/${d.kind}`)).toEqual([
      'kubeadm.k8s.io/v1beta4/InitConfiguration',
      'kubeadm.k8s.io/v1beta4/ClusterConfiguration',
      'kubelet.config.k8s.io/v1beta1/KubeletConfiguration',
      'kubeproxy.config.k8s.io/v1alpha1/KubeProxyConfiguration',
    ]);
  });

  test('pins the Kubernetes version and renders no bootstrap token value, only a short lifetime for the one kubeadm init generates', () => {
    const d = kubeadmDocs(cp);
    expect(kind(d, 'ClusterConfiguration').kubernetesVersion).toBe('v1.36.3');
    // One entry without `token`: kubeadm generates the value at init (SetBootstrapTokensDynamicDefaults)
    // and would otherwise give it 24 h (bootstraptoken/v1 DefaultTokenDuration).
    expect(kind(d, 'InitConfiguration').bootstrapTokens).toEqual([{ ttl: '15m0s' }]);
    expect(file(cp, KUBEADM_CONFIG_PATH).content).not.toMatch(/[a-z0-9]{6}\.[a-z0-9]{16}/);
  });

  test('extraArgs are lists of {name, value}, sorted by name, without duplicates', () => {
    const cc = kind(kubeadmDocs(cp), 'ClusterConfiguration');
    for (const list of [
      cc.apiServer.extraArgs,
      cc.controllerManager.extraArgs,
      cc.scheduler.extraArgs,
      cc.etcd.local.extraArgs,
    ]) {
      const names = list.map((a: { name: string }) => a.name);
      expect(names).toEqual([...names].sort());
      expect(new Set(names).size).toBe(names.length);
      for (const a of list) expect(Object.keys(a)).toEqual(['name', 'value']);
    }
  });

  test('API server: anonymous access limited to health endpoints through --authentication-config', () => {
    expect(api['authentication-config']).toBe(AUTHENTICATION_CONFIG_PATH);
    expect(api['anonymous-auth']).toBeUndefined();
    const authn = kind(docs(file(cp, AUTHENTICATION_CONFIG_PATH).content!), 'AuthenticationConfiguration');
    expect(authn.apiVersion).toBe('apiserver.config.k8s.io/v1');
    expect(authn.anonymous).toEqual({
      enabled: true,
      conditions: [{ path: '/livez' }, { path: '/readyz' }, { path: '/healthz' }],
    });
  });

  test("API server: anonymousAuth 'disabled' sets --anonymous-auth=false and drops the authentication file", () => {
    const off = build({ apiServer: { anonymousAuth: 'disabled' } });
    expect(args(off, 'apiServer')['anonymous-auth']).toBe('false');
    expect(args(off, 'apiServer')['authentication-config']).toBeUndefined();
    expect(off.nodeFiles.some((f) => f.path === AUTHENTICATION_CONFIG_PATH)).toBe(false);
  });

  test('API server: Node,RBAC authorization and the required admission plugins', () => {
    expect(api['authorization-mode']).toBe('Node,RBAC');
    const plugins = api['enable-admission-plugins'].split(',');
    for (const p of [
      'NodeRestriction',
      'PodSecurity',
      'ServiceAccount',
      'NamespaceLifecycle',
      'ValidatingAdmissionWebhook',
      'EventRateLimit',
    ]) {
      expect(plugins).toContain(p);
    }
    expect(plugins).not.toContain('AlwaysAdmit');
    expect(api['disable-admission-plugins']).toBeUndefined();
    expect(api['admission-control-config-file']).toBe(ADMISSION_CONFIG_PATH);
  });

  test('API server: no alpha APIs, no insecure or token flags', () => {
    for (const flag of [
      'feature-gates',
      'runtime-config',
      'insecure-port',
      'insecure-bind-address',
      'token-auth-file',
      'basic-auth-file',
    ]) {
      expect(api[flag]).toBeUndefined();
    }
  });

  test('TLS 1.2 minimum with the approved suites on every component', () => {
    const suites = DEFAULT_CIPHER_SUITES.join(',');
    for (const a of [api, cm, sched]) {
      expect(a['tls-min-version']).toBe('VersionTLS12');
      expect(a['tls-cipher-suites']).toBe(suites);
    }
    expect(etcd['tls-min-version']).toBe('TLS1.2');
    expect(etcd['cipher-suites']).toBe(suites);
    const kubelet = kind(kubeadmDocs(cp), 'KubeletConfiguration');
    expect(kubelet.tlsMinVersion).toBe('VersionTLS12');
    expect(kubelet.tlsCipherSuites).toEqual(DEFAULT_CIPHER_SUITES);
  });

  test('API server: certificates, CA, etcd client TLS and kubelet serving certificate verification', () => {
    expect(api['client-ca-file']).toBe('/etc/kubernetes/pki/ca.crt');
    expect(api['tls-cert-file']).toBe('/etc/kubernetes/pki/apiserver.crt');
    expect(api['tls-private-key-file']).toBe('/etc/kubernetes/pki/apiserver.key');
    expect(api['etcd-cafile']).toBe('/etc/kubernetes/pki/etcd/ca.crt');
    expect(api['etcd-certfile']).toBe('/etc/kubernetes/pki/apiserver-etcd-client.crt');
    expect(api['etcd-keyfile']).toBe('/etc/kubernetes/pki/apiserver-etcd-client.key');
    expect(api['etcd-servers']).toBe('https://127.0.0.1:2379');
    expect(api['kubelet-certificate-authority']).toBe('/etc/kubernetes/pki/ca.crt');
  });

  test('API server: profiling off, request timeout, service-account lookup and keys', () => {
    expect(api.profiling).toBe('false');
    expect(api['request-timeout']).toBe('60s');
    expect(api['service-account-lookup']).toBe('true');
    expect(api['service-account-key-file']).toBe('/etc/kubernetes/pki/sa.pub');
    expect(api['service-account-signing-key-file']).toBe('/etc/kubernetes/pki/sa.key');
  });

  test('API server: audit log path and rotation, audit policy, encryption config', () => {
    expect(api['audit-log-path']).toBe('/var/log/kubernetes/audit/audit.log');
    expect(api['audit-log-maxage']).toBe('30');
    expect(api['audit-log-maxbackup']).toBe('10');
    expect(api['audit-log-maxsize']).toBe('100');
    expect(api['audit-log-format']).toBe('json');
    expect(api['audit-policy-file']).toBe(AUDIT_POLICY_PATH);
    expect(api['encryption-provider-config']).toBe(ENCRYPTION_CONFIG_PATH);
    expect(api['encryption-provider-config-automatic-reload']).toBe('true');
  });

  test('every file the API server reads is mounted read-only (File), the audit log directory writable', () => {
    const vols: Array<Record<string, unknown>> = kind(kubeadmDocs(cp), 'ClusterConfiguration').apiServer.extraVolumes;
    const byPath = new Map(vols.map((v) => [v.hostPath as string, v]));
    for (const p of [AUDIT_POLICY_PATH, ENCRYPTION_CONFIG_PATH, ADMISSION_CONFIG_PATH, AUTHENTICATION_CONFIG_PATH]) {
      expect(byPath.get(p)).toMatchObject({ hostPath: p, mountPath: p, readOnly: true, pathType: 'File' });
      // the file the flag names is also a node file the blueprint writes
      expect(file(cp, p).createdBy).toBe('blueprint');
    }
    expect(byPath.get('/var/log/kubernetes/audit')).toMatchObject({
      mountPath: '/var/log/kubernetes/audit',
      readOnly: false,
      pathType: 'DirectoryOrCreate',
    });
    expect(vols).toHaveLength(5);
  });

  test('controller manager and scheduler: loopback binding, profiling off, default ports', () => {
    expect(cm['bind-address']).toBe('127.0.0.1');
    expect(cm['secure-port']).toBe('10257');
    expect(cm.profiling).toBe('false');
    expect(cm['use-service-account-credentials']).toBe('true');
    expect(cm['root-ca-file']).toBe('/etc/kubernetes/pki/ca.crt');
    expect(cm['service-account-private-key-file']).toBe('/etc/kubernetes/pki/sa.key');
    expect(cm['terminated-pod-gc-threshold']).toBe('10');
    expect(cm['feature-gates']).toBe('RotateKubeletServerCertificate=true');
    expect(cm['cluster-signing-cert-file']).toBe('/etc/kubernetes/pki/ca.crt');
    expect(cm['cluster-signing-key-file']).toBe('/etc/kubernetes/pki/ca.key');
    expect(sched['bind-address']).toBe('127.0.0.1');
    expect(sched['secure-port']).toBe('10259');
    expect(sched.profiling).toBe('false');
    expect(cm.master).toBeUndefined();
  });

  test('etcd: client and peer TLS with client-certificate authentication, no auto TLS', () => {
    expect(etcd['client-cert-auth']).toBe('true');
    expect(etcd['peer-client-cert-auth']).toBe('true');
    expect(etcd['auto-tls']).toBe('false');
    expect(etcd['peer-auto-tls']).toBe('false');
    expect(etcd['cert-file']).toBe('/etc/kubernetes/pki/etcd/server.crt');
    expect(etcd['key-file']).toBe('/etc/kubernetes/pki/etcd/server.key');
    expect(etcd['trusted-ca-file']).toBe('/etc/kubernetes/pki/etcd/ca.crt');
    expect(etcd['peer-cert-file']).toBe('/etc/kubernetes/pki/etcd/peer.crt');
    expect(etcd['peer-key-file']).toBe('/etc/kubernetes/pki/etcd/peer.key');
    expect(etcd['peer-trusted-ca-file']).toBe('/etc/kubernetes/pki/etcd/ca.crt');
    // default ports: kubeadm's own URLs stay
    expect(etcd['listen-client-urls']).toBeUndefined();
  });

  test('self-controlled CA: kubeadm PKI with the profile key algorithm and bounded lifetimes', () => {
    const cc = kind(kubeadmDocs(cp), 'ClusterConfiguration');
    expect(cc.certificatesDir).toBe('/etc/kubernetes/pki');
    expect(cc.encryptionAlgorithm).toBe('RSA-3072');
    expect(cc.certificateValidityPeriod).toBe('8760h0m0s');
    expect(cc.caCertificateValidityPeriod).toBe('87600h0m0s');
  });

  test('no advertise address by default (kubeadm detects it); node name unset (no hostname override)', () => {
    const init = kind(kubeadmDocs(cp), 'InitConfiguration');
    expect(init.localAPIEndpoint).toEqual({ bindPort: 6443 });
    expect(init.nodeRegistration.name).toBeUndefined();
  });

  test('documents: every configuration as a parsed object', () => {
    expect(cp.documents.map((d) => d.kind)).toEqual([
      'InitConfiguration',
      'ClusterConfiguration',
      'KubeletConfiguration',
      'KubeProxyConfiguration',
      'Policy',
      'EncryptionConfiguration',
      'AdmissionConfiguration',
      'AuthenticationConfiguration',
      'BackupConfiguration',
    ]);
  });

  test('output is deterministic', () => {
    const again = build();
    expect(JSON.stringify(again.nodeFiles)).toBe(JSON.stringify(cp.nodeFiles));
  });
});

describe('HardenedControlPlane: KubeletConfiguration', () => {
  const k = kind(kubeadmDocs(build()), 'KubeletConfiguration');

  test('anonymous off, Webhook authentication and authorization, client CA', () => {
    expect(k.authentication.anonymous.enabled).toBe(false);
    expect(k.authentication.webhook.enabled).toBe(true);
    expect(k.authentication.x509.clientCAFile).toBe('/etc/kubernetes/pki/ca.crt');
    expect(k.authorization.mode).toBe('Webhook');
  });

  test('read-only port off, kernel defaults protected, stream timeout, seccomp default', () => {
    expect(k.readOnlyPort).toBe(0);
    expect(k.protectKernelDefaults).toBe(true);
    expect(k.streamingConnectionIdleTimeout).toBe('5m');
    expect(k.seccompDefault).toBe(true);
    expect(k.makeIPTablesUtilChains).toBe(true);
  });

  test('certificate rotation and server TLS bootstrap', () => {
    expect(k.rotateCertificates).toBe(true);
    expect(k.serverTLSBootstrap).toBe(true);
  });

  test('no hostname override; static pods only from the kubeadm manifests directory', () => {
    expect(k.hostnameOverride).toBeUndefined();
    expect(k.staticPodPath).toBe('/etc/kubernetes/manifests');
  });

  test('event and resource settings', () => {
    expect(k.eventRecordQPS).toBe(50);
    expect(k.eventBurst).toBe(100);
    expect(k.podPidsLimit).toBe(4096);
    expect(k.maxPods).toBe(110);
    expect(k.kubeReserved).toEqual({ cpu: '100m', memory: '256Mi' });
    expect(k.systemReserved).toEqual({ cpu: '100m', memory: '256Mi' });
    expect(k.evictionHard['memory.available']).toBe('200Mi');
    expect(k.containerLogMaxSize).toBe('10Mi');
    expect(k.containerLogMaxFiles).toBe(5);
  });

  test('props override the defaults', () => {
    const o = kind(
      kubeadmDocs(
        build({ kubelet: { streamingConnectionIdleTimeout: '30m', podPidsLimit: 2048, seccompDefault: false } }),
      ),
      'KubeletConfiguration',
    );
    expect(o.streamingConnectionIdleTimeout).toBe('30m');
    expect(o.podPidsLimit).toBe(2048);
    expect(o.seccompDefault).toBe(false);
  });
});

describe('HardenedControlPlane: profiles', () => {
  test('basic: restricted enforcement like every profile (STIG V-242437), no EventRateLimit, RSA-2048', () => {
    const cp = build({ profile: 'basic' });
    const psa = kind(docs(file(cp, ADMISSION_CONFIG_PATH).content!), 'AdmissionConfiguration');
    expect(psa.plugins.map((p: { name: string }) => p.name)).toEqual(['PodSecurity']);
    expect(psa.plugins[0].configuration.defaults.enforce).toBe('restricted');
    expect(psa.plugins[0].configuration.defaults.audit).toBe('restricted');
    expect(args(cp, 'apiServer')['enable-admission-plugins']).not.toContain('EventRateLimit');
    expect(kind(kubeadmDocs(cp), 'ClusterConfiguration').encryptionAlgorithm).toBe('RSA-2048');
  });

  test('high: TLS 1.3 everywhere (etcd without cipher suites), AlwaysPullImages, Request-level catch-all, stricter files', () => {
    const cp = build({ profile: 'high' });
    const api = args(cp, 'apiServer');
    expect(api['tls-min-version']).toBe('VersionTLS13');
    expect(api['enable-admission-plugins'].split(',')).toContain('AlwaysPullImages');
    expect(api['audit-log-maxage']).toBe('90');
    expect(args(cp, 'etcd')['tls-min-version']).toBe('TLS1.3');
    expect(args(cp, 'etcd')['cipher-suites']).toBeUndefined();
    expect(kind(kubeadmDocs(cp), 'ClusterConfiguration').encryptionAlgorithm).toBe('ECDSA-P384');
    const policy = kind(docs(file(cp, AUDIT_POLICY_PATH).content!), 'Policy');
    expect(policy.rules[policy.rules.length - 1]).toEqual({ level: 'Request' });
    expect(file(cp, '/etc/kubernetes/pki/ca.key').mode).toBe(0o400);
    expect(file(cp, '/etc/kubernetes/pki/ca.crt').mode).toBe(0o640);
    expect(kind(kubeadmDocs(cp), 'KubeletConfiguration').podPidsLimit).toBe(1024);
  });

  test('every profile setting can be overridden by props', () => {
    const cp = build({
      profile: 'high',
      tls: { minVersion: 'VersionTLS12' },
      apiServer: { alwaysPullImages: false },
      audit: { defaultLevel: 'Metadata' },
      pki: { keyAlgorithm: 'RSA-4096' },
    });
    expect(args(cp, 'apiServer')['tls-min-version']).toBe('VersionTLS12');
    expect(args(cp, 'apiServer')['enable-admission-plugins']).not.toContain('AlwaysPullImages');
    expect(kind(kubeadmDocs(cp), 'ClusterConfiguration').encryptionAlgorithm).toBe('RSA-4096');
  });
});

describe('HardenedControlPlane: ports and the local (loopback) target', () => {
  const local = build({
    loopbackOnly: true,
    nodeName: 'hcb-local',
    apiServerPort: 16443,
    etcdClientPort: 12379,
    etcdPeerPort: 12380,
    etcdMetricsPort: 12381,
    controllerManagerPort: 11257,
    schedulerPort: 11259,
  });

  test('non-default etcd ports: etcd URLs and --etcd-servers follow', () => {
    const etcd = args(local, 'etcd');
    expect(etcd['listen-client-urls']).toBe('https://127.0.0.1:12379');
    expect(etcd['advertise-client-urls']).toBe('https://127.0.0.1:12379');
    expect(etcd['listen-peer-urls']).toBe('https://127.0.0.1:12380');
    expect(etcd['initial-advertise-peer-urls']).toBe('https://127.0.0.1:12380');
    expect(etcd['initial-cluster']).toBe('hcb-local=https://127.0.0.1:12380');
    expect(etcd['listen-metrics-urls']).toBe('http://127.0.0.1:12381');
    expect(args(local, 'apiServer')['etcd-servers']).toBe('https://127.0.0.1:12379');
  });

  test('loopback: API server advertises and binds to 127.0.0.1, kubeconfigs and components point there', () => {
    const api = args(local, 'apiServer');
    expect(api['advertise-address']).toBe('127.0.0.1');
    expect(api['bind-address']).toBe('127.0.0.1');
    const d = kubeadmDocs(local);
    // kubeadm refuses a loopback localAPIEndpoint.advertiseAddress, so it is not written
    expect(kind(d, 'InitConfiguration').localAPIEndpoint).toEqual({ bindPort: 16443 });
    expect(kind(d, 'InitConfiguration').nodeRegistration.name).toBe('hcb-local');
    expect(kind(d, 'ClusterConfiguration').controlPlaneEndpoint).toBe('127.0.0.1:16443');
    expect(args(local, 'controllerManager').master).toBe('https://127.0.0.1:16443');
    expect(args(local, 'scheduler').master).toBe('https://127.0.0.1:16443');
    expect(args(local, 'controllerManager')['secure-port']).toBe('11257');
    expect(args(local, 'scheduler')['secure-port']).toBe('11259');
  });

  test('loopback: serviceAdvertiseAddress becomes the API server advertise address (the kubernetes Service endpoint), binding stays on loopback', () => {
    const viaNode = build({
      loopbackOnly: true,
      serviceAdvertiseAddress: '198.18.0.2',
      nodeName: 'hcb-local',
      etcdClientPort: 12379,
      etcdPeerPort: 12380,
    });
    expect(args(viaNode, 'apiServer')['advertise-address']).toBe('198.18.0.2');
    expect(args(viaNode, 'apiServer')['bind-address']).toBe('127.0.0.1');
    expect(kind(kubeadmDocs(viaNode), 'InitConfiguration').localAPIEndpoint.advertiseAddress).toBeUndefined();
    expect(() => build({ loopbackOnly: true, serviceAdvertiseAddress: '127.0.0.2' })).toThrow(
      /serviceAdvertiseAddress.*may not be loopback/,
    );
    expect(() => build({ advertiseAddress: '192.0.2.10', serviceAdvertiseAddress: '198.18.0.2' })).toThrow(
      /serviceAdvertiseAddress.*only a loopback-only control plane/,
    );
    expect(() => build({ loopbackOnly: true, serviceAdvertiseAddress: 'node' })).toThrow(
      /serviceAdvertiseAddress.*not an IPv4 or IPv6 address/,
    );
  });

  test('kube-proxy: hardened KubeProxyConfiguration (metrics and health on loopback, no profiling, no localhost NodePorts)', () => {
    const kp = kind(kubeadmDocs(build()), 'KubeProxyConfiguration');
    expect(kp).toEqual({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'iptables',
      clientConnection: { kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf' },
      metricsBindAddress: '127.0.0.1:10249',
      healthzBindAddress: '127.0.0.1:10256',
      enableProfiling: false,
      nodePortAddresses: ['primary'],
      iptables: { localhostNodePorts: false, masqueradeAll: false },
    });
    const tuned = build({ podSubnet: '10.244.0.0/16', kubeProxy: { conntrackMaxPerCore: 0 } });
    expect(kind(kubeadmDocs(tuned), 'KubeProxyConfiguration')).toMatchObject({
      clusterCIDR: '10.244.0.0/16',
      conntrack: { maxPerCore: 0 },
    });
    expect(() => build({ kubeProxy: { conntrackMaxPerCore: -1 } })).toThrow(/kubeProxy.conntrackMaxPerCore/);
    expect(() => build({ kubeProxy: { nodePortAddresses: ['127.0.0.0/8'] } })).toThrow(/route_localnet/);
  });

  test("advertiseAddress '127.0.0.1' selects the same loopback mode", () => {
    const viaAddress = build({
      advertiseAddress: '127.0.0.1',
      nodeName: 'hcb-local',
      etcdClientPort: 12379,
      etcdPeerPort: 12380,
    });
    expect(args(viaAddress, 'apiServer')['advertise-address']).toBe('127.0.0.1');
    expect(kind(kubeadmDocs(viaAddress), 'InitConfiguration').localAPIEndpoint.advertiseAddress).toBeUndefined();
  });

  test('a routable advertise address is written to InitConfiguration and etcd URLs use it', () => {
    const cp = build({ advertiseAddress: '192.0.2.10', nodeName: 'cp-1', etcdClientPort: 12379, etcdPeerPort: 12380 });
    expect(kind(kubeadmDocs(cp), 'InitConfiguration').localAPIEndpoint).toEqual({
      advertiseAddress: '192.0.2.10',
      bindPort: 6443,
    });
    const etcd = args(cp, 'etcd');
    expect(etcd['listen-client-urls']).toBe('https://127.0.0.1:12379,https://192.0.2.10:12379');
    expect(etcd['initial-cluster']).toBe('cp-1=https://192.0.2.10:12380');
    expect(args(cp, 'apiServer')['bind-address']).toBeUndefined();
  });
});
