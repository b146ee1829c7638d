package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildInfo is what `rawlab version` reports.
type buildInfo struct {
	Version string `json:"version"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Commit  string `json:"commit,omitempty"`
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of rawlab",
		Args:    positional(cobra.NoArgs),
		Example: "  rawlab version\n  rawlab version --json",
		RunE: func(cmd *cobra.Command, args []string) error {
			bi := buildInfo{Version: version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
			if info, ok := debug.ReadBuildInfo(); ok {
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" {
						bi.Commit = s.Value
					}
				}
			}
			if a.json {
				return json.NewEncoder(a.stdout).Encode(bi)
			}
			_, err := fmt.Fprintf(a.stdout, "rawlab %s (%s %s/%s)\n", bi.Version, bi.Go, bi.OS, bi.Arch)
			return err
		},
	}
}
