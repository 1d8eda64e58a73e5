//go:build tools

// Pins the Pulumi CLI in this module, so that `go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi`
// from here uses the versions (and replace directives) recorded in go.mod and go.sum.
package main

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
