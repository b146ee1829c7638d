package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/send"
	"github.com/rawlab/rawlab/internal/outfile"
	"github.com/rawlab/rawlab/internal/privdrop"
)

// craftFlags are the flags every `craft` subcommand shares.
type craftFlags struct {
	srcMAC, dstMAC             craft.MACFlag
	badChecksum, write, format string
	vlans, vlanPrio            []int
	hex, send                  bool
	count                      int
	rate                       float64
	wait                       time.Duration
}

func (f *craftFlags) register(fl *pflag.FlagSet) {
	fl.Var(&f.srcMAC, "src-mac", "Ethernet source, or random (default: the interface's, or zero without -i)")
	fl.Var(&f.dstMAC, "dst-mac", "Ethernet destination, or random (default depends on the frame)")
	fl.IntSliceVar(&f.vlans, "vlan", nil, "802.1Q tag with VLAN `ID` 0-4095; several (100,10) stack QinQ tags, outermost first")
	fl.IntSliceVar(&f.vlanPrio, "vlan-priority", nil, "priority code point `PCP` 0-7 of the tags: one for all, or one per --vlan")
	fl.StringVar(&f.badChecksum, "bad-checksum", "", "make a checksum wrong on purpose: ip, udp or icmp")
	fl.BoolVar(&f.hex, "hex", false, "print a hex dump of each frame")
	fl.StringVarP(&f.write, "write", "w", "", "write the frames to `FILE` (pcapng, or pcap with --format pcap)")
	fl.StringVar(&f.format, "format", "pcapng", "file format for -w: pcapng or pcap")
	fl.BoolVar(&f.send, "send", false, "send on the interface given with -i")
	fl.IntVar(&f.count, "count", 1, "with --send: send `N` frames")
	fl.Float64Var(&f.rate, "rate", 0, "with --send: at most `PPS` frames per second (0: as fast as possible)")
	fl.DurationVar(&f.wait, "wait", 0, "with --send: wait `D` (500ms, 2s) for replies that match and print them")
}

// ether is the validated Ethernet part of the flags.
type ether struct {
	src, dst net.HardwareAddr // dst nil: the subcommand picks
	vlans    []craft.VLAN
	bad      craft.ChecksumLayer
}

// header returns the Ethernet header; runCraft inserts the tags.
func (e ether) header(defaultDst net.HardwareAddr, t craft.EtherType) craft.Ethernet {
	return craft.Ethernet{Dst: cmp0(e.dst, defaultDst), Src: e.src, EtherType: t}
}

// validate checks the shared flags, then the interface. It sends nothing.
func (f *craftFlags) validate(a *app, fl *pflag.FlagSet) (e ether, err error) {
	switch {
	case f.count < 1 || f.count > send.MaxCount:
		return e, usageErrorf("--count %d: want 1-%d", f.count, send.MaxCount)
	case !(f.rate >= 0) || math.IsInf(f.rate, 0):
		return e, usageErrorf("--rate %v: want a number of frames per second, 0 (as fast as possible) or more", f.rate)
	case f.wait < 0:
		return e, usageErrorf("--wait %v: want a duration of 0 or more", f.wait)
	case f.wait != 0 && !f.send:
		return e, usageErrorf("--wait needs --send")
	case fl.Changed("count") && !f.send:
		return e, usageErrorf("--count needs --send")
	}
	if e.vlans, err = craft.ParseVLANs(f.vlans, f.vlanPrio); err != nil {
		return e, usageErrorf("--vlan/--vlan-priority: %v", stripPkg(err))
	}
	if f.badChecksum != "" {
		if e.bad, err = craft.ParseChecksumLayer(f.badChecksum); err != nil {
			return e, usageErrorf("--bad-checksum: %v", stripPkg(err))
		}
	}
	if _, err := capture.ParseFormat(f.format); err != nil {
		return e, usageErrorf("--format: %v", stripPkg(err))
	}
	if err := outputPathCheck(f.write); err != nil {
		return e, err
	}
	e.src, e.dst = f.srcMAC.HardwareAddr, f.dstMAC.HardwareAddr
	if f.send || a.iface != "" { // the environment last, so bad usage is named first
		ifname, err := a.needInterface()
		if err != nil {
			return e, err
		}
		ifi, err := capture.LookupInterface(ifname)
		if err != nil {
			return e, usageError(err)
		}
		if e.src == nil {
			e.src = ifi.HardwareAddr
		}
	}
	if e.src == nil {
		e.src = make(net.HardwareAddr, 6)
	}
	return e, nil
}

// stripPkg removes a package's "craft: " style prefix from err's text (the
// user ran a command, not a package), keeping err for errors.Is.
func stripPkg(err error) error {
	msg := err.Error()
	for _, p := range []string{"craft: ", "dhcpopt: ", "send: ", "capture: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return &plainError{msg, err}
}

type plainError struct {
	msg string
	err error
}

func (e *plainError) Error() string { return e.msg }
func (e *plainError) Unwrap() error { return e.err }

// outputPathCheck validates an output path before anything is sent.
func outputPathCheck(path string) error {
	if path == "" {
		return nil
	}
	return usageError(outfile.Check(path))
}

// parseMACFlag and parseIPv4Flag parse a flag's string with craft's flag
// values ("" gives nil and def); other commands use them.
func parseMACFlag(name, s string) (net.HardwareAddr, error) {
	var m craft.MACFlag
	if err := m.Set(s); s != "" && err != nil {
		return nil, usageErrorf("%s %q: %v", name, s, err)
	}
	return m.HardwareAddr, nil
}

func parseIPv4Flag(name, s string, def netip.Addr) (netip.Addr, error) {
	var a craft.IPv4Flag
	if err := a.Set(s); s != "" && err != nil {
		return netip.Addr{}, usageErrorf("%s %q: %v", name, s, err)
	}
	return a.Or(def), nil
}

// intFlag checks that an integer flag lies in [lo, hi].
func intFlag(name string, v, lo, hi int) error {
	if v < lo || v > hi {
		return usageErrorf("%s %d: want %d-%d", name, v, lo, hi)
	}
	return nil
}

func newCraftCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "craft",
		Short: "Build a frame from flags: print it, dump it, write it or send it",
		Long: `Craft builds Ethernet frames (ARP, ICMP echo, DHCP, or raw bytes) from flags,
computing every length and checksum (or spoiling one with --bad-checksum),
and prints them decoded (--json, --jsonl: docs/json.md), --hex dumps them,
-w writes them, --send sends them on -i IF (--count, --rate; built as they
go), and --wait D prints the replies that match (exit 1 when none came).`,
		Example: `  rawlab craft arp --op request --target-ip 198.18.0.1 --sender-ip 0.0.0.0 --src-mac 02:00:00:00:00:01 --vlan 10
  rawlab craft dhcp --type discover --xid 0 --mac 02:00:00:00:00:01 --option 55=1,3,6,15 --hostname lab1 --hex
  rawlab craft icmp -i veth0 --dst-ip 198.18.0.1 --src-ip 198.18.0.2 --send --wait 1s`,
	}
	cmd.AddCommand(newCraftARPCmd(a), newCraftICMPCmd(a), newCraftDHCPCmd(a), newCraftRawCmd(a))
	return cmd
}

// craftSpec is what a subcommand built: its frames, how to recognise
// replies, and the built-in filter that catches them.
type craftSpec struct {
	build  func(b []byte, i int) []byte
	match  func(frame []byte) bool
	filter string
}

// runCraft does the outputs the flags ask for: print, hex, file, send, wait.
func runCraft(ctx context.Context, a *app, f *craftFlags, e ether, spec craftSpec) (err error) {
	build, err := craft.Finish(spec.build, e.vlans, e.bad)
	if err != nil {
		return usageErrorf("--bad-checksum %s: %v", e.bad, stripPkg(err))
	}
	cfg := send.Config{Count: f.count, Build: build, Rate: f.rate, Wait: f.wait, Match: spec.match}
	// Open the socket and the file, then drop privileges, then print.
	var conn *capture.Conn
	if f.send {
		ccfg := capture.Config{SendOnly: f.wait == 0}
		if f.wait > 0 && spec.filter != "" {
			if ccfg.Filter, err = capture.BuiltinFilter(spec.filter); err != nil {
				return err
			}
		}
		if conn, err = capture.Listen(a.iface, ccfg); err != nil {
			return usageError(err)
		}
		defer conn.Close()
	}
	o := &send.Printer{W: a.stdout, Format: send.Text, Hex: f.hex}
	if a.json || a.jsonl {
		o.Format = map[bool]send.Format{true: send.JSON, false: send.JSONL}[a.json]
	}
	if f.write != "" {
		format, _ := capture.ParseFormat(f.format)
		file, err := outfile.Create(f.write, 0)
		if err != nil {
			return usageError(err)
		}
		defer file.Close()
		if o.File, err = capture.NewRecorder(file, capture.RecorderOptions{Format: format, Interface: a.iface}); err != nil {
			return err
		}
		defer func() {
			if cerr := o.File.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}()
	}
	if err := privdrop.Drop(privdrop.Config{User: a.user}); err != nil {
		return usageError(err)
	}
	if !f.send {
		if err := o.Frame(time.Time{}, cfg.Build(nil, 0), 0, 0); err != nil {
			return err
		}
		return o.End(send.Result{}, false)
	}
	cfg.Sent = func(_ int, at time.Time, frame []byte) error { return o.Frame(at, frame, capture.Outbound, 0) }
	cfg.Reply = func(frame []byte, info capture.FrameInfo) error {
		return o.Frame(info.Time, frame, info.Dir, info.Length)
	}
	res, err := send.Run(ctx, conn, cfg)
	if perr := o.End(res, ctx.Err() != nil); err == nil {
		err = perr
	}
	fmt.Fprintf(a.stderr, "%d sent on %s\n", res.Sent, a.iface)
	if f.wait > 0 {
		fmt.Fprintf(a.stderr, "%d replies within %s\n", res.Replies, f.wait)
	}
	switch {
	case err != nil:
		return stripPkg(err)
	case f.wait > 0 && res.Replies == 0:
		return silent(exitFailed)
	}
	return nil
}
