package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/net/bpf"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/capture/filter"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/internal/outfile"
	"github.com/rawlab/rawlab/internal/privdrop"
)

type captureFlags struct {
	write, format, filter, direction, fileSize, precision string
	count, snaplen, fileCount, period, bufferSize         int
	duration                                              time.Duration
	promisc, quiet, print, dumpFilter                     bool
}

func newCaptureCmd(a *app) *cobra.Command {
	var f captureFlags
	cmd := &cobra.Command{
		Use:   "capture -i IF [flags] [FILTER]",
		Short: "Capture frames from an interface, print them or write pcapng",
		Long: `Capture reads frames from an interface through a TPACKET_V3 ring and prints
one line per frame (like tcpdump -e -n), JSON lines (--jsonl), one JSON
document at the end (--json), or writes pcapng (-w; -w - writes to stdout and
prints to stderr; with -w nothing is printed unless --print is given).

It stops after -c frames, --duration, SIGINT or SIGTERM, or with exit 1 when
the interface disappears or the disk is full (the file is cut back to its last
whole block). Stderr then says "N captured, N written, N dropped by kernel".

The filter (--filter, or trailing arguments) is arp, dhcp, icmp, all, or a
pcap-filter(7) expression run in the kernel; --dump-filter prints it as
tcpdump -d. -C, -G and -W rotate as tcpdump's: -G starts a file named by
strftime(3) every SECONDS, -C splits within it (numbered from 1 in each),
-W keeps a ring of N files with -C, or stops after N files with -G alone;
each file has its own statistics. -s keeps at most N bytes (up to 262144)
of each frame and its length on the wire. -Q in is done by the kernel.`,
		Example: `  rawlab capture -i veth0 -c 10 -s 96
  rawlab capture -i veth0 -w 'c-%H%M%S.pcapng' -G 60 -C 100 udp and port 67
  rawlab capture -i veth0 -w - | rawlab read -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				if f.filter != "" {
					return usageErrorf("capture: give the filter either with --filter or as arguments, not both")
				}
				f.filter = strings.Join(args, " ")
			}
			return runCapture(cmd.Context(), a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.write, "write", "w", "", "write frames to `FILE` (pcapng unless --format pcap; - for stdout)")
	fl.StringVar(&f.format, "format", "pcapng", "file format for -w: pcapng or pcap")
	fl.IntVarP(&f.count, "count", "c", 0, "stop after `N` frames (0: no limit)")
	fl.DurationVar(&f.duration, "duration", 0, "stop after `D` (e.g. 10s; 0: no limit)")
	fl.StringVarP(&f.filter, "filter", "f", "", "keep only frames matching `FILTER`: arp, dhcp, icmp, all, or a pcap-filter(7) expression")
	fl.StringVarP(&f.direction, "direction", "Q", "inout", "capture frames received (in), sent (out) or both (inout)")
	fl.StringVarP(&f.fileSize, "file-size", "C", "", "with -w: start a new file before `SIZE` (millions of bytes, or 512k, 10m, 1g)")
	fl.IntVarP(&f.fileCount, "file-count", "W", 0, "with -C: keep a ring of `N` files; with -G alone: stop after N files")
	fl.IntVarP(&f.period, "rotate-seconds", "G", 0, "with -w: start a new file every `SECONDS`; strftime(3) conversions in the name")
	fl.IntVarP(&f.bufferSize, "buffer-size", "B", 0, "kernel ring size in `KiB` (default 32768)")
	fl.StringVar(&f.precision, "time-stamp-precision", "nano", "with -w: time stamps in `micro` or nano seconds")
	fl.BoolVar(&f.dumpFilter, "dump-filter", false, "print the compiled BPF program as tcpdump -d does, and exit")
	fl.IntVarP(&f.snaplen, "snaplen", "s", 0, "keep at most `N` bytes of each frame (0: 262144, the most)")
	fl.BoolVar(&f.promisc, "promisc", false, "put the interface in promiscuous mode")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print no frames")
	fl.BoolVar(&f.print, "print", false, "print frames even when writing a file")
	return cmd
}

// captureFlagNames maps the fields of capture's configuration errors to
// the flags that set them.
var captureFlagNames = map[string]string{
	"SnapLen": "-s", "RingBuffer": "-B", "Duration": "--duration", "Direction": "-Q",
	"Rotation.Size": "-C", "Rotation.Period": "-G", "Rotation.Count": "-W", "Rotation": "-C/-G with -w -",
}

// flagError names the flag of a configuration error (exit 2).
func flagError(err error) error {
	var ce *capture.ConfigError
	if errors.As(err, &ce) && captureFlagNames[ce.Field] != "" {
		return usageErrorf("capture: %s %s: %s", captureFlagNames[ce.Field], ce.Value, ce.Reason)
	}
	return usageError(err)
}

// config turns the flags into capture's configuration; every value is
// checked here, before anything is opened or created.
func (f captureFlags) config(a *app) (capture.RunConfig, error) {
	var cfg capture.RunConfig
	if f.count < 0 || f.period < 0 || f.bufferSize < 0 || f.fileCount < 0 {
		return cfg, usageErrorf("capture: -c, -G, -B and -W must not be negative")
	}
	cfg.Count, cfg.Duration, cfg.RingBuffer = uint64(f.count), f.duration, f.bufferSize*1024
	cfg.Ring = capture.RingConfig{Promiscuous: f.promisc, SnapLen: f.snaplen}
	switch f.direction {
	case "in":
		cfg.Ring.IgnoreOutgoing = true
	case "out":
		cfg.Direction = capture.Outbound
	case "inout", "":
	default:
		return cfg, usageErrorf("capture: -Q %q: want in, out or inout", f.direction)
	}
	size, err := capture.ParseSize(f.fileSize)
	if err != nil {
		return cfg, flagError(err)
	}
	rot := capture.Rotation{Size: size, Period: time.Duration(f.period) * time.Second, Count: f.fileCount}
	if (rot.Active() || rot.Count > 0) && f.write == "" {
		return cfg, usageErrorf("capture: -C, -G and -W need -w FILE")
	}
	format, err := capture.ParseFormat(f.format)
	if err != nil {
		return cfg, usageError(err)
	}
	precision, err := capture.ParseTimePrecision(f.precision)
	if err != nil {
		return cfg, usageError(fmt.Errorf("capture: --time-stamp-precision: %w", err))
	}
	if f.write != "" {
		cfg.Output = &capture.OutputConfig{Path: f.write, Rotation: rot, Recorder: capture.RecorderOptions{Format: format, Precision: precision}}
		if f.write == "-" {
			cfg.Output.Stream = a.stdout
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, flagError(err)
	}
	if cfg.Output != nil && cfg.Output.Stream == nil {
		if err := outfile.Check(capture.Strftime(f.write, time.Now())); err != nil {
			return cfg, usageError(fmt.Errorf("capture: -w: %w", err))
		}
	}
	prog, err := capture.CompileFilter(f.filter, capture.FilterConfig{SnapLen: f.snaplen, Live: true})
	if err == nil && prog != nil {
		cfg.Ring.Filter, err = bpf.Assemble(prog)
	}
	if err != nil {
		return cfg, usageError(fmt.Errorf("capture: %w", err))
	}
	return cfg, nil
}

func runCapture(ctx context.Context, a *app, f captureFlags) error {
	cfg, err := f.config(a)
	if err != nil {
		return err
	}
	if f.dumpFilter {
		prog, _ := capture.CompileFilter(f.filter, capture.FilterConfig{SnapLen: f.snaplen, Live: true})
		if prog == nil {
			prog = []bpf.Instruction{bpf.RetConstant{Val: capture.AcceptLength}}
		}
		_, err := fmt.Fprint(a.stdout, filter.Dump(prog))
		return err
	}
	ifname, err := a.needInterface()
	if err != nil {
		return err
	}
	var p *framePrinter
	if !f.quiet && (f.write == "" || f.print || a.json || a.jsonl) {
		p = printerFor(a.stdout, a)
		if f.write == "-" {
			p = printerFor(a.stderr, a)
		}
		cfg.OnFrame = func(data []byte, info capture.FrameInfo) error {
			return p.PrintFrame(craft.LinkEthernet, info.Time, data, info.Length, info.Dir, "")
		}
	}
	started, snap := false, f.snaplen
	if snap == 0 {
		snap = capture.MaxSnapLen
	}
	cfg.OnReady = func() error {
		started = true
		if err := privdrop.Drop(privdrop.Config{User: a.user}); err != nil {
			return usageError(fmt.Errorf("capture: %w", err))
		}
		// tcpdump's opening line; tests and scripts wait for it.
		fmt.Fprintf(a.stderr, "listening on %s, link-type EN10MB (Ethernet), snapshot length %d bytes\n", ifname, snap)
		return nil
	}
	res, err := capture.Capture(ctx, ifname, cfg)
	if !started {
		if _, ok := err.(*exitError); ok {
			return err
		}
		return usageError(err)
	}
	written := ""
	if cfg.Output != nil {
		written = fmt.Sprintf("%d written, ", res.Written)
	}
	fmt.Fprintf(a.stderr, "%d captured, %s%d dropped by kernel\n", res.Captured, written, res.Stats.Drops)
	if res.StatsErr == nil {
		fmt.Fprintf(a.stderr, "%d received by filter\n", res.Stats.Packets)
	}
	if p != nil {
		extra := map[string]any{"interface": ifname, "captured": res.Captured, "dropped": res.Stats.Drops}
		if cfg.Output != nil {
			extra["written"], extra["files"] = res.Written, res.Files
		}
		if derr := p.End(extra); err == nil {
			err = derr
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, capture.ErrInterfaceGone):
		return failure(fmt.Errorf("capture: %s: the interface disappeared", ifname))
	case capture.IsDiskFull(err):
		return failure(fmt.Errorf("%w (the file ends at its last whole frame)", err))
	}
	if _, ok := err.(*exitError); ok {
		return err
	}
	return failure(err)
}

// removeOnError removes path when *err is set: a command that fails leaves
// no partial output file behind.
func removeOnError(path string, err *error) {
	if *err != nil && path != "" {
		os.Remove(path)
	}
}
