/**
 * The local target's default ports, defined once: `hcb synth --local`, `hcb cluster` and the
 * Pulumi stack spec (stack settings override each) start from these. kubeadm's own defaults.
 * Internal: not re-exported from the package's index.
 */
import type { LocalEndpoints } from './blueprint';

export const DEFAULT_LOCAL_ENDPOINTS: LocalEndpoints = Object.freeze({
  apiServerPort: 6443,
  etcdClientPort: 2379,
  etcdPeerPort: 2380,
  etcdMetricsPort: 2381,
  controllerManagerPort: 10257,
  schedulerPort: 10259,
});
