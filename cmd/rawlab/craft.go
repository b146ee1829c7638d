package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// craftFlags are the flags every `craft` subcommand shares: the Ethernet
// header, the outputs and sending.
type craftFlags struct {
	srcMAC, dstMAC string
	vlan           int
	vlanPrio       int

	hex    bool
	write  string
	format string

	send  bool
	count int
	rate  float64
	wait  time.Duration
}

func (f *craftFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.srcMAC, "src-mac", "", "Ethernet source `MAC` (default: the interface's, or 00:00:00:00:00:00 without -i)")
	fl.StringVar(&f.dstMAC, "dst-mac", "", "Ethernet destination `MAC` (default depends on the frame)")
	fl.IntVar(&f.vlan, "vlan", -1, "add an 802.1Q tag with VLAN `ID` (0-4095)")
	fl.IntVar(&f.vlanPrio, "vlan-priority", 0, "802.1Q priority code point `PCP` (0-7)")
	fl.BoolVar(&f.hex, "hex", false, "print a hex dump of the frame")
	fl.StringVarP(&f.write, "write", "w", "", "write the frame to `FILE` (pcapng, or pcap with --format pcap)")
	fl.StringVar(&f.format, "format", "pcapng", "file format for -w: pcapng or pcap")
	fl.BoolVar(&f.send, "send", false, "send the frame on the interface given with -i")
	fl.IntVar(&f.count, "count", 1, "with --send: send `N` copies")
	fl.Float64Var(&f.rate, "rate", 0, "with --send: at most `PPS` frames per second (0: as fast as possible)")
	fl.DurationVar(&f.wait, "wait", 0, "with --send: wait `D` for replies that match the frame and print them")
}

// craftSpec is what a subcommand built: the frame, how to recognise replies
// to it, and which built-in filter catches them.
type craftSpec struct {
	frames [][]byte
	match  func(frame []byte) bool
	filter string
}

// ether is the validated Ethernet part of the flags.
type ether struct {
	ifi  *net.Interface
	src  net.HardwareAddr
	dst  net.HardwareAddr // nil: the subcommand picks
	vlan *craft.VLAN
}

func (e ether) header(defaultDst net.HardwareAddr, t craft.EtherType) craft.Ethernet {
	dst := e.dst
	if dst == nil {
		dst = defaultDst
	}
	return craft.Ethernet{Dst: dst, Src: e.src, VLAN: e.vlan, EtherType: t}
}

// validate checks the shared flags and the interface. It sends nothing.
func (f *craftFlags) validate(a *app) (ether, error) {
	var e ether
	if f.send || f.wait > 0 {
		ifname, err := a.needInterface()
		if err != nil {
			return e, err
		}
		ifi, err := capture.LookupInterface(ifname)
		if err != nil {
			return e, usageError(err)
		}
		e.ifi = ifi
	} else if a.iface != "" {
		ifi, err := capture.LookupInterface(a.iface)
		if err != nil {
			return e, usageError(err)
		}
		e.ifi = ifi
	}
	if f.wait > 0 && !f.send {
		return e, usageErrorf("craft: --wait needs --send")
	}
	if f.count < 1 {
		return e, usageErrorf("craft: --count must be at least 1")
	}
	if f.rate < 0 {
		return e, usageErrorf("craft: --rate must not be negative")
	}
	if _, err := capture.ParseFormat(f.format); err != nil {
		return e, usageError(fmt.Errorf("craft: %w", err))
	}
	var err error
	switch {
	case f.srcMAC != "":
		if e.src, err = parseMACFlag("--src-mac", f.srcMAC); err != nil {
			return e, err
		}
	case e.ifi != nil:
		e.src = e.ifi.HardwareAddr
	default:
		e.src = make(net.HardwareAddr, 6)
	}
	if f.dstMAC != "" {
		if e.dst, err = parseMACFlag("--dst-mac", f.dstMAC); err != nil {
			return e, err
		}
	}
	if f.vlan >= 0 {
		if f.vlan > 4095 {
			return e, usageErrorf("craft: --vlan %d: want 0-4095", f.vlan)
		}
		if f.vlanPrio < 0 || f.vlanPrio > 7 {
			return e, usageErrorf("craft: --vlan-priority %d: want 0-7", f.vlanPrio)
		}
		e.vlan = &craft.VLAN{ID: uint16(f.vlan), Priority: uint8(f.vlanPrio)}
	}
	return e, nil
}

// parseMACFlag parses a MAC flag, accepting "random" for a random locally
// administered unicast address.
func parseMACFlag(name, s string) (net.HardwareAddr, error) {
	if strings.EqualFold(s, "random") {
		return craft.RandomMAC(), nil
	}
	mac, err := craft.ParseMAC(s)
	if err != nil {
		return nil, usageErrorf("%s: %v", name, err)
	}
	return mac, nil
}

// parseIPv4Flag parses an IPv4 address flag; empty gives def.
func parseIPv4Flag(name, s string, def netip.Addr) (netip.Addr, error) {
	if s == "" {
		return def, nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || !ip.Is4() {
		return netip.Addr{}, usageErrorf("%s %q: not an IPv4 address", name, s)
	}
	return ip, nil
}

func newCraftCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "craft",
		Short: "Build a frame from flags: print it, dump it, write it or send it",
		Long: `Craft builds one Ethernet frame (ARP, ICMP echo, DHCP, or raw bytes) from
flags, computing every length and checksum, and then:

  prints it decoded (the default), and/or
  --hex      prints a hex dump,
  -w FILE    writes it to pcapng (or pcap with --format pcap),
  --send     sends it on -i IF (--count N, --rate PPS),
  --wait D   with --send: prints the replies that match it (the ARP reply to
             our request, the DHCP reply with our xid, the echo reply with our
             id and sequence) and exits 1 when none came.`,
		Example: `  rawlab craft arp --op request --target-ip 198.18.0.1 --sender-ip 0.0.0.0 --src-mac 02:00:00:00:00:01 --vlan 10
  rawlab craft dhcp --type discover --xid 0 --mac 02:00:00:00:00:01 --option 55=1,3,6,15 --hostname lab1 --hex
  rawlab craft icmp -i veth0 --dst-ip 198.18.0.1 --src-ip 198.18.0.2 --send --wait 1s`,
	}
	cmd.AddCommand(newCraftARPCmd(a), newCraftICMPCmd(a), newCraftDHCPCmd(a), newCraftRawCmd(a))
	return cmd
}

func newCraftRawCmd(a *app) *cobra.Command {
	var f craftFlags
	var hexData string
	cmd := &cobra.Command{
		Use:   "raw --hex-data HEX",
		Short: "A frame from raw bytes given in hex",
		Example: `  rawlab craft raw --hex-data "ffffffffffff 020000000001 0806 ..."
  rawlab craft raw --hex-data ffffffffffff0200000000010800 -w one.pcapng`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := f.validate(a); err != nil {
				return err
			}
			frame, err := parseHexData(hexData)
			if err != nil {
				return usageErrorf("craft raw: --hex-data: %v", err)
			}
			if len(frame) < craft.EthernetHeaderLen {
				return usageErrorf("craft raw: --hex-data: %d bytes is shorter than an Ethernet header (14)", len(frame))
			}
			return runCraft(cmd.Context(), a, &f, craftSpec{frames: [][]byte{frame}})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&hexData, "hex-data", "", "the whole frame in `HEX` (spaces, colons and dashes ignored)")
	cmd.MarkFlagRequired("hex-data")
	return cmd
}

// parseHexData decodes hex with optional separators.
func parseHexData(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', ':', '-', '.':
			return -1
		}
		return r
	}, strings.TrimPrefix(strings.TrimSpace(s), "0x"))
	if clean == "" {
		return nil, errors.New("empty")
	}
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("not hex: %w", err)
	}
	return b, nil
}

// randomUint32 returns a random value for an xid or an identifier.
func randomUint32() uint32 {
	var b [4]byte
	rand.Read(b[:]) // never fails since Go 1.24
	return binary.BigEndian.Uint32(b[:])
}

// parseUintFlag parses a decimal or 0x-hex unsigned flag of the given width.
func parseUintFlag(name, s string, bits int) (uint64, error) {
	n, err := strconv.ParseUint(s, 0, bits)
	if err != nil {
		return 0, usageErrorf("%s %q: want an integer from 0 to %d", name, s, uint64(1)<<bits-1)
	}
	return n, nil
}

// runCraft does the outputs the flags ask for: print, hex, file, send, wait.
func runCraft(ctx context.Context, a *app, f *craftFlags, spec craftSpec) (err error) {
	// Open the socket before anything else that can fail late, so that a
	// permission problem stops us before a file is written.
	var conn *capture.Conn
	if f.send {
		cfg := capture.Config{}
		if f.wait > 0 && spec.filter != "" {
			prog, err := capture.BuiltinFilter(spec.filter)
			if err != nil {
				return err
			}
			cfg.Filter = prog
		}
		conn, err = capture.Listen(a.iface, cfg)
		if err != nil {
			return usageError(err)
		}
		defer conn.Close()
	}
	var rec *capture.Recorder
	if f.write != "" {
		format, _ := capture.ParseFormat(f.format)
		rec, err = capture.CreateRecorder(f.write, capture.RecorderOptions{Format: format, Interface: a.iface})
		if err != nil {
			return usageError(err)
		}
		defer func() {
			if cerr := rec.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}()
	}

	p := newFramePrinter(a.stdout, a.json)
	now := time.Now()
	for _, frame := range spec.frames {
		if !f.send {
			if err := p.Print(time.Time{}, frame, 0, ""); err != nil {
				return err
			}
			if f.hex {
				fmt.Fprint(a.stdout, hex.Dump(frame))
			}
			if rec != nil {
				if err := rec.Write(capture.Record{Time: now, Data: frame, Dir: capture.Outbound}); err != nil {
					return err
				}
			}
		}
	}
	if !f.send {
		return nil
	}

	// Sending: pace with a ticker (an event, not a sleep per frame), then
	// collect replies until --wait runs out.
	var tick *time.Ticker
	if f.rate > 0 {
		tick = time.NewTicker(time.Duration(float64(time.Second) / f.rate))
		defer tick.Stop()
	}
	sent := 0
	for i := 0; i < f.count; i++ {
		frame := spec.frames[i%len(spec.frames)]
		if i > 0 && tick != nil {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return fmt.Errorf("craft: %w", ctx.Err())
			}
		}
		ts := time.Now()
		if err := conn.WriteFrame(ctx, frame); err != nil {
			return fmt.Errorf("craft: send: %w", err)
		}
		sent++
		if err := p.Print(ts, frame, capture.Outbound, ""); err != nil {
			return err
		}
		if f.hex {
			fmt.Fprint(a.stdout, hex.Dump(frame))
		}
		if rec != nil {
			if err := rec.Write(capture.Record{Time: ts, Data: frame, Dir: capture.Outbound, Comment: fmt.Sprintf("sent %d/%d", i+1, f.count)}); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(a.stderr, "%d sent on %s\n", sent, a.iface)
	if f.wait <= 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, f.wait)
	defer cancel()
	buf := make([]byte, 65536)
	replies := 0
	for {
		n, info, err := conn.ReadFrame(wctx, buf)
		if err != nil {
			if wctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				break
			}
			return fmt.Errorf("craft: receive: %w", err)
		}
		frame := buf[:n]
		if info.Dir == capture.Outbound || spec.match == nil || !spec.match(frame) {
			continue
		}
		replies++
		if err := p.Print(info.Time, frame, info.Dir, ""); err != nil {
			return err
		}
		if rec != nil {
			if err := rec.Write(capture.Record{Time: info.Time, Data: frame, Length: info.Length, Dir: info.Dir, Comment: "reply"}); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(a.stderr, "%d replies within %s\n", replies, f.wait)
	if ctx.Err() != nil {
		return fmt.Errorf("craft: %w", ctx.Err())
	}
	if replies == 0 {
		return silent(exitFailed)
	}
	return nil
}

// outputPathCheck refuses to overwrite a directory and makes sure the file's
// directory exists, before anything is sent.
func outputPathCheck(path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usageErrorf("%s is a directory", path)
	}
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return usageError(err)
	}
	return nil
}
