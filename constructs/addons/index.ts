// Re-exports of constructs/addons.
export * from './cluster-dns';
