/**
 * Whether a kubelet belongs to a control-plane node or a worker, from explicit input only. Some
 * requirements hold for workers and not for control-plane nodes (kube-bench keeps separate
 * master and node checks for that reason); a check that depends on the role must never guess it.
 *
 * The role comes from, in this order:
 *   1. the KubeletProcess `hcb verify` (or anyone) writes: annotation `hcb.dev/node-role` with
 *      `control-plane` or `worker` (any other value is no role, and is named);
 *   2. the kubeadm registration whose kubeletExtraArgs the kubelet got: an InitConfiguration is
 *      the first control-plane node (`kubeadm init` always sets up a control plane); a
 *      JoinConfiguration with `controlPlane` set (non-null, as kubeadm's `*JoinControlPlane`) joins
 *      a control-plane node, without it a worker (cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go).
 * Nothing else: a KubeletConfiguration alone says nothing about its node, so its role is unknown,
 * and the check decides what unknown means (never a silent pass).
 */
import { Document } from '../model';

export type NodeRole = 'control-plane' | 'worker' | 'unknown';

/** The annotation that states a kubelet's node role on a KubeletProcess document. */
export const NODE_ROLE_ANNOTATION = 'hcb.dev/node-role';
export const NODE_ROLES: readonly Exclude<NodeRole, 'unknown'>[] = ['control-plane', 'worker'];

/** A kubelet's role and the input that says so (for messages). */
export interface NodeRoleEvidence {
  role: NodeRole;
  /** Where the role comes from, or why it is unknown. */
  because: string;
}

const isKubeadm = (d: Document, kind: string) =>
  d.object.kind === kind &&
  typeof d.object.apiVersion === 'string' &&
  d.object.apiVersion.startsWith('kubeadm.k8s.io/');

/**
 * The role of the node a kubelet runs on. `flagsFrom` is the document the kubelet's flags come
 * from (KubeletSubject.flagsFrom): an observed KubeletProcess or a kubeadm registration.
 */
export function nodeRoleOf(flagsFrom: Document | undefined): NodeRoleEvidence {
  if (!flagsFrom) {
    return {
      role: 'unknown',
      because:
        'the input gives no node role for this kubelet (no kubeadm InitConfiguration or JoinConfiguration, no KubeletProcess with the hcb.dev/node-role annotation)',
    };
  }
  const obj = flagsFrom.object;
  if (obj.kind === 'KubeletProcess') {
    const raw = obj.metadata?.annotations?.[NODE_ROLE_ANNOTATION];
    if (raw === undefined) {
      return { role: 'unknown', because: `the observed kubelet process carries no ${NODE_ROLE_ANNOTATION} annotation` };
    }
    if ((NODE_ROLES as readonly string[]).includes(raw)) {
      return {
        role: raw as NodeRole,
        because: `the observed kubelet process is annotated ${NODE_ROLE_ANNOTATION}: ${raw}`,
      };
    }
    return {
      role: 'unknown',
      because: `the annotation ${NODE_ROLE_ANNOTATION}: "${raw}" is no role (${NODE_ROLES.join(' or ')})`,
    };
  }
  if (isKubeadm(flagsFrom, 'InitConfiguration')) {
    return {
      role: 'control-plane',
      because: 'the kubelet is set up by a kubeadm InitConfiguration (kubeadm init makes a control-plane node)',
    };
  }
  if (isKubeadm(flagsFrom, 'JoinConfiguration')) {
    const cp = (obj as Record<string, unknown>).controlPlane;
    if (cp !== undefined && cp !== null) {
      if (typeof cp !== 'object' || Array.isArray(cp)) {
        return { role: 'unknown', because: 'the JoinConfiguration sets controlPlane to a value that is no mapping' };
      }
      return {
        role: 'control-plane',
        because: 'the kubelet joins with a kubeadm JoinConfiguration that sets controlPlane',
      };
    }
    return {
      role: 'worker',
      because: 'the kubelet joins with a kubeadm JoinConfiguration without controlPlane (a worker)',
    };
  }
  return { role: 'unknown', because: `the kubelet's flags come from a ${String(obj.kind)}, which gives no node role` };
}
