// Command pulumi-resource-kubernetes serves the Pulumi Kubernetes provider.
//
// The upstream main package embeds files that are generated at release time and are
// not part of the published Go module, so it cannot be built from the module proxy.
// This wrapper embeds the same two JSON documents, which tools/build-toolchain.sh
// copies out of the module cache into this directory (gitignored) before building.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
