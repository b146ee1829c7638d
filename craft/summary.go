package craft

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Summary describes one frame: its Ethernet header, what Summarize decoded
// above it, and the bytes it did not understand in hex. String gives one
// line in the style of `tcpdump -e -n`; the struct tags give its JSON form.
type Summary struct {
	Length    int          `json:"length"`              // frame length in bytes
	Src       string       `json:"src,omitempty"`       // source MAC
	Dst       string       `json:"dst,omitempty"`       // destination MAC
	VLAN      *VLAN        `json:"vlan,omitempty"`      // the first (outer) tag
	Tags      []VLANTag    `json:"tags,omitempty"`      // every tag, outer first (802.1ad QinQ stacks several)
	EtherType EtherType    `json:"ethertype,omitempty"` // of the payload, after any tag
	Proto     string       `json:"proto"`               // highest layer decoded: ethernet, arp, ipv4, ipv6, udp, tcp, icmp, dhcp; "" if not even Ethernet
	ARP       *ARPSummary  `json:"arp,omitempty"`
	IPv4      *IPv4Summary `json:"ipv4,omitempty"`
	UDP       *UDPSummary  `json:"udp,omitempty"`
	ICMP      *ICMPSummary `json:"icmp,omitempty"`
	TCP       *TCPSummary  `json:"tcp,omitempty"`
	DHCP      *DHCPSummary `json:"dhcp,omitempty"`
	Info      string       `json:"info"`            // the text after "length N: " in String
	Hex       string       `json:"hex,omitempty"`   // bytes not decoded, from the first layer not understood
	Error     string       `json:"error,omitempty"` // why decoding stopped early (truncated or malformed)
}

// VLANTag is one tag of a frame: its tag protocol identifier (0x8100 for
// 802.1Q, 0x88a8 for an 802.1ad service tag) and its control information.
type VLANTag struct {
	TPID EtherType `json:"tpid"`
	VLAN
}

// ARPSummary is the ARP part of a Summary.
type ARPSummary struct {
	Op         ARPOp      `json:"op"`
	SenderMAC  string     `json:"sender_mac"`
	SenderIP   netip.Addr `json:"sender_ip"`
	TargetMAC  string     `json:"target_mac"`
	TargetIP   netip.Addr `json:"target_ip"`
	Probe      bool       `json:"probe,omitempty"`      // RFC 5227 probe: sender IP 0.0.0.0
	Gratuitous bool       `json:"gratuitous,omitempty"` // sender IP == target IP
}

// IPv4Summary is the IPv4 part of a Summary.
type IPv4Summary struct {
	Src          netip.Addr `json:"src"`
	Dst          netip.Addr `json:"dst"`
	Protocol     uint8      `json:"protocol"`
	TTL          uint8      `json:"ttl"`
	ID           uint16     `json:"id"`
	TOS          uint8      `json:"tos,omitempty"`
	DontFragment bool       `json:"df,omitempty"`
	Fragment     bool       `json:"fragment,omitempty"` // MF set or offset non-zero
	Length       int        `json:"length"`             // total length
	ChecksumOK   bool       `json:"checksum_ok"`
}

// UDPSummary is the UDP part of a Summary.
type UDPSummary struct {
	SrcPort    uint16 `json:"src_port"`
	DstPort    uint16 `json:"dst_port"`
	Length     int    `json:"length"` // payload length
	ChecksumOK bool   `json:"checksum_ok"`
}

// ICMPSummary is the ICMPv4 part of a Summary. ID and Seq are set for echo
// messages only.
type ICMPSummary struct {
	Type       uint8  `json:"type"`
	Code       uint8  `json:"code"`
	Name       string `json:"name"`
	ID         uint16 `json:"id,omitempty"`
	Seq        uint16 `json:"seq,omitempty"`
	Length     int    `json:"length"` // ICMP message length
	ChecksumOK bool   `json:"checksum_ok"`
}

// TCPSummary is the TCP part of a Summary (RFC 9293 §3.1): craft does not
// build TCP, but summarizes its header so that captures read well.
type TCPSummary struct {
	SrcPort    uint16 `json:"src_port"`
	DstPort    uint16 `json:"dst_port"`
	Flags      string `json:"flags"` // tcpdump's letters: F S R P . U E W
	Seq        uint32 `json:"seq"`
	Ack        uint32 `json:"ack,omitempty"`
	Window     uint16 `json:"window"`
	Length     int    `json:"length"` // payload length
	ChecksumOK bool   `json:"checksum_ok"`
}

// DHCPSummary is the DHCP part of a Summary.
type DHCPSummary struct {
	Op          string     `json:"op"`                     // BootRequest or BootReply
	Type        string     `json:"type,omitempty"`         // message type (option 53): Discover, Offer, ...
	XID         string     `json:"xid"`                    // 0x-prefixed hex
	ClientMAC   string     `json:"chaddr"`                 // chaddr
	Broadcast   bool       `json:"broadcast,omitempty"`    // flags broadcast bit
	ClientIP    netip.Addr `json:"ciaddr,omitzero"`        // omitted when 0.0.0.0
	YourIP      netip.Addr `json:"yiaddr,omitzero"`        // omitted when 0.0.0.0
	ServerIP    netip.Addr `json:"siaddr,omitzero"`        // omitted when 0.0.0.0
	RelayIP     netip.Addr `json:"giaddr,omitzero"`        // omitted when 0.0.0.0
	ServerID    netip.Addr `json:"server_id,omitzero"`     // option 54
	RequestedIP netip.Addr `json:"requested_ip,omitzero"`  // option 50
	LeaseTime   uint32     `json:"lease_seconds,omitzero"` // option 51
	Hostname    string     `json:"hostname,omitempty"`     // option 12
	Message     string     `json:"message,omitempty"`      // option 56 (often the reason of a NAK)
	Length      int        `json:"length"`                 // BOOTP message length
}

// maxHexInLine bounds the hex shown by String; JSON carries it all.
const maxHexInLine = 64

// String returns a one-line description like `tcpdump -e -n` prints:
//
//	02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 198.18.0.1 tell 198.18.0.2, length 28
func (s Summary) String() string {
	var w strings.Builder
	if s.Src != "" {
		fmt.Fprintf(&w, "%s > %s, ", s.Src, s.Dst)
		// Values below 0x0600 are 802.3 lengths (IEEE 802.3 §3.2.6), which
		// tcpdump prints as "802.3".
		typ := fmt.Sprintf("ethertype %s (0x%04x)", etherTypeName(s.EtherType), uint16(s.EtherType))
		if s.EtherType < 0x0600 {
			typ = "802.3"
		}
		if len(s.Tags) > 0 {
			t := s.Tags[0].TPID
			fmt.Fprintf(&w, "ethertype %s (0x%04x), length %d: ", etherTypeName(t), uint16(t), s.Length)
			for i, tag := range s.Tags {
				fmt.Fprintf(&w, "vlan %d, p %d", tag.ID, tag.Priority)
				if tag.DropEligible {
					w.WriteString(", DEI")
				}
				if i+1 < len(s.Tags) {
					t := s.Tags[i+1].TPID
					fmt.Fprintf(&w, ", ethertype %s (0x%04x), ", etherTypeName(t), uint16(t))
				}
			}
			fmt.Fprintf(&w, ", %s, ", typ)
		} else {
			fmt.Fprintf(&w, "%s, length %d: ", typ, s.Length)
		}
	} else {
		fmt.Fprintf(&w, "length %d: ", s.Length)
	}
	var body []string
	if s.Info != "" {
		body = append(body, s.Info)
	}
	if s.Hex != "" {
		h := s.Hex
		if len(h) > 2*maxHexInLine {
			h = h[:2*maxHexInLine] + "..."
		}
		body = append(body, "hex "+h)
	}
	line := w.String()
	if len(body) == 0 {
		line = strings.TrimRight(line, ", ")
	}
	line += strings.Join(body, ", ")
	if s.Error != "" {
		line += " [" + s.Error + "]"
	}
	return line
}

func etherTypeName(t EtherType) string {
	n := t.String()
	if strings.HasPrefix(n, "0x") {
		return "Unknown"
	}
	return n
}

// Summarize decodes whatever it can of frame: Ethernet, 802.1Q and 802.1ad
// tags (stacked too), ARP, IPv4, UDP, TCP, ICMP, DHCP, and the addresses of
// IPv6. The rest goes to Hex; a truncated or malformed header is reported in
// Error. It never panics.
func Summarize(frame []byte) Summary {
	s := Summary{Length: len(frame)}
	if len(frame) < EthernetHeaderLen {
		s.Info = "truncated Ethernet frame"
		s.Hex = hex.EncodeToString(frame)
		s.Error = errText(errEthernetShort)
		return s
	}
	s.Dst, s.Src = net.HardwareAddr(frame[0:6]).String(), net.HardwareAddr(frame[6:12]).String()
	s.Proto = "ethernet"
	// Walk the tags (IEEE 802.1Q §9.6): TPID(2) TCI(2), then the next type.
	off := 12
	for isTPID(EtherType(binary.BigEndian.Uint16(frame[off:]))) {
		tpid := EtherType(binary.BigEndian.Uint16(frame[off:]))
		if len(frame) < off+6 {
			s.EtherType = tpid
			s.Hex = hex.EncodeToString(frame[off+2:])
			s.Error = errText(errVLANShort)
			return s
		}
		s.Tags = append(s.Tags, VLANTag{TPID: tpid, VLAN: vlanFromTCI(binary.BigEndian.Uint16(frame[off+2:]))})
		off += 4
	}
	if len(s.Tags) > 0 {
		v := s.Tags[0].VLAN
		s.VLAN = &v
	}
	// DecodePacket takes one 0x8100 tag; for other tags, decode the frame
	// with its tags removed.
	inner := frame
	if off > 12 && (len(s.Tags) > 1 || s.Tags[0].TPID != EtherTypeVLAN) {
		inner = make([]byte, 0, 12+len(frame)-off)
		inner = append(append(inner, frame[:12]...), frame[off:]...)
	}
	var p Packet
	err := DecodePacket(inner, &p)
	s.EtherType = p.Eth.EtherType
	l3 := inner[p.Eth.HeaderLen():]
	switch {
	case p.Layers&LayerARP != 0:
		summarizeARP(&s, &p.ARP, len(l3))
		return s
	case p.Layers&LayerIPv4 != 0:
		summarizeIPv4(&s, &p, l3, err)
		return s
	case s.EtherType == EtherTypeIPv6:
		summarizeIPv6(&s, l3)
		return s
	}
	switch s.EtherType {
	case EtherTypeARP:
		s.Info = "ARP"
	case EtherTypeIPv4:
		s.Info = "IPv4"
	}
	s.Hex = hex.EncodeToString(l3)
	s.Error = errText(err)
	return s
}

// isTPID reports whether t is a tag protocol identifier: 802.1Q, 802.1ad,
// or the pre-standard 0x9100 of early QinQ switches.
func isTPID(t EtherType) bool {
	return t == EtherTypeVLAN || t == EtherTypeQinQ || t == 0x9100
}

func errText(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated: " + err.Error()
	}
	return err.Error()
}

// summarizeARP describes a like tcpdump, whose "length" is that of the
// Ethernet payload, padding included.
func summarizeARP(s *Summary, a *ARP, n int) {
	s.Proto = "arp"
	s.ARP = &ARPSummary{Op: a.Op, SenderMAC: a.SenderMAC.String(), SenderIP: a.SenderIP,
		TargetMAC: a.TargetMAC.String(), TargetIP: a.TargetIP, Probe: a.IsProbe(), Gratuitous: a.IsGratuitous()}
	switch a.Op {
	case ARPRequest:
		// Like tcpdump, show a target hardware address only when it is not zero.
		tha := ""
		if !isZeroMAC(a.TargetMAC) {
			tha = " (" + a.TargetMAC.String() + ")"
		}
		s.Info = fmt.Sprintf("Request who-has %s%s tell %s, length %d", a.TargetIP, tha, a.SenderIP, n)
	case ARPReply:
		s.Info = fmt.Sprintf("Reply %s is-at %s, length %d", a.SenderIP, a.SenderMAC, n)
	default:
		s.Info = fmt.Sprintf("ARP %s, sender %s %s, target %s %s, length %d", a.Op, a.SenderMAC, a.SenderIP, a.TargetMAC, a.TargetIP, n)
	}
}

func summarizeIPv4(s *Summary, p *Packet, l3 []byte, err error) {
	ip := &p.IPv4
	s.Proto = "ipv4"
	total := int(binary.BigEndian.Uint16(l3[2:4]))
	s.IPv4 = &IPv4Summary{Src: ip.Src, Dst: ip.Dst, Protocol: ip.Protocol, TTL: ip.TTL, ID: ip.ID, TOS: ip.TOS,
		DontFragment: ip.DontFragment, Fragment: ip.MoreFragments || ip.FragOffset != 0, Length: total,
		ChecksumOK: IPv4ChecksumOK(l3)}
	datagram := l3[ihl(l3):total]
	var info string
	switch {
	case s.IPv4.Fragment:
		info = fmt.Sprintf("%s > %s: ip-proto-%d fragment (id %d, offset %d%s), length %d", ip.Src, ip.Dst, ip.Protocol,
			ip.ID, int(ip.FragOffset)*8, map[bool]string{true: ", more", false: ""}[ip.MoreFragments], len(datagram))
		s.Hex = hex.EncodeToString(datagram)
	case p.Layers&LayerUDP != 0:
		info = summarizeUDP(s, p, datagram)
	case p.Layers&LayerICMPEcho != 0:
		s.Proto = "icmp"
		e := &p.ICMP
		s.ICMP = &ICMPSummary{Type: e.Type, Code: e.Code, Name: icmpTypeName(e.Type, e.Code), ID: e.ID, Seq: e.Seq,
			Length: len(datagram), ChecksumOK: Checksum(datagram) == 0}
		info = fmt.Sprintf("%s > %s: ICMP %s, id %d, seq %d, length %d", ip.Src, ip.Dst, s.ICMP.Name, e.ID, e.Seq, len(datagram))
		if !s.ICMP.ChecksumOK {
			info += ", bad icmp cksum"
		}
	case ip.Protocol == ProtocolICMP && err == nil && len(datagram) >= 4:
		s.Proto = "icmp"
		s.ICMP = &ICMPSummary{Type: datagram[0], Code: datagram[1], Name: icmpTypeName(datagram[0], datagram[1]),
			Length: len(datagram), ChecksumOK: Checksum(datagram) == 0}
		name := s.ICMP.Name
		if u := unreachableText(datagram); u != "" {
			name = u
		}
		info = fmt.Sprintf("%s > %s: ICMP %s, length %d", ip.Src, ip.Dst, name, len(datagram))
		if !s.ICMP.ChecksumOK {
			info += ", bad icmp cksum"
		}
		s.Hex = hex.EncodeToString(datagram[4:])
	case ip.Protocol == ProtocolTCP && len(datagram) >= 20 && int(datagram[12]>>4)*4 >= 20 && int(datagram[12]>>4)*4 <= len(datagram):
		info = summarizeTCP(s, ip, datagram)
	default:
		name := map[uint8]string{ProtocolICMP: "ICMP", ProtocolTCP: "TCP", ProtocolUDP: "UDP"}[ip.Protocol]
		if name == "" {
			name = fmt.Sprintf("ip-proto-%d", ip.Protocol)
		}
		info = fmt.Sprintf("%s > %s: %s, length %d", ip.Src, ip.Dst, name, len(datagram))
		s.Hex = hex.EncodeToString(datagram)
	}
	if !s.IPv4.ChecksumOK {
		info += ", bad ip cksum"
	}
	s.Info = info
	if err != nil {
		s.Error = errText(err)
	}
}

func summarizeUDP(s *Summary, p *Packet, datagram []byte) string {
	ip, u := &p.IPv4, &p.UDP
	s.Proto = "udp"
	s.UDP = &UDPSummary{SrcPort: u.SrcPort, DstPort: u.DstPort, Length: len(p.Payload),
		ChecksumOK: UDPChecksumOK(ip.Src, ip.Dst, datagram)}
	head := fmt.Sprintf("%s.%d > %s.%d: ", ip.Src, u.SrcPort, ip.Dst, u.DstPort)
	cksum := ""
	if !s.UDP.ChecksumOK {
		cksum = ", bad udp cksum"
	}
	if isDHCPPorts(*u) {
		m, _, err := decodeDHCPMessage(p.Payload)
		if err == nil {
			s.Proto = "dhcp"
			s.DHCP = summarizeDHCP(m, len(p.Payload))
			return head + s.DHCP.text() + cksum
		}
		s.Error = errText(err)
		s.Hex = hex.EncodeToString(p.Payload)
		return head + fmt.Sprintf("BOOTP/DHCP, length %d", len(p.Payload)) + cksum
	}
	s.Hex = hex.EncodeToString(p.Payload)
	return head + fmt.Sprintf("UDP, length %d", len(p.Payload)) + cksum
}

func summarizeDHCP(m *dhcpv4.DHCPv4, n int) *DHCPSummary {
	d := &DHCPSummary{Op: m.OpCode.String(), XID: fmt.Sprintf("0x%08x", m.TransactionID[:]),
		ClientMAC: m.ClientHWAddr.String(), Broadcast: m.IsBroadcast(), Length: n,
		ClientIP: nonZero(m.ClientIPAddr), YourIP: nonZero(m.YourIPAddr), ServerIP: nonZero(m.ServerIPAddr),
		RelayIP: nonZero(m.GatewayIPAddr), Hostname: m.HostName(), Message: m.Message()}
	if v := m.Options.Get(dhcpv4.OptionDHCPMessageType); len(v) == 1 {
		d.Type = dhcpMessageTypeName(dhcpv4.MessageType(v[0]))
	}
	if v := m.Options.Get(dhcpv4.OptionServerIdentifier); len(v) == 4 {
		d.ServerID = netip.AddrFrom4([4]byte(v))
	}
	if v := m.Options.Get(dhcpv4.OptionRequestedIPAddress); len(v) == 4 {
		d.RequestedIP = netip.AddrFrom4([4]byte(v))
	}
	if v := m.Options.Get(dhcpv4.OptionIPAddressLeaseTime); len(v) == 4 {
		d.LeaseTime = binary.BigEndian.Uint32(v)
	}
	return d
}

func nonZero(ip net.IP) netip.Addr {
	a := addrFromIP(ip)
	if a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}

// text is the DHCP part of a summary line.
func (d *DHCPSummary) text() string {
	var w strings.Builder
	w.WriteString("DHCP")
	if d.Type != "" {
		w.WriteString(" " + d.Type)
	} else {
		w.WriteString(" " + d.Op)
	}
	fmt.Fprintf(&w, ", xid %s, chaddr %s", d.XID, d.ClientMAC)
	if d.Broadcast {
		w.WriteString(", broadcast")
	}
	for _, f := range []struct {
		name string
		a    netip.Addr
	}{{"ciaddr", d.ClientIP}, {"yiaddr", d.YourIP}, {"siaddr", d.ServerIP}, {"giaddr", d.RelayIP},
		{"server-id", d.ServerID}, {"requested", d.RequestedIP}} {
		if f.a.IsValid() {
			fmt.Fprintf(&w, ", %s %s", f.name, f.a)
		}
	}
	if d.LeaseTime != 0 {
		fmt.Fprintf(&w, ", lease %ds", d.LeaseTime)
	}
	if d.Hostname != "" {
		fmt.Fprintf(&w, ", hostname %q", d.Hostname)
	}
	if d.Message != "" {
		fmt.Fprintf(&w, ", message %q", d.Message)
	}
	fmt.Fprintf(&w, ", length %d", d.Length)
	return w.String()
}

// summarizeIPv6 prints the addresses and next header of an IPv6 packet
// (RFC 8200 §3) and leaves its payload in hex; craft does not decode IPv6.
func summarizeIPv6(s *Summary, b []byte) {
	s.Proto = "ipv6"
	if len(b) < 40 || b[0]>>4 != 6 {
		s.Info = "IPv6"
		s.Hex = hex.EncodeToString(b)
		if len(b) < 40 {
			s.Error = "truncated: craft: ipv6: " + io.ErrUnexpectedEOF.Error()
		} else {
			s.Error = "craft: ipv6: version is not 6"
		}
		return
	}
	src, dst := netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
	s.Info = fmt.Sprintf("%s > %s: ip6-next-header-%d, payload length %d", src, dst, b[6], binary.BigEndian.Uint16(b[4:6]))
	s.Hex = hex.EncodeToString(b[40:])
}

// dhcpMessageTypeName names a DHCP message type as tcpdump -v does
// ("Discover", "Ack"); unknown types keep dhcpv4's "unknown (N)".
func dhcpMessageTypeName(t dhcpv4.MessageType) string {
	n := t.String()
	if strings.HasPrefix(n, "unknown") {
		return n
	}
	return n[:1] + strings.ToLower(n[1:])
}

func isZeroMAC(m net.HardwareAddr) bool {
	for _, b := range m {
		if b != 0 {
			return false
		}
	}
	return true
}

// summarizeTCP describes the TCP segment seg like tcpdump -n does, with
// absolute sequence numbers. Layout (RFC 9293 §3.1): 0:2 source port, 2:4
// destination port, 4:8 sequence, 8:12 acknowledgment, 12 data offset << 4,
// 13 flags (CWR ECE URG ACK PSH RST SYN FIN), 14:16 window, 16:18 checksum.
func summarizeTCP(s *Summary, ip *IPv4, seg []byte) string {
	s.Proto = "tcp"
	off := int(seg[12]>>4) * 4
	fl := seg[13]
	var flags []byte
	for _, f := range []struct {
		bit  byte
		name byte
	}{{0x01, 'F'}, {0x02, 'S'}, {0x04, 'R'}, {0x08, 'P'}, {0x10, '.'}, {0x20, 'U'}, {0x40, 'E'}, {0x80, 'W'}} {
		if fl&f.bit != 0 {
			flags = append(flags, f.name)
		}
	}
	if len(flags) == 0 {
		flags = []byte("none")
	}
	t := &TCPSummary{SrcPort: binary.BigEndian.Uint16(seg[0:2]), DstPort: binary.BigEndian.Uint16(seg[2:4]),
		Flags: string(flags), Seq: binary.BigEndian.Uint32(seg[4:8]), Window: binary.BigEndian.Uint16(seg[14:16]),
		Length:     len(seg) - off,
		ChecksumOK: fold(sum(pseudoHeaderSum(ip.Src, ip.Dst, ProtocolTCP, len(seg)), seg)) == 0xffff}
	if fl&0x10 != 0 {
		t.Ack = binary.BigEndian.Uint32(seg[8:12])
	}
	s.TCP = t
	var w strings.Builder
	fmt.Fprintf(&w, "%s.%d > %s.%d: Flags [%s], seq %d", ip.Src, t.SrcPort, ip.Dst, t.DstPort, t.Flags, t.Seq)
	if t.Length > 0 {
		fmt.Fprintf(&w, ":%d", t.Seq+uint32(t.Length))
	}
	if fl&0x10 != 0 {
		fmt.Fprintf(&w, ", ack %d", t.Ack)
	}
	fmt.Fprintf(&w, ", win %d, length %d", t.Window, t.Length)
	if !t.ChecksumOK {
		w.WriteString(", bad tcp cksum")
	}
	if t.Length > 0 {
		s.Hex = hex.EncodeToString(seg[off:])
	}
	return w.String()
}

// unreachableText describes an ICMP destination unreachable message m
// (RFC 792: type 3; 4 unused bytes, then the offending datagram's IPv4
// header and its first 8 bytes) as tcpdump does: "host 198.18.0.9
// unreachable", "198.18.0.2 udp port 9 unreachable". It returns "" when m
// is something else or too short to tell.
func unreachableText(m []byte) string {
	if len(m) < 8+IPv4HeaderLen || m[0] != 3 || m[8]>>4 != 4 {
		return ""
	}
	inner := m[8:]
	hl := ihl(inner)
	proto, dst := inner[9], netip.AddrFrom4([4]byte(inner[16:20]))
	switch m[1] {
	case 0:
		return fmt.Sprintf("net %s unreachable", dst)
	case 1:
		return fmt.Sprintf("host %s unreachable", dst)
	case 2:
		return fmt.Sprintf("%s protocol %d unreachable", dst, proto)
	case 3:
		if hl < IPv4HeaderLen || len(inner) < hl+4 {
			return ""
		}
		name := map[uint8]string{ProtocolUDP: "udp", ProtocolTCP: "tcp"}[proto]
		if name == "" {
			return ""
		}
		return fmt.Sprintf("%s %s port %d unreachable", dst, name, binary.BigEndian.Uint16(inner[hl+2:hl+4]))
	}
	return ""
}
