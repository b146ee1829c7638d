package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
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
one decoded line per frame (like tcpdump -e -n), JSON lines with --jsonl, one
JSON document at the end with --json, or writes them to a pcapng file (-w;
-w - writes to standard output, and printing then goes to stderr). With -w
nothing is printed unless --print is given.

It stops after -c frames, after --duration, on SIGINT or SIGTERM, or when the
interface disappears (exit 1) or the disk is full (exit 1; the file is cut
back to its last whole block). The file is then complete, and stderr says
"N captured, N written, N dropped by kernel".

The filter (--filter, or the trailing arguments as tcpdump takes them) is a
built-in name (arp, dhcp, icmp, all) or a pcap-filter(7) expression compiled
to classic BPF and run in the kernel. --dump-filter prints it as tcpdump -d.

-C, -G and -W rotate files as tcpdump does: -G starts a new file named by
strftime(3) every SECONDS, -C splits within it (numbered, from 1 in each -G
file), -W keeps a ring of N files with -C, or stops after N files with -G
alone. Each file has its own statistics block. -Q in is done by the kernel
(PACKET_IGNORE_OUTGOING). -s keeps at most N bytes of each frame (at most
262144); the length on the wire is kept and printed.`,
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

// parseFileSize parses -C: millions of bytes as tcpdump counts them, or a
// number with a k, m or g suffix (powers of 1024).
func parseFileSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1000000)
	if m, ok := map[string]int64{"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[strings.ToLower(s[len(s)-1:])]; ok {
		mult, s = m, s[:len(s)-1]
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 || n*float64(mult) > 1<<62 {
		return 0, usageErrorf("capture: -C %q: want a positive size in millions of bytes, or with a k, m or g suffix", s)
	}
	return int64(n * float64(mult)), nil
}

// compileFilter turns --filter into a BPF program: a built-in name, or a
// pcap-filter(7) expression compiled in pure Go. live asks for code for a
// kernel socket, which sees VLAN tags the kernel stripped.
func compileFilter(expr string, snaplen int, live bool) ([]bpf.Instruction, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, nil
	}
	if raw, err := capture.BuiltinFilter(expr); err == nil {
		if snaplen > 0 {
			raw = capture.ApplySnapLen(raw, snaplen)
		}
		prog, ok := bpf.Disassemble(raw)
		if !ok {
			return nil, fmt.Errorf("filter %q: built-in program does not disassemble", expr)
		}
		return prog, nil
	}
	opt := filter.Options{KernelVLAN: live}
	if snaplen > 0 {
		opt.SnapLen = uint32(snaplen)
	}
	return filter.Compile(expr, opt)
}

// captureFlagNames maps the fields of capture's configuration errors to
// the flags that set them.
var captureFlagNames = map[string]string{
	"SnapLen": "-s", "RingBuffer": "-B", "Duration": "--duration", "Direction": "-Q",
	"Rotation.Size": "-C", "Rotation.Period": "-G", "Rotation.Count": "-W", "Rotation": "-C/-G with -w -",
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
	size, err := parseFileSize(f.fileSize)
	if err != nil {
		return cfg, err
	}
	rot := capture.Rotation{Size: size, Period: time.Duration(f.period) * time.Second, Count: f.fileCount}
	if rot.Active() && f.write == "" {
		return cfg, usageErrorf("capture: -C and -G need -w FILE")
	}
	if f.write != "" {
		format, err := capture.ParseFormat(f.format)
		if err != nil {
			return cfg, usageError(err)
		}
		precision, err := capture.ParseTimePrecision(f.precision)
		if err != nil {
			return cfg, usageError(fmt.Errorf("capture: --time-stamp-precision: %w", err))
		}
		cfg.Output = &capture.OutputConfig{Path: f.write, Rotation: rot, Recorder: capture.RecorderOptions{Format: format, Precision: precision}}
		if f.write == "-" {
			cfg.Output.Stream = a.stdout
		}
	}
	if err := cfg.Validate(); err != nil {
		var ce *capture.ConfigError
		if errors.As(err, &ce) && captureFlagNames[ce.Field] != "" {
			return cfg, usageErrorf("capture: %s %s: %s", captureFlagNames[ce.Field], ce.Value, ce.Reason)
		}
		return cfg, usageError(err)
	}
	if cfg.Output != nil && cfg.Output.Stream == nil {
		if err := outfile.Check(capture.Strftime(f.write, time.Now())); err != nil {
			return cfg, usageError(fmt.Errorf("capture: -w: %w", err))
		}
	}
	prog, err := compileFilter(f.filter, f.snaplen, true)
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
		prog, _ := compileFilter(f.filter, f.snaplen, true)
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
	out := a.stdout
	if f.write == "-" {
		out = a.stderr
	}
	var p *framePrinter
	if !f.quiet && (f.write == "" || f.print || a.json || a.jsonl) {
		p = printerFor(out, a)
		cfg.OnFrame = func(data []byte, info capture.FrameInfo) error {
			return p.PrintFrame(craft.LinkEthernet, info.Time, data, info.Length, info.Dir, "")
		}
	}
	started := false
	cfg.OnReady = func() error {
		started = true
		if err := privdrop.Drop(privdrop.Config{User: a.user}); err != nil {
			return usageError(fmt.Errorf("capture: %w", err))
		}
		// tcpdump's opening line; tests and scripts wait for it.
		fmt.Fprintf(a.stderr, "listening on %s, link-type EN10MB (Ethernet), snapshot length %d bytes\n", ifname, orDefault(f.snaplen, capture.MaxSnapLen))
		return nil
	}
	res, err := capture.Capture(ctx, ifname, cfg)
	if !started {
		if _, ok := err.(*exitError); ok {
			return err
		}
		return usageError(err)
	}
	{
		written := ""
		if cfg.Output != nil {
			written = fmt.Sprintf("%d written, ", res.Written)
		}
		fmt.Fprintf(a.stderr, "%d captured, %s%d dropped by kernel\n", res.Captured, written, res.Stats.Drops)
		if res.StatsErr == nil {
			fmt.Fprintf(a.stderr, "%d received by filter\n", res.Stats.Packets)
		}
	}
	if p != nil {
		extra := map[string]any{"interface": ifname, "captured": res.Captured, "dropped": res.Stats.Drops}
		if cfg.Output != nil {
			extra["written"], extra["files"] = res.Written, res.Files
		}
		if derr := p.Document(extra); err == nil {
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
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return failure(err)
}

// orDefault returns v, or def when v is 0.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// removeOnError removes path when *err is set: a command that fails leaves
// no partial output file behind.
func removeOnError(path string, err *error) {
	if *err != nil && path != "" {
		os.Remove(path)
	}
}
