package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/net/bpf"

	"github.com/rawlab/rawlab/capture"
)

type readFlags struct {
	count  int
	filter string
}

func newReadCmd(a *app) *cobra.Command {
	var f readFlags
	cmd := &cobra.Command{
		Use:   "read FILE",
		Short: "Decode a pcap or pcapng file offline",
		Long: `Read decodes every frame of a pcap or pcapng file and prints it as
capture does: one line per frame in the style of tcpdump -e -n, with the
direction and the pcapng comment where the file has them, or JSON lines
with --json.`,
		Example: `  rawlab read lease.pcapng
  rawlab read scan.pcapng --json | jq .frame.arp
  rawlab read big.pcap -c 10
  rawlab read capture.pcapng udp port 67`,
		Args: positional(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				if f.filter != "" {
					return usageErrorf("read: give the filter either with --filter or after the file, not both")
				}
				f.filter = strings.Join(args[1:], " ")
			}
			return runRead(a, args[0], f)
		},
	}
	cmd.Flags().IntVarP(&f.count, "count", "c", 0, "stop after `N` frames (0: all)")
	cmd.Flags().StringVarP(&f.filter, "filter", "f", "", "show only frames matching `FILTER` (a built-in name or a pcap-filter(7) expression)")
	return cmd
}

func runRead(a *app, path string, f readFlags) error {
	if f.count < 0 {
		return usageErrorf("read: --count must not be negative")
	}
	var vm *bpf.VM
	prog, err := compileFilter(f.filter, 0, false)
	if err != nil {
		return usageError(fmt.Errorf("read: %w", err))
	}
	if prog != nil {
		if vm, err = bpf.NewVM(prog); err != nil {
			return usageError(fmt.Errorf("read: filter %q: %w", f.filter, err))
		}
	}
	r, err := capture.OpenFile(path)
	if err != nil {
		return usageError(fmt.Errorf("read: %w", err))
	}
	defer r.Close()
	p := newFramePrinter(a.stdout, a.json)
	n := 0
	for f.count == 0 || n < f.count {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A file cut short (a capture killed mid-block) still shows what
			// it holds; say where it ended.
			return failure(fmt.Errorf("read: %s: after %d frames: %w", path, n, err))
		}
		if vm != nil {
			if keep, err := vm.Run(rec.Data); err != nil || keep == 0 {
				continue
			}
		}
		if err := p.Print(rec.Time, rec.Data, rec.Dir, rec.Comment); err != nil {
			return err
		}
		n++
	}
	return nil
}
