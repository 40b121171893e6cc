// CoreDNS with the plugins a cluster DNS needs, built the way CoreDNS documents for a plugin
// selection: its own main imports coremain and the chosen plugin packages and sets the directive
// order (the upstream order, filtered to these plugins).
//
// Left out, and why: the cloud and database backends (route53, azure, clouddns, etcd, nomad) and
// their SDKs; the DNS-over-TLS/HTTPS/QUIC/gRPC servers and the gRPC forwarder (tls, https, https3,
// quic, grpc_server, grpc); zone serving, signing and transfer (file, auto, secondary, sign,
// dnssec, tsig, transfer, dynupdate); tracing and taps (trace, dnstap); geoip; debug endpoints and
// test helpers (pprof, debug, erratic); chaos (it answers with the server's version); proxyproto,
// multisocket, local, dns64, siit, nsid, shed, view, any, on. Fewer plugins is less code to attack
// and a third of the build.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/acl"
	_ "github.com/coredns/coredns/plugin/autopath"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/bufsize"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/cancel"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/header"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/k8s_external"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metadata"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/minimal"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/rewrite"
	_ "github.com/coredns/coredns/plugin/template"
	_ "github.com/coredns/coredns/plugin/timeouts"
	_ "github.com/coredns/coredns/plugin/whoami"
)

// The plugins above ("prometheus" is plugin/metrics), in CoreDNS's own order.
var directives = []string{
	"metadata", "cancel", "timeouts", "reload", "bufsize", "bind", "ready", "health", "prometheus",
	"errors", "log", "loadbalance", "rewrite", "autopath", "acl", "cache", "header", "minimal",
	"template", "hosts", "k8s_external", "kubernetes", "loop", "forward", "whoami",
}

func init() {
	dnsserver.Directives = directives
}

func main() {
	coremain.Run()
}
