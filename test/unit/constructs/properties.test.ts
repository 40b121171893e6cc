import * as fc from 'fast-check';
import {
  BlueprintPropError,
  HardenedNamespace,
  HardenedWorkload,
  NetworkAllowPolicy,
  NetworkPeer,
  NetworkPort,
  PodSelection,
  Probe,
  NAMESPACE_SIZES,
  ProtectionNeed,
  WorkloadKind,
} from '../../../constructs';
import { isDnsLabel, RESERVED_NAMESPACES } from '../../../constructs/tenant/names';
import { parseQuantity } from '../../../constructs/tenant/quantity';
import { checkPodSpec } from '../../../constructs/workload/pod-template-checks';
import { evaluate } from '../../../policies/engine';
import { Obj, one, propError, synth } from './helpers';

const RUNS = { numRuns: 150 };
const DIGEST = `@sha256:${'ab'.repeat(32)}`;

// ---- generators ----
const labelChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''));
const dnsLabel = fc
  .tuple(
    labelChar,
    fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split('')), { maxLength: 30 }),
    labelChar,
  )
  .map(([a, mid, b]) => `${a}${mid.join('')}${b}`)
  .filter((s) => isDnsLabel(s) && !RESERVED_NAMESPACES.includes(s));
const invalidDnsLabel = fc.oneof(
  fc.string({ maxLength: 70 }).filter((s) => !isDnsLabel(s)),
  dnsLabel.map((s) => s.toUpperCase()).filter((s) => /[A-Z]/.test(s)),
  dnsLabel.map((s) => `-${s}`),
  dnsLabel.map((s) => `${s}_x`),
  dnsLabel.map((s) => `${s}.x`),
  fc.constant('a'.repeat(64)),
);
const cpuQuantity = fc.integer({ min: 1, max: 64000 }).map((m) => (m % 1000 === 0 ? String(m / 1000) : `${m}m`));
const memQuantity = fc.integer({ min: 1, max: 65536 }).map((mi) => (mi % 1024 === 0 ? `${mi / 1024}Gi` : `${mi}Mi`));
const invalidQuantity = fc.oneof(
  fc.constantFrom('', '-1', '1GB', '1.2.3', 'Mi', '1 Gi', 'one', '1e', '0x10', '1Ki1', '+-1'),
  fc.string({ maxLength: 8 }).filter((s) => parseQuantity(s) === undefined),
);
const ipv4Net = fc
  .tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }))
  .map(([addr, prefix]) => {
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    const net = (addr & mask) >>> 0;
    return { cidr: `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${prefix}`, addr, prefix, net };
  });
const badLabelKey = fc.constantFrom(
  '-a',
  'a-',
  'A B',
  'a/b/c',
  '/a',
  'a/',
  `${'x'.repeat(64)}`,
  'Example.COM/a',
  'a@b',
);
const badLabelValue = fc.constantFrom('-a', 'a-', 'a b', 'x'.repeat(64), 'a/b', 'é');

function expectPropError(fn: () => unknown, prop: string | RegExp, path: string): BlueprintPropError {
  const e = propError(fn);
  if (typeof prop === 'string') expect(e.prop).toBe(prop);
  else expect(e.prop).toMatch(prop);
  expect(e.constructPath).toBe(path);
  expect(e.message).toContain(`hcb: ${path}: prop "${e.prop}"`);
  expect(e.message).toContain('Fix:');
  return e;
}

function assertNamespaceControls(objs: Obj[], name: string): void {
  const ns = one(objs, 'Namespace');
  expect(ns.metadata.name).toBe(name);
  expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  expect(ns.metadata.labels['pod-security.kubernetes.io/enforce-version']).toMatch(/^(v1\.\d+|latest)$/);
  expect(one(objs, 'NetworkPolicy', 'hcb-default-deny').spec).toEqual({
    podSelector: {},
    policyTypes: ['Ingress', 'Egress'],
  });
  const dns = one(objs, 'NetworkPolicy', 'hcb-allow-dns').spec;
  expect(dns.ingress).toBeUndefined();
  expect(dns.egress[0].ports.map((p: any) => p.port)).toEqual([53, 53]);
  expect(one(objs, 'ServiceAccount', 'default').automountServiceAccountToken).toBe(false);
  const hard = one(objs, 'ResourceQuota').spec.hard;
  expect(parseQuantity(hard['requests.cpu'])! <= parseQuantity(hard['limits.cpu'])!).toBe(true);
  expect(hard['services.nodeports']).toBe('0');
  const lr = one(objs, 'LimitRange').spec.limits[0];
  expect(parseQuantity(lr.max.cpu)! <= parseQuantity(hard['limits.cpu'])!).toBe(true);
  expect(parseQuantity(lr.default.memory)! <= parseQuantity(lr.max.memory)!).toBe(true);
  for (const o of objs) {
    expect(o.metadata.annotations['hcb.dev/construct-path']).toBeTruthy();
    if (o.kind !== 'Namespace') expect(o.metadata.namespace).toBe(name);
  }
}

/** No control fails or errs, except the controls in `expected`, which must fail. */
function noCatalogueFailures(objs: Obj[], expected: readonly string[] = []): void {
  const docs = objs.map((object) => ({
    object,
    source: { constructPath: object.metadata.annotations['hcb.dev/construct-path'] },
  }));
  const findings = evaluate(docs).filter((f) => f.status === 'fail' || f.status === 'error');
  const bad = findings.filter((f) => !expected.includes(f.control));
  expect(bad.map((f) => `${f.control} ${f.object?.kind}/${f.object?.name}: ${f.message}`)).toEqual([]);
  for (const control of expected)
    expect([control, findings.some((f) => f.control === control && f.status === 'fail')]).toEqual([control, true]);
}

describe('properties: HardenedNamespace', () => {
  test('invalid names fail at construction naming the path and prop', () => {
    fc.assert(
      fc.property(invalidDnsLabel, (name) => {
        expectPropError(() => synth((chart) => new HardenedNamespace(chart, 'ns', { name })), 'name', 'test/ns');
      }),
      RUNS,
    );
  });

  test('invalid quantities fail naming the quota prop', () => {
    fc.assert(
      fc.property(invalidQuantity, fc.constantFrom('requestsCpu', 'limitsMemory', 'requestsStorage'), (q, key) => {
        expectPropError(
          () => synth((chart) => new HardenedNamespace(chart, 'ns', { quota: { [key]: q } })),
          `quota.${key}`,
          'test/ns',
        );
      }),
      RUNS,
    );
  });

  test('quota requests above limits are refused; otherwise synthesized as given', () => {
    fc.assert(
      fc.property(cpuQuantity, cpuQuantity, (req, lim) => {
        const build = () =>
          synth(
            (chart) =>
              new HardenedNamespace(chart, 'ns', {
                quota: { requestsCpu: req, limitsCpu: lim },
                containerLimits: { maxCpu: '1m', defaultLimitCpu: '1m', defaultRequestCpu: '1m' },
              }),
          );
        if (parseQuantity(req)! > parseQuantity(lim)!) {
          expectPropError(build, 'quota.requestsCpu', 'test/ns');
        } else {
          const hard = one(build(), 'ResourceQuota').spec.hard;
          expect([hard['requests.cpu'], hard['limits.cpu']]).toEqual([req, lim]);
        }
      }),
      RUNS,
    );
  });

  test('valid random props always synthesize a namespace that passes the controls', () => {
    fc.assert(
      fc.property(
        dnsLabel,
        fc.constantFrom(...NAMESPACE_SIZES),
        fc.constantFrom<ProtectionNeed[]>('normal', 'high', 'very-high'),
        fc.option(dnsLabel, { nil: undefined }),
        fc.option(
          fc.integer({ min: 20, max: 40 }).map((v) => `v1.${v}`),
          { nil: undefined },
        ),
        fc.option(fc.integer({ min: 0, max: 500 }), { nil: undefined }),
        (name, size, protectionNeed, team, podSecurityVersion, pods) => {
          const objs = synth(
            (chart) =>
              new HardenedNamespace(chart, 'ns', {
                name,
                size,
                protectionNeed,
                team,
                podSecurityVersion,
                quota: { pods },
              }),
          );
          assertNamespaceControls(objs, name);
          noCatalogueFailures(objs);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('reserved namespaces are always refused', () => {
    fc.assert(
      fc.property(fc.constantFrom(...RESERVED_NAMESPACES), fc.boolean(), (name, viaId) => {
        const e = propError(() =>
          synth((chart) => (viaId ? new HardenedNamespace(chart, name) : new HardenedNamespace(chart, 'x', { name }))),
        );
        expect(e.prop).toBe('name');
      }),
    );
  });
});

describe('properties: network rules', () => {
  test('CIDRs with zero host bits render; with host bits set they are refused', () => {
    fc.assert(
      fc.property(ipv4Net, fc.integer({ min: 0, max: 31 }), ({ cidr, prefix, net }, bit) => {
        const policy = (c: string) =>
          synth(
            (chart) =>
              new NetworkAllowPolicy(chart, 'p', {
                namespace: 'shop',
                name: 'p',
                egress: [{ peers: [NetworkPeer.cidr(c)], ports: [NetworkPort.tcp(443)] }],
              }),
          );
        expect(one(policy(cidr), 'NetworkPolicy').spec.egress[0].to[0].ipBlock.cidr).toBe(cidr);
        if (bit < 32 - prefix) {
          const withHost = (net | (1 << bit)) >>> 0;
          const bad = `${[24, 16, 8, 0].map((s) => (withHost >>> s) & 255).join('.')}/${prefix}`;
          expectPropError(() => policy(bad), 'egress[0].peers[0].cidr', 'test/p');
        }
      }),
      RUNS,
    );
  });

  test('garbage CIDRs are refused', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 20 }),
          fc.constantFrom('1.2.3.4', '256.0.0.0/8', '1.2.3.4/33', '::/129', 'fe80::1::/64', '10.0.0.0/08'),
        ),
        (c) => {
          fc.pre(!/^(\d+\.){3}\d+\/\d+$/.test(c) || c.includes('256') || c.endsWith('/33') || c.endsWith('/08'));
          expectPropError(
            () =>
              synth(
                (chart) =>
                  new NetworkAllowPolicy(chart, 'p', {
                    namespace: 'shop',
                    name: 'p',
                    egress: [{ peers: [NetworkPeer.cidr(c)], ports: [NetworkPort.tcp(443)] }],
                  }),
              ),
            'egress[0].peers[0].cidr',
            'test/p',
          );
        },
      ),
      RUNS,
    );
  });

  test('ports: 1..65535 render, anything else is refused', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -100000, max: 100000 }), fc.double()),
        fc.constantFrom<Array<'tcp' | 'udp' | 'sctp'>>('tcp', 'udp', 'sctp'),
        (port, proto) => {
          const build = () =>
            synth(
              (chart) =>
                new NetworkAllowPolicy(chart, 'p', {
                  namespace: 'shop',
                  name: 'p',
                  ingress: [{ peers: [NetworkPeer.allPodsInNamespace()], ports: [NetworkPort[proto](port)] }],
                }),
            );
          if (Number.isInteger(port) && port >= 1 && port <= 65535) {
            expect(one(build(), 'NetworkPolicy').spec.ingress[0].ports).toEqual([
              { protocol: proto.toUpperCase(), port },
            ]);
          } else {
            expectPropError(build, 'ingress[0].ports[0]', 'test/p');
          }
        },
      ),
      RUNS,
    );
  });

  test('invalid label selectors are refused naming the key', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          badLabelKey.map((k) => ({ labels: { [k]: 'v' }, prop: `appliesTo.${k}` })),
          badLabelValue.map((v) => ({ labels: { app: v }, prop: 'appliesTo.app' })),
        ),
        ({ labels, prop }) => {
          expectPropError(
            () =>
              synth(
                (chart) =>
                  new NetworkAllowPolicy(chart, 'p', {
                    namespace: 'shop',
                    name: 'p',
                    appliesTo: PodSelection.labels(labels),
                    ingress: [{ peers: [NetworkPeer.allPodsInNamespace()], ports: [NetworkPort.tcp(1)] }],
                  }),
              ),
            prop,
            'test/p',
          );
        },
      ),
    );
  });

  test('a rule that both lists ports and says anyPort is refused', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 4 }), (ports) => {
        expectPropError(
          () =>
            synth(
              (chart) =>
                new NetworkAllowPolicy(chart, 'p', {
                  namespace: 'shop',
                  name: 'p',
                  ingress: [
                    { peers: [NetworkPeer.namespace('a')], ports: ports.map((p) => NetworkPort.tcp(p)), anyPort: true },
                  ],
                }),
            ),
          'ingress[0].anyPort',
          'test/p',
        );
      }),
      { numRuns: 30 },
    );
  });
});

describe('properties: HardenedWorkload', () => {
  const probe = () => Probe.fromHttpGet('/healthz');
  const containerArb = fc.record({
    name: dnsLabel,
    cpuRequest: fc.integer({ min: 1, max: 2000 }),
    cpuExtra: fc.integer({ min: 0, max: 2000 }),
    memRequest: fc.integer({ min: 1, max: 4096 }),
    memExtra: fc.integer({ min: 0, max: 4096 }),
    port: fc.integer({ min: 1, max: 65535 }),
    pinned: fc.boolean(),
    writable: fc.boolean(),
    secret: fc.option(dnsLabel, { nil: undefined }),
  });

  test('valid random props always synthesize pods that pass the workload controls', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(containerArb, { minLength: 1, maxLength: 3, selector: (c) => c.name }),
        fc.constantFrom<WorkloadKind[]>('Deployment', 'StatefulSet'),
        fc.constantFrom<ProtectionNeed[]>('normal', 'high', 'very-high'),
        fc.integer({ min: 2, max: 10 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.boolean(),
        (cs, kind, protectionNeed, replicas, runAsUser, withInit) => {
          const objs = synth(
            (chart) =>
              new HardenedWorkload(chart, 'app', {
                namespace: 'shop',
                kind,
                protectionNeed,
                replicas,
                runAsUser,
                dedicatedCluster: protectionNeed === 'very-high' ? true : undefined,
                initContainers: withInit ? [{ name: 'init-x', image: `r.example.com/init${DIGEST}` }] : undefined,
                containers: cs.map((c) => ({
                  name: c.name,
                  image: `r.example.com/${c.name}${c.pinned ? DIGEST : ':1.0'}`,
                  ports: [{ number: c.port }],
                  liveness: probe(),
                  readiness: probe(),
                  resources: {
                    cpuRequest: `${c.cpuRequest}m`,
                    cpuLimit: `${c.cpuRequest + c.cpuExtra}m`,
                    memoryRequest: `${c.memRequest}Mi`,
                    memoryLimit: `${c.memRequest + c.memExtra}Mi`,
                  },
                  writablePaths: c.writable ? ['/tmp'] : undefined,
                  secretMounts: c.secret ? [{ secretName: c.secret, mountPath: '/etc/secret' }] : undefined,
                })),
              }),
          );
          const w = one(objs, kind);
          const spec = w.spec.template.spec;
          expect(checkPodSpec(spec)).toEqual([]);
          expect([spec.hostNetwork, spec.hostPID, spec.hostIPC]).toEqual([false, false, false]);
          expect(spec.securityContext.seccompProfile.type).toBe('RuntimeDefault');
          expect(spec.serviceAccountName).toBe('app');
          expect(spec.automountServiceAccountToken).toBe(false);
          for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
            expect(c.securityContext).toMatchObject({
              runAsNonRoot: true,
              runAsUser,
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
              privileged: false,
              capabilities: { drop: ['ALL'] },
              seccompProfile: { type: 'RuntimeDefault' },
            });
            expect(parseQuantity(c.resources.requests.cpu)! <= parseQuantity(c.resources.limits.cpu)!).toBe(true);
            expect(parseQuantity(c.resources.requests.memory)! <= parseQuantity(c.resources.limits.memory)!).toBe(true);
            expect(
              parseQuantity(c.resources.requests['ephemeral-storage'])! <=
                parseQuantity(c.resources.limits['ephemeral-storage'])!,
            ).toBe(true);
            expect(c.env ?? []).toEqual([]);
          }
          for (const c of spec.containers) {
            expect(c.livenessProbe.httpGet.port).toBe(c.ports[0].containerPort);
            expect(c.readinessProbe).toBeDefined();
          }
          if (protectionNeed !== 'normal') {
            expect(one(objs, 'PodDisruptionBudget').spec.selector).toEqual(w.spec.selector);
            expect(spec.topologySpreadConstraints[0].topologyKey).toBe('topology.kubernetes.io/zone');
          }
          // An image without digest is synthesized (with a warning) and fails the digest control.
          noCatalogueFailures(objs, cs.every((c) => c.pinned) ? [] : ['HCB-WORKLOAD-IMAGE-DIGEST']);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('host ports below 1024 are always refused; from 1024 up they warn', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), (hostPort) => {
        let w: HardenedWorkload | undefined;
        const build = () =>
          synth((chart) => {
            w = new HardenedWorkload(chart, 'app', {
              namespace: 'shop',
              containers: [
                {
                  name: 'c',
                  image: `r.example.com/a${DIGEST}`,
                  ports: [{ number: 8080, hostPort }],
                  liveness: probe(),
                  readiness: probe(),
                },
              ],
            });
          });
        if (hostPort < 1024) expectPropError(build, 'containers[0].ports[0].hostPort', 'test/app');
        else {
          build();
          expect(w!.warnings.join()).toContain(`host port ${hostPort}`);
        }
      }),
      RUNS,
    );
  });

  test('resource requests above limits and invalid quantities are refused', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc
            .tuple(memQuantity, memQuantity)
            .filter(([r, l]) => parseQuantity(r)! > parseQuantity(l)!)
            .map(([r, l]) => ({
              res: { memoryRequest: r, memoryLimit: l },
              prop: 'containers[0].resources.memoryRequest',
            })),
          invalidQuantity.map((q) => ({ res: { cpuLimit: q }, prop: 'containers[0].resources.cpuLimit' })),
          fc
            .tuple(memQuantity, memQuantity)
            .filter(([r, l]) => parseQuantity(r)! > parseQuantity(l)!)
            .map(([r, l]) => ({
              res: { ephemeralStorageRequest: r, ephemeralStorageLimit: l },
              prop: 'containers[0].resources.ephemeralStorageRequest',
            })),
          invalidQuantity.map((q) => ({
            res: { ephemeralStorageLimit: q },
            prop: 'containers[0].resources.ephemeralStorageLimit',
          })),
        ),
        ({ res, prop }) => {
          expectPropError(
            () =>
              synth(
                (chart) =>
                  new HardenedWorkload(chart, 'app', {
                    namespace: 'shop',
                    containers: [
                      {
                        name: 'c',
                        image: `r.example.com/a${DIGEST}`,
                        liveness: probe(),
                        readiness: probe(),
                        resources: res,
                      },
                    ],
                  }),
              ),
            prop,
            'test/app',
          );
        },
      ),
      RUNS,
    );
  });

  test('conflicting options are refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), (replicas) => {
        expectPropError(
          () =>
            synth(
              (chart) =>
                new HardenedWorkload(chart, 'app', {
                  namespace: 'shop',
                  highAvailability: true,
                  replicas,
                  containers: [{ name: 'c', image: `r.example.com/a${DIGEST}`, liveness: probe(), readiness: probe() }],
                }),
            ),
          'replicas',
          'test/app',
        );
      }),
    );
  });
});
