/** The frameworks the catalogue maps to, with their canonical requirement IDs. */
import { Framework } from '../model';
import { BSI } from './bsi';
import { CCN } from './ccn';
import { CIS } from './cis';
import { SCS } from './scs';
import { STIG } from './stig';
import { FrameworkDefinition } from './types';

export * from './types';
export { STIG, BSI, CCN, SCS, CIS };
export type { StigRule } from './stig';
export type { BsiRequirement } from './bsi';
export type { CcnItem } from './ccn';
export type { ScsRequirement } from './scs';

export const FRAMEWORK_DEFINITIONS: Readonly<Record<Framework, FrameworkDefinition>> = {
  stig: STIG,
  cis: CIS,
  bsi: BSI,
  ccn: CCN,
  scs: SCS,
};
export { COVERAGE_CLAIMS, CLAIMED_FRAMEWORKS, claimOf, isClaimedFramework } from './coverage-claims';
export type { CoverageClaim, ClaimedFramework } from './coverage-claims';
