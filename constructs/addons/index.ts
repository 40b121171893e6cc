// Public part of constructs/addons (re-exported by constructs/index.ts).
export { ClusterDns, type ClusterDnsProps } from './cluster-dns';
