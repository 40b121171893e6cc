import { Construct } from 'constructs';

/**
 * The one error every construct throws for bad props. Its message names the construct path,
 * the prop, the rejected value and the fix, e.g.
 *   hcb: team-a/payments: prop "name" = "Payments_1" is invalid: must be an RFC 1123 label.
 *   Fix: use lower-case letters, digits and '-', starting and ending with a letter or digit.
 */
export class BlueprintPropError extends Error {
  public readonly constructPath: string;
  public readonly prop: string;
  public readonly value: unknown;
  public readonly fix: string;

  constructor(scope: Construct | string, prop: string, value: unknown, problem: string, fix: string) {
    const path = typeof scope === 'string' ? scope : scope.node.path || '(root)';
    super(`hcb: ${path}: prop "${prop}" = ${describe(value)} is invalid: ${problem}. Fix: ${fix}`);
    this.name = 'BlueprintPropError';
    this.constructPath = path;
    this.prop = prop;
    this.value = value;
    this.fix = fix;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    const s = JSON.stringify(value);
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return String(value);
  }
}
