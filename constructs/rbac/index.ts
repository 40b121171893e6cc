// Re-exports of constructs/rbac.
export * from './default-service-account';
