// Re-exports of constructs/control-plane.
export * from './admission-plugins';
export * from './audit-log';
export * from './audit-policy';
export * from './authentication-configuration';
export * from './cluster-configuration';
export * from './encryption-configuration';
export * from './hardened-control-plane';
export * from './init-configuration';
export * from './join-configuration';
export * from './kubeadm-config-file';
export * from './kubelet-configuration';
export * from './node-config-file';
export * from './node-file-manifest';
export * from './paths';
export * from './profile';
export * from './tls-policy';
export { checkPort, hostPort } from './validation';
