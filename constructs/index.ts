// Public API of the package (`hardened-cluster-blueprint`): what app and platform repos import —
// the constructs, their props, the prop error, the Blueprint and the protection profiles. Re-exports
// only; each folder's index.ts names its public part. Internal helpers (validation, rendering, node
// paths) are not exported here: the package's own code imports them by file path.
// The API is snapshotted by test/unit/api/public-api.test.ts.
export * from './common/errors';
export {
  Blueprint,
  type BlueprintClusterDns,
  type BlueprintSpec,
  type LocalEndpoints,
  type SynthesizedBlueprint,
  synthesizeBlueprint,
} from './blueprint';
export * from './tenant';
export * from './network';
export * from './rbac';
export * from './workload';
export * from './admission';
export * from './control-plane';
export * from './addons';
export { type AppAudit, auditApp, type AuditAppOptions } from './audit';
