/**
 * Flags read the way the components read them: one table of flag types per component
 * (table.ts), typed effective values from repeated occurrences (effective.ts), command lines as
 * pflag / Go's flag package parse them and shell-wrapped container commands (command-line.ts),
 * kubeadm's rendering of extraArgs (kubeadm.ts), and the effective kubelet configuration
 * (kubelet.ts).
 */
export * from './table';
export * from './effective';
export * from './command-line';
export * from './kubeadm';
export * from './kubelet';
export * from './admission-plugins';
export * from './kubelet-dropins';
