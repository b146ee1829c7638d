package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/capture/filter"
	"github.com/rawlab/rawlab/craft"
)

type readFlags struct {
	count  int
	filter string
}

func newReadCmd(a *app) *cobra.Command {
	var f readFlags
	cmd := &cobra.Command{
		Use:   "read FILE|- [FILTER]",
		Short: "Decode a pcap or pcapng file offline",
		Long: `Read decodes every frame of a pcap or pcapng file (- reads standard input)
and prints it as capture does: one line per frame in the style of tcpdump -e
-n, with the direction and the pcapng comment where the file has them; JSON
lines with --jsonl, or one JSON document with --json.

Frames are decoded by their link type: Ethernet, Linux cooked captures (SLL,
SLL2) and raw IP; each pcapng interface by its own. A file with any other
link type is refused (exit 2). A filter reads Ethernet and SLL frames.`,
		Example: `  rawlab read lease.pcapng
  rawlab read scan.pcapng --jsonl | jq .frame.arp
  rawlab capture -i veth0 -w - | rawlab read - udp port 67`,
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

func runRead(a *app, path string, f readFlags) (err error) {
	if f.count < 0 {
		return usageErrorf("read: --count must not be negative")
	}
	// The filter, compiled for each link type the file has.
	vms := map[craft.LinkType]*filter.VM{}
	vmFor := func(lt craft.LinkType) (vm *filter.VM, err error) {
		if vm, ok := vms[lt]; ok || f.filter == "" {
			return vm, nil
		}
		prog, err := capture.CompileFilter(f.filter, capture.FilterConfig{LinkType: uint32(lt)})
		if err == nil && prog != nil {
			vm, err = filter.NewVM(prog)
		}
		vms[lt] = vm
		return vm, err
	}
	if _, err := vmFor(craft.LinkEthernet); err != nil {
		return usageError(fmt.Errorf("read: %w", err))
	}
	var r *capture.FileReader
	if path == "-" {
		r, err = capture.NewFileReader(a.stdin)
	} else {
		r, err = capture.OpenFile(path)
	}
	if err != nil {
		return usageError(fmt.Errorf("read: %w", err))
	}
	defer r.Close()
	p := printerFor(a.stdout, a)
	defer func() {
		// --json: the document of what was read, unless the file was refused.
		if ee, ok := err.(*exitError); ok && ee.code == exitUsage {
			return
		}
		if derr := p.End(nil); err == nil {
			err = derr
		}
	}()
	for n := 0; f.count == 0 || n < f.count; {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A file cut short still shows what it holds; say where it ended.
			return failure(fmt.Errorf("read: %s: after %d frames: %w", path, n, err))
		}
		lt := craft.LinkType(rec.LinkType)
		if !lt.Decoded() {
			return usageErrorf("read: %s: link type %d (%s) is not decoded: rawlab reads Ethernet, LINUX_SLL, LINUX_SLL2 and RAW", path, rec.LinkType, rec.LinkType)
		}
		vm, err := vmFor(lt.Canonical())
		if err != nil {
			return usageError(fmt.Errorf("read: %s: %w", path, err))
		}
		if vm != nil && !vm.Match(rec.Data, rec.Length) {
			continue
		}
		if err := p.PrintFrame(lt, rec.Time, rec.Data, rec.Length, rec.Dir, rec.Comment); err != nil {
			return err
		}
		n++
	}
	return nil
}
