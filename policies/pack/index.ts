/**
 * The `hcb` Pulumi policy pack: the control catalogue enforced at deploy time.
 *   pulumi preview|up --policy-pack policies/pack [--policy-pack-config exceptions.json]
 * Config: { "hcb-controls": { "failOn": "low", "exceptions": [ControlException...] } }
 */
import { PolicyPack } from '@pulumi/policy';
import type { ControlException, Severity } from '../model';
import { packViolations } from './violations';

interface PackConfig {
  failOn?: Severity;
  exceptions?: ControlException[];
}

new PolicyPack('hcb', {
  policies: [
    {
      name: 'hcb-controls',
      description: 'Hardened Cluster Blueprint controls (DISA STIG, CIS, BSI APP.4.4, CCN-STIC, SCS) over the stack.',
      enforcementLevel: 'mandatory',
      configSchema: {
        properties: {
          failOn: { type: 'string', enum: ['critical', 'high', 'medium', 'low', 'info'] },
          exceptions: { type: 'array', items: { type: 'object' } },
        },
      },
      validateStack: (args, reportViolation) => {
        const config = args.getConfig<PackConfig>();
        for (const v of packViolations(args.resources, { failOn: config.failOn, exceptions: config.exceptions })) {
          reportViolation(v.message, v.urn);
        }
      },
    },
  ],
});
