package main

import (
	"bytes"
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
  rawlab craft arp --op probe --target-ip 198.18.0.50 -w probe.pcapng`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.validate(a)
			if err != nil {
				return err
			}
			if err := outputPathCheck(f.write); err != nil {
				return err
			}
			var p craft.ARP
			sha := e.src
			if senderMAC != "" {
				if sha, err = parseMACFlag("--sender-mac", senderMAC); err != nil {
					return err
				}
			}
			tha := make([]byte, 6)
			if targetMAC != "" {
				if tha, err = parseMACFlag("--target-mac", targetMAC); err != nil {
					return err
				}
			}
			tpa, err := parseIPv4Flag("--target-ip", targetIP, netip.Addr{})
			if err != nil {
				return err
			}
			spa, err := parseIPv4Flag("--sender-ip", senderIP, netip.IPv4Unspecified())
			if err != nil {
				return err
			}
			dst := craft.Broadcast
			switch strings.ToLower(op) {
			case "request", "who-has":
				if !tpa.IsValid() {
					return usageErrorf("craft arp: --target-ip is required for a request")
				}
				p = craft.NewARPRequest(sha, spa, tpa)
			case "probe":
				if !tpa.IsValid() {
					return usageErrorf("craft arp: --target-ip is required for a probe")
				}
				p = craft.NewARPProbe(sha, tpa)
			case "gratuitous", "announce":
				ip := spa
				if senderIP == "" {
					ip = tpa
				}
				if !ip.IsValid() || ip.IsUnspecified() {
					return usageErrorf("craft arp: a gratuitous ARP needs --sender-ip (or --target-ip)")
				}
				p = craft.NewGratuitousARP(sha, ip)
			case "reply", "is-at":
				if !tpa.IsValid() {
					return usageErrorf("craft arp: --target-ip is required for a reply")
				}
				p = craft.NewARPReply(sha, spa, tha, tpa)
				if targetMAC != "" {
					dst = tha
				}
			default:
				n, err := strconv.ParseUint(op, 0, 16)
				if err != nil || n == 0 {
					return usageErrorf("craft arp: --op %q: want request, reply, probe, gratuitous or a number 1-65535", op)
				}
				if !tpa.IsValid() {
					tpa = netip.IPv4Unspecified()
				}
				p = craft.ARP{Op: craft.ARPOp(n), SenderMAC: sha, SenderIP: spa, TargetMAC: tha, TargetIP: tpa}
			}
			if targetMAC != "" && p.Op != craft.ARPReply {
				p.TargetMAC = tha
			}
			frame := craft.AppendARP(nil, e.header(dst, craft.EtherTypeARP), p)
			want := p.TargetIP
			match := func(b []byte) bool {
				var eth craft.Ethernet
				payload, err := craft.DecodeEthernet(b, &eth)
				if err != nil || eth.EtherType != craft.EtherTypeARP {
					return false
				}
				var r craft.ARP
				return craft.DecodeARP(payload, &r) == nil && r.Op == craft.ARPReply && r.SenderIP == want
			}
			return runCraft(cmd.Context(), a, &f, craftSpec{frames: [][]byte{frame}, match: match, filter: "arp"})
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
	src, dst string
	ttl      int
	id       int
	tos      int
	df       bool
}

func (f *ipFlags) register(fl *pflag.FlagSet, srcDef, dstDef string) {
	fl.StringVar(&f.src, "src-ip", srcDef, "IPv4 source `IP`")
	fl.StringVar(&f.dst, "dst-ip", dstDef, "IPv4 destination `IP`")
	fl.IntVar(&f.ttl, "ttl", craft.DefaultTTL, "IPv4 time to live `N` (1-255)")
	fl.IntVar(&f.id, "ip-id", 0, "IPv4 identification `N` (0-65535)")
	fl.IntVar(&f.tos, "tos", 0, "IPv4 type of service `N` (0-255)")
	fl.BoolVar(&f.df, "df", false, "set the IPv4 don't-fragment flag")
}

func (f *ipFlags) header(proto uint8) (craft.IPv4, error) {
	src, err := parseIPv4Flag("--src-ip", f.src, netip.IPv4Unspecified())
	if err != nil {
		return craft.IPv4{}, err
	}
	dst, err := parseIPv4Flag("--dst-ip", f.dst, netip.Addr{})
	if err != nil {
		return craft.IPv4{}, err
	}
	if !dst.IsValid() {
		return craft.IPv4{}, usageErrorf("--dst-ip is required")
	}
	if f.ttl < 1 || f.ttl > 255 {
		return craft.IPv4{}, usageErrorf("--ttl %d: want 1-255", f.ttl)
	}
	if f.id < 0 || f.id > 65535 || f.tos < 0 || f.tos > 255 {
		return craft.IPv4{}, usageErrorf("--ip-id wants 0-65535 and --tos 0-255")
	}
	return craft.IPv4{TOS: uint8(f.tos), ID: uint16(f.id), DontFragment: f.df, TTL: uint8(f.ttl), Protocol: proto, Src: src, Dst: dst}, nil
}

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
  rawlab craft icmp -i veth0 --dst-ip 198.18.0.1 --src-ip 198.18.0.2 --dst-mac 02:00:00:00:00:01 --send --count 3 --wait 1s`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.validate(a)
			if err != nil {
				return err
			}
			if err := outputPathCheck(f.write); err != nil {
				return err
			}
			ip, err := ipf.header(craft.ProtocolICMP)
			if err != nil {
				return err
			}
			if id < 0 || id > 65535 || seq < 0 || seq > 65535 {
				return usageErrorf("craft icmp: --id and --seq want 0-65535")
			}
			if id == 0 && !cmd.Flags().Changed("id") {
				id = int(randomUint32() & 0xffff)
			}
			payload := make([]byte, 0, size)
			if data != "" {
				if payload, err = parseHexData(data); err != nil {
					return usageErrorf("craft icmp: --data: %v", err)
				}
			} else {
				if size < 0 || size > 1472 {
					return usageErrorf("craft icmp: --size %d: want 0-1472", size)
				}
				for i := 0; i < size; i++ {
					payload = append(payload, byte(i))
				}
			}
			eth := e.header(craft.Broadcast, craft.EtherTypeIPv4)
			frames := make([][]byte, 0, f.count)
			for i := 0; i < f.count; i++ {
				echo := craft.ICMPEcho{Type: craft.ICMPEchoRequest, ID: uint16(id), Seq: uint16(seq + i), Data: payload}
				frames = append(frames, craft.AppendICMPEcho(nil, eth, ip, echo))
				if !f.send {
					break
				}
			}
			first, last := uint16(seq), uint16(seq+f.count-1)
			match := func(b []byte) bool {
				var p craft.Packet
				if craft.DecodePacket(b, &p) != nil || p.Layers&craft.LayerICMPEcho == 0 {
					return false
				}
				return p.ICMP.Type == craft.ICMPEchoReply && p.ICMP.ID == uint16(id) &&
					p.ICMP.Seq-first <= last-first && bytes.Equal(p.ICMP.Data, payload)
			}
			return runCraft(cmd.Context(), a, &f, craftSpec{frames: frames, match: match, filter: "icmp"})
		},
	}
	f.register(cmd.Flags())
	ipf.register(cmd.Flags(), "0.0.0.0", "")
	fl := cmd.Flags()
	fl.IntVar(&id, "id", 0, "echo identifier `N` (default random)")
	fl.IntVar(&seq, "seq", 1, "echo sequence number `N` of the first request")
	fl.IntVar(&size, "size", 56, "payload size in `BYTES` (a counting pattern)")
	fl.StringVar(&data, "data", "", "payload in `HEX` instead of --size")
	return cmd
}
