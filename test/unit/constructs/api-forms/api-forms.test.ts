// The alternative argument forms of issue 12: HardenedWorkload takes a HardenedNamespace as well as
// a namespace name (inheriting its protection need), and Subject.serviceAccount and
// NetworkPeer.serviceAccount both take `{ namespace, name }` beside their positional forms.
import {
  HardenedNamespace,
  HardenedWorkload,
  NamespaceAccess,
  NetworkAllowPolicy,
  NetworkPeer,
  NetworkPort,
  PodSelection,
  PROTECTION_NEED_LABEL,
  Subject,
} from '../../../../constructs';
import { Obj, one, propError, synth } from '../helpers';
import { webContainer } from '../workload/fixtures';

const podLabels = (objs: Obj[]) => one(objs, 'Deployment').spec.template.metadata.labels as Record<string, string>;

describe('HardenedWorkload with a HardenedNamespace', () => {
  test('renders into the namespace and inherits its protection need', () => {
    const objs = synth((chart) => {
      const ns = new HardenedNamespace(chart, 'payments', { protectionNeed: 'high' });
      new HardenedWorkload(chart, 'web', { namespace: ns, containers: [webContainer()] });
    });
    expect(one(objs, 'Deployment').metadata.namespace).toBe('payments');
    expect(podLabels(objs)[PROTECTION_NEED_LABEL]).toBe('high');
  });

  test('the same objects as with the namespace name and the need given explicitly', () => {
    const byObject = synth((chart) => {
      const ns = new HardenedNamespace(chart, 'payments', { protectionNeed: 'high' });
      new HardenedWorkload(chart, 'web', { namespace: ns, containers: [webContainer()] });
    });
    const byName = synth((chart) => {
      new HardenedNamespace(chart, 'payments', { protectionNeed: 'high' });
      new HardenedWorkload(chart, 'web', {
        namespace: 'payments',
        protectionNeed: 'high',
        containers: [webContainer()],
      });
    });
    expect(byObject).toEqual(byName);
  });

  test("an explicit protectionNeed wins over the namespace's", () => {
    const objs = synth((chart) => {
      const ns = new HardenedNamespace(chart, 'payments', { protectionNeed: 'high' });
      new HardenedWorkload(chart, 'web', { namespace: ns, protectionNeed: 'normal', containers: [webContainer()] });
    });
    expect(podLabels(objs)[PROTECTION_NEED_LABEL]).toBe('normal');
  });

  test('a name still works and defaults to normal; a wrong value is still refused', () => {
    const objs = synth((chart) => {
      new HardenedNamespace(chart, 'shop');
      new HardenedWorkload(chart, 'web', { namespace: 'shop', containers: [webContainer()] });
    });
    expect(podLabels(objs)[PROTECTION_NEED_LABEL]).toBe('normal');
    const e = propError(() =>
      synth(
        (chart) =>
          new HardenedWorkload(chart, 'web', {
            namespace: { namespaceName: 42 } as never,
            containers: [webContainer()],
          }),
      ),
    );
    expect(e.message).toContain('namespace');
  });
});

describe('ServiceAccount factories take { namespace, name }', () => {
  test('Subject.serviceAccount: object form equals the positional (namespace, name) form', () => {
    const render = (subject: Subject) =>
      one(
        synth((chart) => new NamespaceAccess(chart, 'a', { namespace: 'shop', preset: 'viewer', subjects: [subject] })),
        'RoleBinding',
      ).subjects;
    const byObject = render(Subject.serviceAccount({ namespace: 'ci', name: 'deployer' }));
    expect(byObject).toEqual([{ kind: 'ServiceAccount', name: 'deployer', namespace: 'ci' }]);
    expect(byObject).toEqual(render(Subject.serviceAccount('ci', 'deployer')));
  });

  test('NetworkPeer.serviceAccount: object form equals the positional (name, namespace?) form', () => {
    const render = (peer: NetworkPeer) =>
      one(
        synth(
          (chart) =>
            new NetworkAllowPolicy(chart, 'p', {
              namespace: 'shop',
              appliesTo: PodSelection.all(),
              ingress: [{ peers: [peer], ports: [NetworkPort.tcp(8080)] }],
            }),
        ),
        'NetworkPolicy',
      ).spec.ingress;
    expect(render(NetworkPeer.serviceAccount({ namespace: 'ci', name: 'deployer' }))).toEqual(
      render(NetworkPeer.serviceAccount('deployer', 'ci')),
    );
    expect(render(NetworkPeer.serviceAccount({ name: 'deployer' }))).toEqual(
      render(NetworkPeer.serviceAccount('deployer')),
    );
    expect(render(NetworkPeer.serviceAccount({ name: 'deployer' }))).not.toEqual(
      render(NetworkPeer.serviceAccount('deployer', 'ci')),
    );
  });
});
