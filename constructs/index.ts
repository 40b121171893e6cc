// Public API of the package: what application repos import. Re-exports only.
export * from './common/errors';
export * from './tenant';
export * from './network';
export * from './rbac';
export * from './workload';
export * from './admission';
export * from './control-plane';
export * from './addons';
