// Probes and env values that do not tie the app to cdk8s-plus-28 (issue 11: "works beside newer
// cdk8s-plus"): plain probe objects, a Probe of another cdk8s-plus version (stood in for here by an
// object of its shape; test/unit/examples/install-scratch.test.ts uses the real cdk8s-plus-33), and
// `{ value }` / `{ valueFrom }` env values render exactly what the re-exported cdk8s-plus-28 types
// render, and bad ones are refused with the prop path.
import * as kplus from 'cdk8s-plus-28';
import { HardenedWorkload, HardenedWorkloadProps, Probe } from '../../../../constructs';
import { Obj, one, propError, synth } from '../helpers';
import { webContainer } from './fixtures';

const container = (out: Obj[]) => one(out, 'Deployment').spec.template.spec.containers[0];
const render = (c: Partial<Parameters<typeof webContainer>[0]>, props: Partial<HardenedWorkloadProps> = {}) =>
  container(
    synth(
      (chart) => new HardenedWorkload(chart, 'web', { namespace: 'shop', containers: [webContainer(c)], ...props }),
    ),
  );
const errorOf = (c: Record<string, unknown>) =>
  propError(() =>
    synth((chart) => new HardenedWorkload(chart, 'web', { namespace: 'shop', containers: [webContainer(c as never)] })),
  );

/**
 * A Probe as another cdk8s-plus major builds it: its own class (private state, so TypeScript would
 * not take it for cdk8s-plus-28's Probe) whose `_toKube(container)` reads the container's first
 * port and returns ports as that version's IntOrString (an object with `value`).
 */
class OtherPlusIntOrString {
  private constructor(public readonly value: number | string) {}
  static of(v: number | string) {
    return new OtherPlusIntOrString(v);
  }
}
class OtherPlusProbe {
  private constructor(
    private readonly path: string,
    private readonly opts: { port?: number },
  ) {}
  static fromHttpGet(path: string, opts: { port?: number } = {}): OtherPlusProbe {
    return new OtherPlusProbe(path, opts);
  }
  _toKube(cont: { portNumber?: number }) {
    return {
      failureThreshold: 3,
      httpGet: {
        path: this.path,
        port: OtherPlusIntOrString.of(this.opts.port ?? cont.portNumber ?? 80),
        scheme: 'HTTP',
      },
    };
  }
}

describe('probes', () => {
  const reference = render({});

  test('a plain probe object renders as the re-exported Probe does (first container port by default)', () => {
    const c = render({
      liveness: { httpGet: { path: '/healthz' }, failureThreshold: 3 },
      readiness: { httpGet: { path: '/ready' }, failureThreshold: 3 },
    });
    expect(c.livenessProbe).toEqual(reference.livenessProbe);
    expect(c.readinessProbe).toEqual(reference.readinessProbe);
    expect(c.livenessProbe).toEqual({ failureThreshold: 3, httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' } });
  });

  test('named ports, tcpSocket, exec, grpc and timings are rendered as written', () => {
    const c = render({
      liveness: {
        tcpSocket: { port: 'http' },
        periodSeconds: 20,
        timeoutSeconds: 2,
        successThreshold: 1,
        terminationGracePeriodSeconds: 5,
      },
      readiness: { exec: { command: ['/bin/ready'] }, initialDelaySeconds: 3, successThreshold: 2 },
      startup: { grpc: { service: 'health' }, failureThreshold: 30 },
    });
    expect(c.livenessProbe).toEqual({
      tcpSocket: { port: 'http' },
      periodSeconds: 20,
      timeoutSeconds: 2,
      successThreshold: 1,
      terminationGracePeriodSeconds: 5,
    });
    expect(c.readinessProbe).toEqual({
      exec: { command: ['/bin/ready'] },
      initialDelaySeconds: 3,
      successThreshold: 2,
    });
    expect(c.startupProbe).toEqual({ grpc: { port: 8080, service: 'health' }, failureThreshold: 30 });
  });

  test("another cdk8s-plus version's Probe is rendered through its own method with the container's first port", () => {
    const c = render({
      liveness: OtherPlusProbe.fromHttpGet('/healthz'),
      readiness: OtherPlusProbe.fromHttpGet('/ready', { port: 9090 }),
    });
    expect(c.livenessProbe).toEqual(reference.livenessProbe);
    expect(c.readinessProbe).toEqual({ failureThreshold: 3, httpGet: { path: '/ready', port: 9090, scheme: 'HTTP' } });
  });

  test('the re-exported cdk8s-plus-28 Probe keeps its options', () => {
    const c = render({ readiness: Probe.fromTcpSocket({ port: 9000, failureThreshold: 5 }) });
    expect(c.readinessProbe).toEqual({ failureThreshold: 5, tcpSocket: { port: 9000 } });
  });

  test.each([
    [{ liveness: { httpGet: { path: '/a' }, tcpSocket: {} } }, 'containers[0].liveness', /2 handlers/],
    [{ liveness: { periodSeconds: 5 } }, 'containers[0].liveness', /no handler/],
    [
      { liveness: { httpGet: { path: '/a' }, successThreshold: 2 } },
      'containers[0].liveness.successThreshold',
      /must be 1/,
    ],
    [
      { readiness: { httpGet: { path: '/a' }, terminationGracePeriodSeconds: 3 } },
      'containers[0].readiness.terminationGracePeriodSeconds',
      /not allowed/,
    ],
    [
      { readiness: { httpGet: { path: '/a' }, timeoutSeconds: -1 } },
      'containers[0].readiness.timeoutSeconds',
      /non-negative/,
    ],
    [{ readiness: { httpGet: { path: 'ready' } } }, 'containers[0].readiness.httpGet.path', /absolute/],
    [
      { readiness: { httpGet: { path: '/ready', port: 'Not_A_Name' } } },
      'containers[0].readiness.httpGet.port',
      /port name/,
    ],
    [{ ports: [], readiness: { httpGet: { path: '/ready' } } }, 'containers[0].readiness.httpGet.port', /no ports/],
    [{ readiness: 'tcp' }, 'containers[0].readiness', /is not a probe/],
    [{ liveness: undefined }, 'containers[0].liveness', /required/],
  ])('refuses %j at %s', (c, prop, message) => {
    const e = errorOf(c);
    expect(e.prop).toBe(prop);
    expect(e.message).toMatch(message);
  });
});

describe('env values', () => {
  test('strings, { value } and { valueFrom } (ConfigMap key, pod field, resource) render as cdk8s-plus EnvValues do', () => {
    const c = render({
      env: {
        A: 'one',
        B: { value: 'two' },
        C: { valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        D: { valueFrom: { configMapKeyRef: { name: 'shop-config', key: 'mode', optional: true } } },
        E: { valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        F: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
      },
    });
    expect(c.env).toEqual([
      { name: 'A', value: 'one' },
      { name: 'B', value: 'two' },
      { name: 'C', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'D', valueFrom: { configMapKeyRef: { name: 'shop-config', key: 'mode', optional: true } } },
      { name: 'E', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      { name: 'F', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    ]);
  });

  test.each([
    [{ X: { valueFrom: { secretKeyRef: { name: 's', key: 'k' } } } }, 'containers[0].env.X', /STIG V-242415/],
    [
      { X: { value: 'a', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } } },
      'containers[0].env.X',
      /exactly one of value and valueFrom/,
    ],
    [{ X: { value: 5 } }, 'containers[0].env.X.value', /must be a string/],
    [
      { X: { valueFrom: { fieldRef: { fieldPath: 'metadata.name' }, configMapKeyRef: { name: 'a', key: 'b' } } } },
      'containers[0].env.X.valueFrom',
      /exactly one/,
    ],
    [
      { X: { valueFrom: { configMapKeyRef: { name: 'a' } } } },
      'containers[0].env.X.valueFrom.configMapKeyRef.key',
      /non-empty string/,
    ],
    [{ X: 42 }, 'containers[0].env.X', /not an environment value/],
  ])('refuses %j at %s', (env, prop, message) => {
    const e = errorOf({ env });
    expect(e.prop).toBe(prop);
    expect(e.message).toMatch(message);
  });
});
