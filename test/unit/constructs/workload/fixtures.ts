import { HardenedContainerProps, Probe } from '../../../../constructs';

export const DIGEST = `@sha256:${'0123456789abcdef'.repeat(4)}`;

export function webContainer(overrides: Partial<HardenedContainerProps> = {}): HardenedContainerProps {
  return {
    name: 'web',
    image: `registry.example.com/shop/web${DIGEST}`,
    ports: [{ number: 8080, name: 'http' }],
    liveness: Probe.fromHttpGet('/healthz'),
    readiness: Probe.fromHttpGet('/ready'),
    ...overrides,
  };
}
