package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rawlab/rawlab/craft"
)

func newCraftARPCmd(a *app) *cobra.Command {
	var f craftFlags
	var op string
	var senderMAC, targetMAC craft.MACFlag
	var senderIP, targetIP craft.IPv4Flag
	cmd := &cobra.Command{
		Use:   "arp --target-ip IP [flags]",
		Short: "An ARP request, reply, gratuitous ARP or RFC 5227 probe",
		Long: `An ARP packet for IPv4 over Ethernet (RFC 826). --op is request (who-has
TARGET tell SENDER, broadcast), reply (SENDER is-at SENDER-MAC, to
TARGET-MAC), probe (RFC 5227: sender IP 0.0.0.0), gratuitous (sender and
target IP both the sender's) or any operation code 1-65535.`,
		Example: `  rawlab craft arp --op request --target-ip 198.18.0.1 --sender-ip 0.0.0.0 --src-mac 02:00:00:00:00:01 --vlan 10
  rawlab craft arp -i veth0 --target-ip 198.18.0.1 --sender-ip 198.18.0.2 --send --wait 1s
  rawlab craft arp --op probe --target-ip 198.18.0.50 --vlan 100,10 -w probe.pcapng`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.validate(a, cmd.Flags())
			if err != nil {
				return err
			}
			sha := cmp0(senderMAC.HardwareAddr, e.src)
			p, dst, err := craft.NewARP(op, sha, targetMAC.HardwareAddr, senderIP.Addr, targetIP.Addr)
			if err != nil {
				return usageErrorf("--op, --sender-ip, --target-ip: %v", stripPkg(err))
			}
			hdr := e.header(dst, craft.EtherTypeARP)
			build := func(b []byte, _ int) []byte { return craft.AppendARP(b, hdr, p) }
			return runCraft(cmd.Context(), a, &f, e, craftSpec{build, craft.MatchARPReply(p.TargetIP.As4()), "arp-vlan"})
		},
	}
	f.register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&op, "op", "request", "operation: request, reply, probe, gratuitous or a `number`")
	fl.Var(&senderMAC, "sender-mac", "sender hardware address (default: --src-mac)")
	fl.Var(&senderIP, "sender-ip", "sender protocol address (default 0.0.0.0)")
	fl.Var(&targetMAC, "target-mac", "target hardware address (default 00:00:00:00:00:00)")
	fl.Var(&targetIP, "target-ip", "target protocol address")
	return cmd
}

// cmp0 returns a unless it is empty, else b.
func cmp0[S ~[]byte](a, b S) S {
	if len(a) == 0 {
		return b
	}
	return a
}

// ipFlags are the IPv4 header fields the UDP- and ICMP-based subcommands set.
type ipFlags struct {
	src, dst     craft.IPv4Flag
	ttl, id, tos int
	df           bool
}

// register adds the flags; DHCP's addressing has no --tos or --df.
func (f *ipFlags) register(fl *pflag.FlagSet, tosDF bool) {
	fl.Var(&f.src, "src-ip", "IPv4 source (default 0.0.0.0)")
	fl.Var(&f.dst, "dst-ip", "IPv4 destination")
	fl.IntVar(&f.ttl, "ttl", craft.DefaultTTL, "IPv4 time to live `N` (1-255)")
	fl.IntVar(&f.id, "ip-id", 0, "IPv4 identification `N` (0-65535)")
	if tosDF {
		fl.IntVar(&f.tos, "tos", 0, "IPv4 type of service `N` (0-255)")
		fl.BoolVar(&f.df, "df", false, "set the IPv4 don't-fragment flag")
	}
}

// header returns the IPv4 header, with dstDef for a missing --dst-ip.
func (f *ipFlags) header(proto uint8, dstDef netip.Addr) (craft.IPv4, error) {
	dst := f.dst.Or(dstDef)
	if !dst.IsValid() {
		return craft.IPv4{}, usageErrorf("--dst-ip is required")
	}
	err := errors.Join(intFlag("--ttl", f.ttl, 1, 255), intFlag("--ip-id", f.id, 0, 65535), intFlag("--tos", f.tos, 0, 255))
	return craft.IPv4{TOS: uint8(f.tos), ID: uint16(f.id), DontFragment: f.df, TTL: uint8(f.ttl), Protocol: proto,
		Src: f.src.Or(netip.IPv4Unspecified()), Dst: dst}, err
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
		Long: `An ICMPv4 echo request in IPv4 in Ethernet, to the Ethernet broadcast address
unless --dst-mac gives the peer's (rawlab arping finds it). With --count N
the sequence number counts up.`,
		Example: `  rawlab craft icmp --dst-ip 198.18.0.1 --src-ip 198.18.0.2 --id 7 --seq 1 --hex
  rawlab craft icmp -i veth0 --dst-ip 198.18.0.1 --src-ip 198.18.0.2 --dst-mac 02:00:00:00:00:01 --send --count 3 --wait 1s
  rawlab craft icmp --dst-ip 198.18.0.1 --bad-checksum icmp -w bad.pcapng`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.validate(a, cmd.Flags())
			if err != nil {
				return err
			}
			ip, err := ipf.header(craft.ProtocolICMP, netip.Addr{})
			if err = errors.Join(err, intFlag("--id", id, 0, 65535), intFlag("--seq", seq, 0, 65535), intFlag("--size", size, 0, maxEchoData)); err != nil {
				return usageError(err)
			}
			if !cmd.Flags().Changed("id") {
				var b [2]byte
				rand.Read(b[:]) // never fails since Go 1.24
				id = int(binary.BigEndian.Uint16(b[:]))
			}
			payload := craft.EchoPattern(size)
			if data != "" && cmd.Flags().Changed("size") {
				return usageErrorf("--data and --size exclude each other")
			} else if data != "" {
				if payload, err = craft.ParseHex(data); err != nil || len(payload) > maxEchoData {
					return usageErrorf("--data: %d bytes or %v: want hex of at most %d bytes", len(payload), stripPkg(err), maxEchoData)
				}
			}
			hdr := e.header(craft.Broadcast, craft.EtherTypeIPv4)
			build := func(b []byte, i int) []byte {
				echo := craft.ICMPEcho{Type: craft.ICMPEchoRequest, ID: uint16(id), Seq: uint16(seq + i), Data: payload}
				return craft.AppendICMPEcho(b, hdr, ip, echo)
			}
			match := craft.MatchEchoReply(uint16(id), uint16(seq), uint16(min(f.count, 65535)), payload)
			return runCraft(cmd.Context(), a, &f, e, craftSpec{build, match, "icmp-vlan"})
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
			frame, err := craft.ParseHex(hexData)
			if err != nil {
				return usageErrorf("--hex-data: %v", stripPkg(err))
			} else if len(frame) < craft.EthernetHeaderLen {
				return usageErrorf("--hex-data: %d bytes is shorter than an Ethernet header (14)", len(frame))
			}
			if f.srcMAC.HardwareAddr != nil {
				copy(frame[6:12], e.src)
			}
			copy(frame[0:6], cmp0(e.dst, frame[0:6]))
			build := func(b []byte, _ int) []byte { return append(b, frame...) }
			return runCraft(cmd.Context(), a, &f, e, craftSpec{build: build})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&hexData, "hex-data", "", "the whole frame in `HEX` (spaces, colons, dots and dashes ignored)")
	cmd.MarkFlagRequired("hex-data")
	return cmd
}
