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
)

type captureFlags struct {
	write    string
	format   string
	count    int
	duration time.Duration
	filter   string
	snaplen  int
	promisc  bool
	quiet    bool
	print    bool

	dumpFilter bool

	direction  string
	fileSize   string
	fileCount  int
	period     int
	bufferSize int
	precision  string
}

// frameSink is where captured frames go: one file, or a rotation of files.
type frameSink interface {
	WriteFrames([]capture.Frame) (int, error)
	WriteStats(start, end time.Time, s capture.Stats) error
	Close() error
}

// parseFileSize parses -C: millions of bytes as tcpdump counts them, or a
// number with a k, m or g suffix (powers of 1024).
func parseFileSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1000000)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult, s = 1<<10, s[:len(s)-1]
	case "m":
		mult, s = 1<<20, s[:len(s)-1]
	case "g":
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-C %q: want a positive size in millions of bytes, or with a k, m or g suffix", s)
	}
	return int64(n * float64(mult)), nil
}

func newCaptureCmd(a *app) *cobra.Command {
	var f captureFlags
	cmd := &cobra.Command{
		Use:   "capture -i IF [flags] [FILTER]",
		Short: "Capture frames from an interface, print them or write pcapng",
		Long: `Capture reads frames from an interface through a TPACKET_V3 ring and prints
one decoded line per frame (like tcpdump -e -n), or JSON lines with --json,
or writes them to a pcapng file (-w) with the interface name, nanosecond
timestamps and each frame's direction. With -w nothing is printed unless
--print is given.

It stops after -c frames, after --duration, or on SIGINT or SIGTERM; the
file is then complete, and "N captured, N dropped by kernel" goes to stderr.

--filter (or the trailing arguments, as tcpdump takes them) is a built-in
name (arp, dhcp, icmp, all: each matches tagged and untagged frames) or a
pcap-filter(7) expression, compiled to classic BPF in pure Go and run in the
kernel: "udp and port 67", "vlan 10 and arp", "tcp[tcpflags] & tcp-syn != 0".
--dump-filter prints the program as tcpdump -d does.

-Q in is done by the kernel (PACKET_IGNORE_OUTGOING); -Q out in rawlab.
--time-stamp-precision micro writes pcapng if_tsresol 6 or the classic
pcap microsecond magic, for tools that want them; nano is the default.`,
		Example: `  rawlab capture -i veth0 -c 10
  rawlab capture -i veth0 --filter dhcp -w dhcp.pcapng --duration 30s
  rawlab capture -i veth0 --json udp and port 67 or port 68
  rawlab capture --dump-filter 'vlan 10 and arp'
  rawlab capture -i veth0 -Q in --time-stamp-precision micro --format pcap -w in.pcap`,
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
	fl.StringVarP(&f.write, "write", "w", "", "write frames to `FILE` (pcapng unless --format pcap)")
	fl.StringVar(&f.format, "format", "pcapng", "file format for -w: pcapng or pcap")
	fl.IntVarP(&f.count, "count", "c", 0, "stop after `N` frames (0: no limit)")
	fl.DurationVar(&f.duration, "duration", 0, "stop after `D` (e.g. 10s; 0: no limit)")
	fl.StringVarP(&f.filter, "filter", "f", "", "keep only frames matching `FILTER`: arp, dhcp, icmp, all, or a pcap-filter(7) expression")
	fl.StringVarP(&f.direction, "direction", "Q", "inout", "capture frames received (in), sent (out) or both (inout)")
	fl.StringVarP(&f.fileSize, "file-size", "C", "", "with -w: start a new file after `SIZE` (millions of bytes, or 512k, 10m, 1g)")
	fl.IntVarP(&f.fileCount, "file-count", "W", 0, "with -C: keep a ring of `N` files; with -G alone: stop after N files")
	fl.IntVarP(&f.period, "rotate-seconds", "G", 0, "with -w: start a new file every `SECONDS`; strftime(3) conversions in the name (%Y%m%d-%H%M%S)")
	fl.IntVarP(&f.bufferSize, "buffer-size", "B", 0, "kernel ring size in `KiB` (default 32768)")
	fl.StringVar(&f.precision, "time-stamp-precision", "nano", "with -w: time stamps in `micro` or nano seconds (pcapng if_tsresol 6 or 9; pcap magic a1b2c3d4 or a1b23c4d)")
	fl.BoolVar(&f.dumpFilter, "dump-filter", false, "print the compiled BPF program as tcpdump -d does, and exit")
	fl.IntVarP(&f.snaplen, "snaplen", "s", 0, "keep at most `N` bytes of each frame (0: 262144)")
	fl.BoolVar(&f.promisc, "promisc", false, "put the interface in promiscuous mode")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print no frames")
	fl.BoolVar(&f.print, "print", false, "print frames even when writing a file")
	return cmd
}

// compileFilter turns --filter into a BPF program: a built-in name (arp,
// dhcp, icmp, all), or a pcap-filter(7) expression compiled in pure Go. live
// asks for code for a kernel socket, which sees VLAN tags the kernel
// stripped; offline files keep their tags in the frame.
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

func runCapture(ctx context.Context, a *app, f captureFlags) error {
	if f.count < 0 || f.duration < 0 || f.snaplen < 0 {
		return usageErrorf("capture: --count, --duration and --snaplen must not be negative")
	}
	format, err := capture.ParseFormat(f.format)
	if err != nil {
		return usageError(fmt.Errorf("capture: %w", err))
	}
	precision, err := capture.ParseTimePrecision(f.precision)
	if err != nil {
		return usageError(fmt.Errorf("capture: --time-stamp-precision: %w", err))
	}
	// -Q in: the kernel leaves out what this host sends
	// (PACKET_IGNORE_OUTGOING), so those frames cost nothing. -Q out has no
	// kernel counterpart: inbound frames are skipped here.
	var wantDir capture.Direction
	ringCfg := capture.RingConfig{Promiscuous: f.promisc, SnapLen: f.snaplen}
	switch f.direction {
	case "in":
		ringCfg.IgnoreOutgoing = true
	case "out":
		wantDir = capture.Outbound
	case "inout", "":
	default:
		return usageErrorf("capture: -Q %q: want in, out or inout", f.direction)
	}
	size, err := parseFileSize(f.fileSize)
	if err != nil {
		return usageError(fmt.Errorf("capture: %w", err))
	}
	rot := rotation{size: size, count: f.fileCount, period: time.Duration(f.period) * time.Second}
	if f.fileCount < 0 || f.period < 0 || f.bufferSize < 0 {
		return usageErrorf("capture: -W, -G and -B must not be negative")
	}
	if rot.active() && f.write == "" {
		return usageErrorf("capture: -C and -G need -w FILE")
	}
	if f.fileCount > 0 && !rot.active() {
		return usageErrorf("capture: -W needs -C or -G")
	}
	if f.bufferSize > 0 {
		ringCfg.BlockSize = capture.DefaultRingBlockSize
		ringCfg.NumBlocks = max(2, f.bufferSize*1024/ringCfg.BlockSize)
	}
	prog, err := compileFilter(f.filter, f.snaplen, true)
	if err != nil {
		return usageError(fmt.Errorf("capture: %w", err))
	}
	if f.dumpFilter {
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
	var raw []bpf.RawInstruction
	if prog != nil {
		if raw, err = bpf.Assemble(prog); err != nil {
			return usageError(fmt.Errorf("capture: filter: %w", err))
		}
	}
	ringCfg.Filter = raw
	if f.write != "" && (f.quiet || !f.print) {
		// Nobody watches the frames go by: let the kernel fill its ring
		// blocks for longer before it hands them over (tcpdump -w waits
		// up to a second), so a slow or filtered stream costs fewer
		// wake-ups. The file is still flushed every second.
		ringCfg.BlockTimeout = fileBlockTimeout
	}
	ring, err := capture.NewRing(ifname, ringCfg)
	if err != nil {
		return usageError(err)
	}
	defer ring.Close()

	var rec frameSink
	if f.write != "" {
		opt := capture.RecorderOptions{Format: format, Precision: precision, Interface: ifname, SnapLen: f.snaplen}
		if rot.active() {
			rec, err = newRotatingRecorder(f.write, rot, opt, time.Now())
		} else {
			rec, err = capture.CreateRecorder(f.write, opt)
		}
		if err != nil {
			return usageError(err)
		}
	}
	var printer *framePrinter
	if !f.quiet && (f.write == "" || f.print) {
		printer = newFramePrinter(a.stdout, a.json)
	}
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	// tcpdump's opening line; tests and scripts wait for it before sending.
	snap := f.snaplen
	if snap == 0 {
		snap = capture.DefaultSnapLen
	}
	fmt.Fprintf(a.stderr, "listening on %s, link-type EN10MB (Ethernet), snapshot length %d bytes\n", ifname, snap)

	start := time.Now()
	n, loopErr := captureLoop(ctx, ring, rec, printer, uint64(f.count), wantDir)
	stats, serr := ring.Stats()
	if rec != nil {
		if serr == nil {
			loopErr = errors.Join(loopErr, rec.WriteStats(start, time.Now(), stats))
		}
		loopErr = errors.Join(loopErr, rec.Close())
	}
	fmt.Fprintf(a.stderr, "%d captured, %d dropped by kernel\n", n, stats.Drops)
	if serr == nil {
		fmt.Fprintf(a.stderr, "%d received by filter\n", stats.Packets)
	}
	if loopErr != nil {
		return fmt.Errorf("capture: %w", loopErr)
	}
	return nil
}

// fileBlockTimeout is the ring's block timeout when frames only go to a
// file.
const fileBlockTimeout = 200 * time.Millisecond

// captureBatch is how many frames the capture loop takes from the ring at
// a time: enough that the per-batch costs (a lock, an interface call)
// vanish per frame.
const captureBatch = 256

// captureLoop reads the ring until the context ends, count frames (if not
// 0) are captured, or an error; it writes the frames of wantDir (both if
// 0) to rec and prints them with printer (either may be nil). It returns
// the number captured. The frames are read a ring block at a time and
// written with one call per batch; nothing is allocated per frame.
func captureLoop(ctx context.Context, ring *capture.Ring, rec frameSink, printer *framePrinter, count uint64, wantDir capture.Direction) (uint64, error) {
	var n uint64
	frames := make([]capture.Frame, captureBatch)
	// buf holds a frame whose VLAN tag the kernel stripped, with the tag put
	// back, so that what is printed is what crossed the wire (the recorder
	// puts the tag back itself).
	buf := make([]byte, 0, 65536+4)
	for count == 0 || n < count {
		want := len(frames)
		if count > 0 {
			want = int(min(uint64(want), count-n))
		}
		got, err := ring.ReadBatch(ctx, frames[:want])
		if err != nil {
			if ctx.Err() == nil {
				return n, err
			}
			return n, nil
		}
		batch := frames[:got]
		if wantDir != 0 {
			k := 0
			for i := range batch {
				if batch[i].Info.Dir == wantDir {
					batch[k] = batch[i]
					k++
				}
			}
			batch = batch[:k]
		}
		if rec != nil && len(batch) > 0 {
			w, err := rec.WriteFrames(batch)
			if err != nil {
				n += uint64(w)
				if errors.Is(err, errRotationDone) {
					return n, nil
				}
				return n, err
			}
		}
		n += uint64(len(batch))
		if printer != nil {
			for i := range batch {
				data, info := batch[i].Data, batch[i].Info
				if info.VLAN && len(data) <= cap(buf)-4 {
					buf = buf[:len(data)]
					copy(buf, data)
					data = buf[:capture.InsertVLAN(buf[:cap(buf)], len(data), info)]
				}
				if err := printer.Print(info.Time, data, info.Dir, ""); err != nil {
					return n, err
				}
			}
		}
	}
	return n, nil
}

// removeOnError removes path when *err is set: a command that fails leaves no
// partial output file behind.
func removeOnError(path string, err *error) {
	if *err != nil && path != "" {
		os.Remove(path)
	}
}
