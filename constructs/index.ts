// Public API of the package: what application repos import. Re-exports only.
export * from './common/errors';
