/**
 * CCN-STIC Kubernetes guide, checklist of section 4, numbered CCN-CL-01… in the guide's order,
 * with the criticality the guide gives.
 */
import { FrameworkDefinition, Requirement } from './types';

export interface CcnItem extends Requirement {
  criticality: 'high' | 'medium' | 'low';
}

const c = (n: number, criticality: CcnItem['criticality'], topic: string): CcnItem => ({
  id: `CCN-CL-${String(n).padStart(2, '0')}`,
  criticality,
  topic,
});

export const CCN: FrameworkDefinition<CcnItem> = {
  id: 'ccn',
  name: 'CCN-STIC Kubernetes guide (checklist)',
  edition: '2023',
  requirements: [
    c(1, 'high', 'Host systems patched and supported'),
    c(2, 'high', 'Kubernetes patched'),
    c(3, 'high', 'Node connections encrypted with certificates'),
    c(4, 'high', 'TLS 1.2 or 1.3 only'),
    c(5, 'high', 'Control-plane configuration changeable by administrators only'),
    c(6, 'high', 'Certificates and keys owned by root:root'),
    c(7, 'high', 'Certificates and keys accessible to administrators only'),
    c(8, 'high', 'Worker configuration changeable by administrators only'),
    c(9, 'high', 'Only authenticated users log in'),
    c(10, 'high', 'Audit logging configured'),
    c(11, 'high', 'RBAC and namespaces in use'),
    c(12, 'medium', 'Control-plane configuration owned by root:root'),
    c(13, 'medium', 'Worker configuration owned by root:root'),
    c(14, 'medium', 'Secrets encrypted'),
    c(15, 'medium', 'Service accounts with specific permissions'),
    c(16, 'medium', 'Pod security policies configured and active'),
    c(17, 'medium', 'No automatic service account tokens'),
    c(18, 'medium', 'Audit events by audit level'),
    c(19, 'medium', 'Audit log storage policy'),
    c(20, 'medium', 'Kernel call logging (seccomp)'),
    c(21, 'low', 'Audit logs on external storage'),
    c(22, 'low', 'Resource quotas'),
    c(23, 'low', 'Immutable containers'),
  ],
};
