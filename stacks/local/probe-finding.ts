/** A finding of a behavioural probe (hcb verify): the control's own severity, frameworks and fix. */
import { CATALOGUE } from '../../policies/catalogue';
import { remediationText } from '../../policies/control';
import type { Finding, Status } from '../../policies/model';

export function probeFinding(control: string, name: string, status: Status, message: string): Finding {
  const c = CATALOGUE.find((x) => x.id === control);
  if (!c) throw new Error(`probe refers to unknown control ${control}`);
  return {
    control,
    status,
    severity: c.severity,
    frameworks: JSON.parse(JSON.stringify(c.frameworks)) as Finding['frameworks'],
    object: { kind: 'Probe', name, file: 'live:probe' },
    message,
    remediation: remediationText(c.remediation),
  };
}
