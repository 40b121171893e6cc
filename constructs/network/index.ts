// Re-exports of constructs/network.
export * from './default-deny';
export * from './dns-egress';
