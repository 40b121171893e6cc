/** BSI IT-Grundschutz module APP.4.4 Kubernetes, requirements A1–A21 with their protection level. */
import { FrameworkDefinition, Requirement } from './types';

export interface BsiRequirement extends Requirement {
  level: 'basic' | 'standard' | 'high';
}

const r = (n: number, level: BsiRequirement['level'], topic: string): BsiRequirement => ({
  id: `APP.4.4.A${n}`,
  level,
  topic,
});

export const BSI: FrameworkDefinition<BsiRequirement> = {
  id: 'bsi',
  name: 'BSI IT-Grundschutz APP.4.4 Kubernetes',
  edition: 'Edition 2023',
  requirements: [
    r(1, 'basic', 'Plan how applications are separated'),
    r(2, 'basic', 'Plan automation with CI/CD'),
    r(3, 'basic', 'Identity and access management'),
    r(4, 'basic', 'Separation of pods'),
    r(5, 'basic', 'Backup of the cluster'),
    r(6, 'standard', 'Initialization of pods'),
    r(7, 'standard', 'Network separation'),
    r(8, 'standard', 'Protection of configuration files'),
    r(9, 'standard', 'Use of service accounts'),
    r(10, 'standard', 'Protection of automation processes'),
    r(11, 'standard', 'Container health monitoring'),
    r(12, 'standard', 'Protection of infrastructure applications'),
    r(13, 'high', 'Automated configuration audit'),
    r(14, 'high', 'Dedicated nodes'),
    r(15, 'high', 'Separation at node and cluster level'),
    r(16, 'high', 'Use of operators'),
    r(17, 'high', 'Node attestation'),
    r(18, 'high', 'Micro-segmentation'),
    r(19, 'high', 'High availability'),
    r(20, 'high', 'Encrypted data storage'),
    r(21, 'high', 'Regular restart of pods'),
  ],
};
