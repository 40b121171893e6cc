/** Sovereign Cloud Stack standard "Kubernetes cluster baseline security", named per requirement of its Decision section. */
import { FrameworkDefinition, Requirement } from './types';

export interface ScsRequirement extends Requirement {
  strength: 'MUST' | 'SHOULD';
}

export const SCS: FrameworkDefinition<ScsRequirement> = {
  id: 'scs',
  name: 'SCS Kubernetes cluster baseline security',
  edition: 'Draft',
  requirements: [
    { id: 'SCS-BASE-CA', strength: 'SHOULD', topic: 'Cluster certificates from a CA the operator controls' },
    { id: 'SCS-BASE-TLS', strength: 'SHOULD', topic: 'TLS on every internal endpoint' },
    { id: 'SCS-BASE-API-AUTHN', strength: 'MUST', topic: 'API server authenticates users' },
    { id: 'SCS-BASE-API-RBAC', strength: 'MUST', topic: 'Fine-grained RBAC authorization' },
    { id: 'SCS-BASE-KUBELET-AUTHN', strength: 'MUST', topic: 'Kubelet anonymous authentication off' },
    { id: 'SCS-BASE-KUBELET-AUTHZ', strength: 'MUST', topic: 'Kubelet authorization delegated to the API server' },
  ],
};
