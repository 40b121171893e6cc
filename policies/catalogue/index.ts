/**
 * The control catalogue: every control of the blueprint, one area per file. Order here is
 * presentation order only; the engine sorts findings by control id.
 */
import { CatalogueControl, toControl } from '../control';
import { ADMISSION_CONTROLS } from './admission';
import { API_SERVER_CONTROLS } from './api-server';
import { AUDIT_CONTROLS } from './audit';
import { BACKUP_CONTROLS } from './backup';
import { CONTROLLER_MANAGER_CONTROLS } from './controller-manager';
import { ENCRYPTION_CONTROLS } from './encryption';
import { ETCD_CONTROLS } from './etcd';
import { FEATURE_GATE_CONTROLS } from './feature-gates';
import { KUBE_PROXY_CONTROLS } from './kube-proxy';
import { KUBELET_CONTROLS } from './kubelet';
import { NAMESPACE_CONTROLS } from './namespaces';
import { NODE_FILE_CONTROLS } from './node-files';
import { ORGANISATIONAL_CONTROLS } from './organisational';
import { RBAC_CONTROLS } from './rbac';
import { SCHEDULER_CONTROLS } from './scheduler';
import { WORKLOAD_CONTROLS } from './workloads';

export const CATALOGUE: readonly CatalogueControl[] = Object.freeze(
  [
    ...API_SERVER_CONTROLS,
    ...ETCD_CONTROLS,
    ...CONTROLLER_MANAGER_CONTROLS,
    ...SCHEDULER_CONTROLS,
    ...KUBELET_CONTROLS,
    ...KUBE_PROXY_CONTROLS,
    ...AUDIT_CONTROLS,
    ...ENCRYPTION_CONTROLS,
    ...ADMISSION_CONTROLS,
    ...FEATURE_GATE_CONTROLS,
    ...WORKLOAD_CONTROLS,
    ...NAMESPACE_CONTROLS,
    ...RBAC_CONTROLS,
    ...NODE_FILE_CONTROLS,
    ...BACKUP_CONTROLS,
    ...ORGANISATIONAL_CONTROLS,
  ].map(toControl),
);

/** A control by id, or undefined. */
export function controlById(id: string): CatalogueControl | undefined {
  return CATALOGUE.find((c) => c.id === id);
}
