package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rawlab/rawlab/craft"
)

func newCraftARPCmd(a *app) *cobra.Command {
	var f craftFlags
	var op, senderMAC, senderIP, targetMAC, targetIP string
	cmd := &cobra.Command{
		Use:   "arp --target-ip IP [flags]",
		Short: "An ARP request, reply, gratuitous ARP or RFC 5227 probe",
		Long: `An ARP packet for IPv4 over Ethernet (RFC 826). --op is one of:

  request     who-has TARGET tell SENDER (Ethernet broadcast)
  reply       SENDER is-at SENDER-MAC, to TARGET-MAC
  probe       RFC 5227 probe: sender IP 0.0.0.0, target MAC zero
  gratuitous  request with sender and target IP both the sender's (announce)
  N           any operation code, 1-65535`,
		Example: `  rawlab craft arp --op request --target-ip 198.18.0.1 --sender-ip 0.0.0.0 --src-mac 02:00:00:00:00:01 --vlan 10
  rawlab craft arp -i veth0 --target-ip 198.18.0.1 --sender-ip 198.18.0.2 --send --wait 1s
  rawlab craft arp --op probe --target-ip 198.18.0.50 --vlan 100,10 -w probe.pcapng`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.validate(a, cmd.Flags())
			if err != nil {
				return err
			}
			sha, err := parseMACFlag("--sender-mac", senderMAC)
			if sha == nil {
				sha = e.src
			}
			tha, err2 := parseMACFlag("--target-mac", targetMAC)
			tpa, err3 := parseIPv4Flag("--target-ip", targetIP, netip.Addr{})
			spa, err4 := parseIPv4Flag("--sender-ip", senderIP, netip.IPv4Unspecified())
			if err := errors.Join(err, err2, err3, err4); err != nil {
				return usageError(err)
			}
			var p craft.ARP
			dst := craft.Broadcast
			switch o := strings.ToLower(op); {
			case o == "gratuitous" || o == "announce":
				ip := spa
				if senderIP == "" {
					ip = tpa
				}
				if !ip.IsValid() || ip.IsUnspecified() {
					return usageErrorf("a gratuitous ARP needs --sender-ip (or --target-ip)")
				}
				p = craft.NewGratuitousARP(sha, ip)
			case !tpa.IsValid():
				return usageErrorf("--target-ip is required for --op %s", op)
			case o == "request" || o == "who-has":
				p = craft.NewARPRequest(sha, spa, tpa)
			case o == "probe":
				p = craft.NewARPProbe(sha, tpa)
			case o == "reply" || o == "is-at":
				p = craft.NewARPReply(sha, spa, tha, tpa)
				if tha != nil {
					dst = tha
				}
			default:
				n, err := strconv.ParseUint(op, 0, 16)
				if err != nil || n == 0 {
					return usageErrorf("--op %q: want request, reply, probe, gratuitous or a number 1-65535", op)
				}
				p = craft.ARP{Op: craft.ARPOp(n), SenderMAC: sha, SenderIP: spa, TargetIP: tpa}
			}
			if tha != nil {
				p.TargetMAC = tha
			}
			match := func(b []byte) bool {
				var eth craft.Ethernet
				payload, err := craft.DecodeEthernet(b, &eth)
				var r craft.ARP
				return err == nil && eth.EtherType == craft.EtherTypeARP && craft.DecodeARP(payload, &r) == nil &&
					r.Op == craft.ARPReply && r.SenderIP == p.TargetIP
			}
			hdr := e.header(dst, craft.EtherTypeARP)
			build := func(b []byte, _ int) []byte { return craft.AppendARP(b, hdr, p) }
			return runCraft(cmd.Context(), a, &f, e, craftSpec{build: build, match: match, filter: "arp"})
		},
	}
	f.register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&op, "op", "request", "operation: request, reply, probe, gratuitous or a `number`")
	fl.StringVar(&senderMAC, "sender-mac", "", "sender hardware address `MAC` (default: --src-mac)")
	fl.StringVar(&senderIP, "sender-ip", "", "sender protocol address `IP` (default 0.0.0.0)")
	fl.StringVar(&targetMAC, "target-mac", "", "target hardware address `MAC` (default 00:00:00:00:00:00)")
	fl.StringVar(&targetIP, "target-ip", "", "target protocol address `IP`")
	return cmd
}

// ipFlags are the IPv4 header fields the UDP- and ICMP-based subcommands set.
type ipFlags struct {
	src, dst     string
	ttl, id, tos int
	df           bool
}

// register adds the flags; DHCP's addressing has no --tos or --df.
func (f *ipFlags) register(fl *pflag.FlagSet, tosDF bool) {
	fl.StringVar(&f.src, "src-ip", "", "IPv4 source `IP` (default 0.0.0.0)")
	fl.StringVar(&f.dst, "dst-ip", "", "IPv4 destination `IP`")
	fl.IntVar(&f.ttl, "ttl", craft.DefaultTTL, "IPv4 time to live `N` (1-255)")
	fl.IntVar(&f.id, "ip-id", 0, "IPv4 identification `N` (0-65535)")
	if tosDF {
		fl.IntVar(&f.tos, "tos", 0, "IPv4 type of service `N` (0-255)")
		fl.BoolVar(&f.df, "df", false, "set the IPv4 don't-fragment flag")
	}
}

// header returns the IPv4 header; dstDef stands for a missing --dst-ip,
// or makes it required when not valid.
func (f *ipFlags) header(proto uint8, srcDef, dstDef netip.Addr) (craft.IPv4, error) {
	src, err := parseIPv4Flag("--src-ip", f.src, srcDef)
	if err != nil {
		return craft.IPv4{}, err
	}
	dst, err := parseIPv4Flag("--dst-ip", f.dst, dstDef)
	if err != nil {
		return craft.IPv4{}, err
	}
	if !dst.IsValid() {
		return craft.IPv4{}, usageErrorf("--dst-ip is required")
	}
	if err := errors.Join(intFlag("--ttl", f.ttl, 1, 255), intFlag("--ip-id", f.id, 0, 65535), intFlag("--tos", f.tos, 0, 255)); err != nil {
		return craft.IPv4{}, err
	}
	return craft.IPv4{TOS: uint8(f.tos), ID: uint16(f.id), DontFragment: f.df, TTL: uint8(f.ttl), Protocol: proto, Src: src, Dst: dst}, nil
}

// maxEchoData is the most echo data an untagged 1500-byte MTU carries.
const maxEchoData = 1500 - craft.IPv4HeaderLen - craft.ICMPEchoHeaderLen

func newCraftICMPCmd(a *app) *cobra.Command {
	var f craftFlags
	var ipf ipFlags
	var id, seq, size int
	var data string
	cmd := &cobra.Command{
		Use:   "icmp --dst-ip IP [flags]",
		Short: "An ICMPv4 echo request (RFC 792)",
		Long: `An ICMPv4 echo request in IPv4 in Ethernet. Without --dst-mac the Ethernet
destination is the broadcast address; give the peer's MAC for a unicast
echo (rawlab arping finds it). With --count N the sequence number counts up.`,
		Example: `  rawlab craft icmp --dst-ip 198.18.0.1 --src-ip 198.18.0.2 --id 7 --seq 1 --hex
  rawlab craft icmp -i veth0 --dst-ip 198.18.0.1 --src-ip 198.18.0.2 --dst-mac 02:00:00:00:00:01 --send --count 3 --wait 1s
  rawlab craft icmp --dst-ip 198.18.0.1 --bad-checksum icmp -w bad.pcapng`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.validate(a, cmd.Flags())
			if err != nil {
				return err
			}
			ip, err := ipf.header(craft.ProtocolICMP, netip.IPv4Unspecified(), netip.Addr{})
			if err != nil {
				return err
			}
			if err := errors.Join(intFlag("--id", id, 0, 65535), intFlag("--seq", seq, 0, 65535), intFlag("--size", size, 0, maxEchoData)); err != nil {
				return err
			}
			if !cmd.Flags().Changed("id") {
				var b [2]byte
				rand.Read(b[:]) // never fails since Go 1.24
				id = int(binary.BigEndian.Uint16(b[:]))
			}
			payload := make([]byte, size)
			for i := range payload {
				payload[i] = byte(i)
			}
			if data != "" {
				if cmd.Flags().Changed("size") {
					return usageErrorf("--data and --size exclude each other")
				}
				if payload, err = parseHexData(data); err != nil || len(payload) > maxEchoData {
					return usageErrorf("--data: %d bytes or %v: want hex of at most %d bytes", len(payload), err, maxEchoData)
				}
			}
			hdr := e.header(craft.Broadcast, craft.EtherTypeIPv4)
			build := func(b []byte, i int) []byte {
				echo := craft.ICMPEcho{Type: craft.ICMPEchoRequest, ID: uint16(id), Seq: uint16(seq + i), Data: payload}
				return craft.AppendICMPEcho(b, hdr, ip, echo)
			}
			first, n := uint16(seq), uint16(min(f.count, 65536)-1)
			match := func(b []byte) bool {
				var p craft.Packet
				return craft.DecodePacket(b, &p) == nil && p.Layers&craft.LayerICMPEcho != 0 && p.ICMP.Type == craft.ICMPEchoReply &&
					p.ICMP.ID == uint16(id) && p.ICMP.Seq-first <= n && bytes.Equal(p.ICMP.Data, payload)
			}
			return runCraft(cmd.Context(), a, &f, e, craftSpec{build: build, match: match, filter: "icmp"})
		},
	}
	f.register(cmd.Flags())
	ipf.register(cmd.Flags(), true)
	fl := cmd.Flags()
	fl.IntVar(&id, "id", 0, "echo identifier `N` (default random)")
	fl.IntVar(&seq, "seq", 1, "echo sequence number `N` of the first request")
	fl.IntVar(&size, "size", 56, fmt.Sprintf("payload size in `BYTES`, 0-%d (a counting pattern)", maxEchoData))
	fl.StringVar(&data, "data", "", "payload in `HEX` instead of --size")
	return cmd
}

func newCraftRawCmd(a *app) *cobra.Command {
	var f craftFlags
	var hexData string
	cmd := &cobra.Command{
		Use:   "raw --hex-data HEX",
		Short: "A frame from raw bytes given in hex",
		Long: `A frame from raw bytes. --src-mac and --dst-mac overwrite its addresses,
--vlan inserts tags after them, --bad-checksum spoils an IPv4, UDP or ICMP
checksum it holds; nothing else is changed (no padding, no checksums).`,
		Example: `  rawlab craft raw --hex-data "ffffffffffff 020000000001 0806 ..."
  rawlab craft raw --hex-data ffffffffffff0200000000010800 --vlan 5 -w one.pcapng`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.validate(a, cmd.Flags())
			if err != nil {
				return err
			}
			frame, err := parseHexData(hexData)
			if err != nil {
				return usageErrorf("--hex-data: %v", err)
			}
			if len(frame) < craft.EthernetHeaderLen {
				return usageErrorf("--hex-data: %d bytes is shorter than an Ethernet header (14)", len(frame))
			}
			if cmd.Flags().Changed("src-mac") {
				copy(frame[6:12], e.src)
			}
			if e.dst != nil {
				copy(frame[0:6], e.dst)
			}
			if e.bad != 0 {
				if err := craft.BreakChecksum(frame, e.bad); err != nil {
					return usageErrorf("--bad-checksum %s: %v", e.bad, stripPkg(err))
				}
			}
			tags := e.vlans // all of them, inserted as given: a raw frame is not padded
			build := func(b []byte, _ int) []byte { return craft.AppendTagged(b, frame, tags) }
			return runCraft(cmd.Context(), a, &f, ether{}, craftSpec{build: build})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&hexData, "hex-data", "", "the whole frame in `HEX` (spaces, colons, dots and dashes ignored)")
	cmd.MarkFlagRequired("hex-data")
	return cmd
}

// parseHexData decodes hex with optional separators.
func parseHexData(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if strings.ContainsRune(" \t\n:-.", r) {
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
