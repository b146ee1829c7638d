package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rawlab/rawlab/capture"
)

type readFlags struct {
	count int
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
  rawlab read big.pcap -c 10`,
		Args: positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRead(a, args[0], f)
		},
	}
	cmd.Flags().IntVarP(&f.count, "count", "c", 0, "stop after `N` frames (0: all)")
	return cmd
}

func runRead(a *app, path string, f readFlags) error {
	if f.count < 0 {
		return usageErrorf("read: --count must not be negative")
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
		if err := p.Print(rec.Time, rec.Data, rec.Dir, rec.Comment); err != nil {
			return err
		}
		n++
	}
	return nil
}
