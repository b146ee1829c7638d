package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
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
	srcMAC, dstMAC string
	vlans          []int
	vlanPrio       []int
	badChecksum    string
	hex            bool
	write, format  string
	send           bool
	count          int
	rate           float64
	wait           time.Duration
}

func (f *craftFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.srcMAC, "src-mac", "", "Ethernet source `MAC`, or random (default: the interface's, or zero without -i)")
	fl.StringVar(&f.dstMAC, "dst-mac", "", "Ethernet destination `MAC`, or random (default depends on the frame)")
	fl.IntSliceVar(&f.vlans, "vlan", nil, "802.1Q tag with VLAN `ID` 0-4095; several (100,10 or repeated) stack QinQ tags, outermost first (802.1ad TPID outside)")
	fl.IntSliceVar(&f.vlanPrio, "vlan-priority", nil, "priority code point `PCP` 0-7 of the tags: one for all, or one per --vlan")
	fl.StringVar(&f.badChecksum, "bad-checksum", "", "send a wrong checksum on purpose: ip, udp or icmp")
	fl.BoolVar(&f.hex, "hex", false, "print a hex dump of each frame")
	fl.StringVarP(&f.write, "write", "w", "", "write the frames to `FILE` (pcapng, or pcap with --format pcap)")
	fl.StringVar(&f.format, "format", "pcapng", "file format for -w: pcapng or pcap")
	fl.BoolVar(&f.send, "send", false, "send on the interface given with -i")
	fl.IntVar(&f.count, "count", 1, "with --send: send `N` frames")
	fl.Float64Var(&f.rate, "rate", 0, "with --send: at most `PPS` frames per second (0: as fast as possible)")
	fl.DurationVar(&f.wait, "wait", 0, "with --send: wait `D` (a Go duration: 500ms, 2s) for replies that match and print them")
}

// ether is the validated Ethernet part of the flags.
type ether struct {
	ifi      *net.Interface
	src, dst net.HardwareAddr // dst nil: the subcommand picks
	vlans    []craft.VLAN
	bad      craft.ChecksumLayer
}

// header returns the Ethernet header; one tag goes in it (the builders pad
// the frame with it), a stack is added by tagged.
func (e ether) header(defaultDst net.HardwareAddr, t craft.EtherType) craft.Ethernet {
	h := craft.Ethernet{Dst: e.dst, Src: e.src, EtherType: t}
	if h.Dst == nil {
		h.Dst = defaultDst
	}
	if len(e.vlans) == 1 {
		h.VLAN = &e.vlans[0]
	}
	return h
}

// frames wraps a builder with what the shared flags add: a spoiled checksum
// and stacked tags. It reuses one scratch buffer.
func (e ether) frames(build func(b []byte, i int) []byte) func([]byte, int) []byte {
	var tmp []byte
	return func(b []byte, i int) []byte {
		if e.bad == 0 && len(e.vlans) < 2 {
			return build(b, i)
		}
		tmp = build(tmp[:0], i)
		if e.bad != 0 {
			craft.BreakChecksum(tmp, e.bad) // checked on frame 0 by validate
		}
		if len(e.vlans) < 2 {
			return append(b, tmp...)
		}
		return craft.AppendTagged(b, tmp, e.vlans)
	}
}

// validate checks the shared flags and the interface. It sends nothing.
func (f *craftFlags) validate(a *app, fl *pflag.FlagSet) (ether, error) {
	var e ether
	var err error
	if err := intFlag("--count", f.count, 1, send.MaxCount); err != nil {
		return e, err
	}
	switch {
	case f.wait != 0 && !f.send:
		return e, usageErrorf("--wait needs --send")
	case fl.Changed("count") && !f.send:
		return e, usageErrorf("--count needs --send")
	case len(f.vlanPrio) > 0 && len(f.vlans) == 0:
		return e, usageErrorf("--vlan-priority needs --vlan")
	case len(f.vlanPrio) > 1 && len(f.vlanPrio) != len(f.vlans):
		return e, usageErrorf("--vlan-priority: %d values for %d tags: give one, or one per tag", len(f.vlanPrio), len(f.vlans))
	}
	if f.write != "" {
		if err := outfile.Check(f.write); err != nil {
			return e, usageError(err)
		}
	}
	if !(f.rate >= 0) || math.IsInf(f.rate, 0) {
		return e, usageErrorf("--rate %v: want a number of frames per second, 0 (as fast as possible) or more", f.rate)
	}
	if f.wait < 0 {
		return e, usageErrorf("--wait %v: want a duration of 0 or more", f.wait)
	}
	if _, err := capture.ParseFormat(f.format); err != nil {
		return e, usageError(fmt.Errorf("--format: %w", err))
	}
	for i, id := range f.vlans {
		v := craft.VLAN{ID: uint16(id)}
		if id < 0 || id > craft.MaxVLANID {
			return e, usageErrorf("--vlan %d: want 0-%d", id, craft.MaxVLANID)
		}
		if len(f.vlanPrio) > 0 {
			p := f.vlanPrio[min(i, len(f.vlanPrio)-1)]
			if p < 0 || p > 7 {
				return e, usageErrorf("--vlan-priority %d: want 0-7", p)
			}
			v.Priority = uint8(p)
		}
		e.vlans = append(e.vlans, v)
	}
	if f.badChecksum != "" {
		if e.bad, err = craft.ParseChecksumLayer(f.badChecksum); err != nil {
			return e, usageError(fmt.Errorf("--bad-checksum: %w", stripPkg(err)))
		}
	}
	if e.src, err = parseMACFlag("--src-mac", f.srcMAC); err != nil {
		return e, err
	}
	if e.dst, err = parseMACFlag("--dst-mac", f.dstMAC); err != nil {
		return e, err
	}
	// The environment last, so that bad usage is named first.
	if f.send || a.iface != "" {
		ifname, err := a.needInterface()
		if err != nil {
			return e, err
		}
		if e.ifi, err = capture.LookupInterface(ifname); err != nil {
			return e, usageError(err)
		}
	}
	if e.src == nil && e.ifi != nil {
		e.src = e.ifi.HardwareAddr
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

// parseMACFlag parses a MAC flag with craft.ParseMAC; "random" gives a
// random locally administered unicast address, "" nil.
func parseMACFlag(name, s string) (net.HardwareAddr, error) {
	if s == "" {
		return nil, nil
	}
	if strings.EqualFold(s, "random") {
		return craft.RandomMAC(), nil
	}
	mac, err := craft.ParseMAC(s)
	if err != nil {
		return nil, usageErrorf("%s: %v", name, stripPkg(err))
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
and then:

  prints it decoded (the default; --json, --jsonl as docs/json.md says),
  --hex      prints a hex dump,
  -w FILE    writes it to pcapng (or pcap with --format pcap),
  --send     sends it on -i IF (--count N, --rate PPS), frames built as sent,
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

// craftSpec is what a subcommand built: its frames, how to recognise
// replies, and the built-in filter that catches them.
type craftSpec struct {
	build  func(b []byte, i int) []byte
	match  func(frame []byte) bool
	filter string
}

// maxJSONFrames bounds the frames one --json document lists; --jsonl
// streams them all.
const maxJSONFrames = 1000

// craftOut prints frames as text, JSON lines or one JSON document.
type craftOut struct {
	a      *app
	hex    bool
	rec    *capture.Recorder
	doc    craftDoc
	frames int
}

type craftDoc struct {
	Frames      []craftFrame `json:"frames"`
	Sent        int          `json:"sent"`
	Received    int          `json:"received"`
	Truncated   bool         `json:"frames_truncated,omitempty"`
	Interrupted bool         `json:"interrupted,omitempty"`
}

type craftFrame struct {
	Record    string        `json:"record,omitempty"`
	Time      *time.Time    `json:"time,omitempty"`
	Direction string        `json:"direction,omitempty"`
	Frame     craft.Summary `json:"frame"`
}

func (o *craftOut) frame(at time.Time, frame []byte, dir capture.Direction, length int) error {
	s := craft.SummarizeLink(craft.LinkEthernet, frame, max(length, len(frame)))
	r := craftFrame{Frame: s}
	if !at.IsZero() {
		at = at.UTC()
		r.Time = &at
	}
	if dir != 0 {
		r.Direction = dir.String()
	}
	if o.rec != nil {
		if err := o.rec.Write(capture.Record{Time: at, Data: frame, Length: length, Dir: dir}); err != nil {
			return err
		}
	}
	switch {
	case o.a.jsonl:
		r.Record = "frame"
		return json.NewEncoder(o.a.stdout).Encode(r)
	case o.a.json:
		if o.frames++; o.frames > maxJSONFrames {
			o.doc.Truncated = true
			return nil
		}
		o.doc.Frames = append(o.doc.Frames, r)
		return nil
	}
	line := s.String()
	if !at.IsZero() {
		line = at.Local().Format("15:04:05.000000") + " " + map[capture.Direction]string{capture.Inbound: "In  ", capture.Outbound: "Out "}[dir] + line
	}
	if _, err := fmt.Fprintln(o.a.stdout, line); err != nil {
		return err
	}
	if o.hex {
		_, err := fmt.Fprint(o.a.stdout, hex.Dump(frame))
		return err
	}
	return nil
}

// end prints the document or the summary line.
func (o *craftOut) end(sent, received int, interrupted bool) error {
	switch {
	case o.a.jsonl && sent > 0:
		return json.NewEncoder(o.a.stdout).Encode(map[string]any{"record": "summary", "sent": sent, "received": received})
	case o.a.json:
		o.doc.Sent, o.doc.Received, o.doc.Interrupted = sent, received, interrupted
		if o.doc.Frames == nil {
			o.doc.Frames = []craftFrame{}
		}
		return json.NewEncoder(o.a.stdout).Encode(o.doc)
	}
	return nil
}

// runCraft does the outputs the flags ask for: print, hex, file, send, wait.
func runCraft(ctx context.Context, a *app, f *craftFlags, e ether, spec craftSpec) (err error) {
	build := e.frames(spec.build)
	if e.bad != 0 {
		if err := craft.BreakChecksum(spec.build(nil, 0), e.bad); err != nil {
			return usageError(fmt.Errorf("--bad-checksum %s: %w", e.bad, stripPkg(err)))
		}
	}
	cfg := send.Config{Count: f.count, Build: build, Rate: f.rate, Wait: f.wait, Match: spec.match}
	// Open the socket and the file before dropping privileges, and both
	// before anything is printed.
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
	o := &craftOut{a: a, hex: f.hex}
	if f.write != "" {
		format, _ := capture.ParseFormat(f.format)
		file, err := outfile.Create(f.write, 0)
		if err != nil {
			return usageError(err)
		}
		defer file.Close()
		if o.rec, err = capture.NewRecorder(file, capture.RecorderOptions{Format: format, Interface: a.iface}); err != nil {
			return err
		}
		defer func() {
			if cerr := o.rec.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}()
	}
	if err := privdrop.Drop(privdrop.Config{User: a.user}); err != nil {
		return usageError(err)
	}
	if !f.send {
		if err := o.frame(time.Time{}, build(nil, 0), 0, 0); err != nil {
			return err
		}
		return o.end(0, 0, false)
	}
	cfg.Sent = func(_ int, at time.Time, frame []byte) error { return o.frame(at, frame, capture.Outbound, 0) }
	cfg.Reply = func(frame []byte, info capture.FrameInfo) error {
		return o.frame(info.Time, frame, info.Dir, info.Length)
	}
	res, err := send.Run(ctx, conn, cfg)
	interrupted := ctx.Err() != nil
	if perr := o.end(res.Sent, res.Replies, interrupted); err == nil {
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
