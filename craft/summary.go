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

// Summary describes one frame: its link-layer header, what SummarizeLink
// decoded above it, and the bytes it did not understand in hex. String gives
// one line in the style of `tcpdump -e -n`; the struct tags give its JSON
// form (docs/json.md). Strings from the wire are kept exact here and
// escaped by String.
type Summary struct {
	Link      LinkType       `json:"link_type"`          // the link-layer header the frame starts with
	Len       int            `json:"len"`                // frame length on the wire
	CapLen    int            `json:"caplen"`             // bytes captured (less than Len when cut by a snap length)
	Cooked    *CookedSummary `json:"cooked,omitempty"`   // Linux cooked capture header (SLL, SLL2)
	Src       MAC            `json:"src_mac,omitempty"`  // source MAC (Ethernet, or a cooked header's address)
	Dst       MAC            `json:"dst_mac,omitempty"`  // destination MAC (Ethernet)
	VLANs     []VLAN         `json:"vlans,omitempty"`    // 802.1Q/802.1ad tags, outermost first
	EtherType EtherType      `json:"ethertype,omitzero"` // of the payload, after any tag
	Proto     string         `json:"proto"`              // highest layer decoded: ethernet, cooked, arp, rarp, ipv4, ipv6, udp, tcp, icmp, dhcp, bootp; "" if not even the link header
	ARP       *ARPSummary    `json:"arp,omitempty"`      // ARP and RARP
	IPv4      *IPv4Summary   `json:"ipv4,omitempty"`     //
	UDP       *UDPSummary    `json:"udp,omitempty"`      //
	ICMP      *ICMPSummary   `json:"icmp,omitempty"`     //
	TCP       *TCPSummary    `json:"tcp,omitempty"`      //
	DHCP      *DHCPSummary   `json:"dhcp,omitempty"`     // DHCP, or plain BOOTP (no msg_type)
	Info      string         `json:"info"`               // the text after "length N: " in String
	Hex       string         `json:"hex,omitempty"`      // captured bytes not decoded, from the first layer not understood
	Error     string         `json:"error,omitempty"`    // why decoding stopped early (truncated or malformed)
}

// ARPSummary is the ARP (or RARP) part of a Summary, with the packet's own
// hardware and protocol types and address lengths (RFC 826).
type ARPSummary struct {
	Op         ARPOp      `json:"op"`
	HType      uint16     `json:"htype"`
	PType      EtherType  `json:"ptype"`
	HLen       uint8      `json:"hlen"`
	PLen       uint8      `json:"plen"`
	SenderMAC  MAC        `json:"sender_mac,omitempty"` // when hlen is 6
	SenderHW   string     `json:"sender_hw,omitempty"`  // other lengths: hex with colons
	SenderIP   netip.Addr `json:"sender_ip,omitzero"`   // when ptype is IPv4 and plen 4
	TargetMAC  MAC        `json:"target_mac,omitempty"`
	TargetHW   string     `json:"target_hw,omitempty"`
	TargetIP   netip.Addr `json:"target_ip,omitzero"`
	Probe      bool       `json:"probe,omitempty"`      // RFC 5227 probe: sender IP 0.0.0.0
	Gratuitous bool       `json:"gratuitous,omitempty"` // sender IP == target IP
}

// IPv4Summary is the IPv4 part of a Summary.
type IPv4Summary struct {
	Src          netip.Addr `json:"src_ip"`
	Dst          netip.Addr `json:"dst_ip"`
	Protocol     uint8      `json:"protocol"`
	TTL          uint8      `json:"ttl"`
	ID           uint16     `json:"id"`
	TOS          uint8      `json:"tos,omitempty"`
	DontFragment bool       `json:"df,omitempty"`
	MoreFrags    bool       `json:"mf,omitempty"`
	FragOffset   int        `json:"frag_offset,omitempty"` // in bytes
	Length       int        `json:"length"`                // total length, from the header
	ChecksumOK   bool       `json:"checksum_ok"`
}

// UDPSummary is the UDP part of a Summary. ChecksumOK is absent when the
// datagram was not captured whole (cut, or a first fragment).
type UDPSummary struct {
	SrcPort    uint16 `json:"src_port"`
	DstPort    uint16 `json:"dst_port"`
	Length     int    `json:"length"` // payload length, from the header
	ChecksumOK *bool  `json:"checksum_ok,omitempty"`
}

// ICMPSummary is the ICMPv4 part of a Summary (RFC 792). ID and Seq are
// set for echo, timestamp and information messages; Gateway for a
// redirect; Quoted for an error that quotes the datagram it is about.
type ICMPSummary struct {
	Type       uint8          `json:"type"`
	Code       uint8          `json:"code"`
	Name       string         `json:"name"`
	ID         uint16         `json:"id,omitempty"`
	Seq        uint16         `json:"seq,omitempty"`
	Gateway    netip.Addr     `json:"gateway_ip,omitzero"` // redirect (type 5)
	MTU        uint16         `json:"mtu,omitempty"`       // fragmentation needed (type 3 code 4, RFC 1191)
	Pointer    uint8          `json:"pointer,omitempty"`   // parameter problem (type 12)
	Originate  uint32         `json:"originate_ms,omitempty"`
	Receive    uint32         `json:"receive_ms,omitempty"`
	Transmit   uint32         `json:"transmit_ms,omitempty"`
	Quoted     *QuotedSummary `json:"quoted,omitempty"`
	Length     int            `json:"length"` // ICMP message length
	ChecksumOK *bool          `json:"checksum_ok,omitempty"`
}

// QuotedSummary is the header an ICMP error quotes: the IPv4 header of the
// datagram that caused it and the first 8 bytes of its payload (RFC 792),
// which for UDP and TCP hold the ports.
type QuotedSummary struct {
	Src      netip.Addr `json:"src_ip"`
	Dst      netip.Addr `json:"dst_ip"`
	Protocol uint8      `json:"protocol"`
	ID       uint16     `json:"id"`
	Length   int        `json:"length"` // its IPv4 total length
	SrcPort  uint16     `json:"src_port,omitempty"`
	DstPort  uint16     `json:"dst_port,omitempty"`
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
	ChecksumOK *bool  `json:"checksum_ok,omitempty"`
}

// DHCPSummary is the DHCP (or plain BOOTP) part of a Summary.
type DHCPSummary struct {
	Op          string     `json:"op"`                    // BootRequest or BootReply
	MsgType     string     `json:"msg_type,omitempty"`    // option 53 as docs/json.md spells it: DISCOVER, OFFER, ...; absent for BOOTP
	XID         string     `json:"xid"`                   // "0x" and 8 hex digits
	ClientMAC   MAC        `json:"client_mac"`            // chaddr, hlen bytes of it
	Broadcast   bool       `json:"broadcast,omitempty"`   // flags broadcast bit
	ClientIP    netip.Addr `json:"ciaddr,omitzero"`       // omitted when 0.0.0.0
	YourIP      netip.Addr `json:"yiaddr,omitzero"`       // omitted when 0.0.0.0
	ServerIP    netip.Addr `json:"siaddr,omitzero"`       // omitted when 0.0.0.0
	RelayIP     netip.Addr `json:"giaddr,omitzero"`       // omitted when 0.0.0.0
	ServerName  string     `json:"sname,omitempty"`       // up to the first NUL
	File        string     `json:"file,omitempty"`        // up to the first NUL
	ServerID    netip.Addr `json:"server_id,omitzero"`    // option 54
	RequestedIP netip.Addr `json:"requested_ip,omitzero"` // option 50
	LeaseTime   uint32     `json:"lease_time_s,omitzero"` // option 51
	Hostname    string     `json:"hostname,omitempty"`    // option 12
	Message     string     `json:"message,omitempty"`     // option 56 (often the reason of a NAK)
	Length      int        `json:"length"`                // BOOTP message length
}

// maxHexInLine bounds the hex shown by String; JSON carries it all.
const maxHexInLine = 64

// String returns a one-line description like `tcpdump -e -n` prints:
//
//	02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 198.18.0.1 tell 198.18.0.2, length 28
//
// Raw IP starts "ip: " as tcpdump's does; a cooked capture starts with the
// packet type (" In", "Out", "  B") and, for SLL2, "ifindex N".
func (s Summary) String() string {
	var w strings.Builder
	switch {
	case s.Link.Canonical() == LinkRaw:
		w.WriteString("ip: ")
		if s.EtherType == EtherTypeIPv6 {
			w.Reset()
			w.WriteString("ip6: ")
		}
	case s.Cooked != nil:
		w.WriteString(s.Cooked.prefix())
		if s.Src != nil {
			w.WriteString(s.Src.String() + " ")
		}
		s.typeAndTags(&w, map[EtherType]string{1: "802.3", 4: "802.2"}[s.EtherType])
	case s.Src != nil:
		fmt.Fprintf(&w, "%s > %s, ", s.Src, s.Dst)
		s.typeAndTags(&w, "802.3")
	default:
		fmt.Fprintf(&w, "length %d: ", s.Len)
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
		line = strings.TrimSuffix(strings.TrimSuffix(line, ": "), ", ")
	}
	line += strings.Join(body, ", ")
	if s.Error != "" {
		line += " [" + s.Error + "]"
	}
	return line
}

// typeAndTags writes the EtherType, the length and the tags as tcpdump -e
// does; values below 0x0600 are 802.3 lengths (IEEE 802.3 §3.2.6), or
// cooked headers' LLC markers, written as short.
func (s Summary) typeAndTags(w *strings.Builder, short string) {
	typ := fmt.Sprintf("ethertype %s (0x%04x)", etherTypeName(s.EtherType), uint16(s.EtherType))
	if s.EtherType < 0x0600 {
		typ = short
	}
	if len(s.VLANs) == 0 {
		fmt.Fprintf(w, "%s, length %d: ", typ, s.Len)
		return
	}
	t := s.VLANs[0].TPID
	fmt.Fprintf(w, "ethertype %s (0x%04x), length %d: ", etherTypeName(t), uint16(t), s.Len)
	for i, tag := range s.VLANs {
		fmt.Fprintf(w, "vlan %d, p %d", tag.ID, tag.Priority)
		if tag.DEI {
			w.WriteString(", DEI")
		}
		if i+1 < len(s.VLANs) {
			t := s.VLANs[i+1].TPID
			fmt.Fprintf(w, ", ethertype %s (0x%04x), ", etherTypeName(t), uint16(t))
		}
	}
	if s.Cooked != nil && s.EtherType >= 0x0600 {
		typ = "ethertype " + etherTypeName(s.EtherType) // tcpdump's sll_print omits the number here
	}
	fmt.Fprintf(w, ", %s, ", typ)
}

func etherTypeName(t EtherType) string {
	if t == EtherTypeRARP {
		return "Reverse ARP"
	}
	n := t.String()
	if strings.HasPrefix(n, "0x") {
		return "Unknown"
	}
	return n
}

// EtherTypeRARP is the EtherType of Reverse ARP (RFC 903).
const EtherTypeRARP EtherType = 0x8035

// Summarize decodes whatever it can of an Ethernet frame captured whole:
// SummarizeLink(LinkEthernet, frame, len(frame)).
func Summarize(frame []byte) Summary {
	return SummarizeLink(LinkEthernet, frame, len(frame))
}

// SummarizeLink decodes whatever it can of frame, which starts with a
// link-layer header of type lt and was wireLen bytes long on the wire
// (more than len(frame) when a snap length cut it): Ethernet with 802.1Q
// and 802.1ad tags (stacked too), Linux cooked headers (SLL, SLL2), raw
// IP; then ARP, RARP, IPv4, UDP, TCP, ICMP (errors with their quoted
// header), DHCP and BOOTP, and the addresses of IPv6. Like tcpdump it takes
// the lengths of a cut frame from its headers ("length 1000: ... UDP,
// length 958") and decodes as far as the captured bytes go; checksums it
// cannot verify are left out. The rest goes to Hex; a truncated or
// malformed header is reported in Error. It never panics.
func SummarizeLink(lt LinkType, frame []byte, wireLen int) Summary {
	if wireLen < len(frame) {
		wireLen = len(frame)
	}
	s := Summary{Link: lt, Len: wireLen, CapLen: len(frame)}
	d := decoder{s: &s, missing: wireLen - len(frame)}
	switch lt.Canonical() {
	case LinkEthernet:
		d.ethernet(frame)
	case LinkLinuxSLL:
		d.sll(frame)
	case LinkLinuxSLL2:
		d.sll2(frame)
	case LinkRaw:
		d.raw(frame)
	default:
		s.Info = "link type " + lt.String() + " not decoded"
		s.Hex = hexString(frame)
	}
	return s
}

// decoder carries what the layers of one SummarizeLink call share.
type decoder struct {
	s       *Summary
	missing int // bytes on the wire beyond those captured
}

// wire returns how long b, which runs to the end of the captured bytes,
// was on the wire.
func (d *decoder) wire(b []byte) int { return len(b) + d.missing }

func hexString(b []byte) string { return hex.EncodeToString(b) }

func clone(b []byte) MAC { return MAC(append([]byte(nil), b...)) }

func (d *decoder) ethernet(frame []byte) {
	s := d.s
	if len(frame) < EthernetHeaderLen {
		s.Info = "truncated Ethernet frame"
		s.Hex = hexString(frame)
		s.Error = errText(errEthernetShort)
		return
	}
	s.Dst, s.Src = clone(frame[0:6]), clone(frame[6:12])
	s.Proto = "ethernet"
	d.tagged(frame[12:])
}

// tagged decodes b, an EtherType and what follows it: 802.1Q and 802.1ad
// tags (IEEE 802.1Q §9.6: TPID(2) TCI(2), then the next type), then the
// payload.
func (d *decoder) tagged(b []byte) {
	s := d.s
	for isTPID(EtherType(binary.BigEndian.Uint16(b))) {
		tpid := EtherType(binary.BigEndian.Uint16(b))
		if len(b) < 6 {
			s.EtherType = tpid
			s.Hex = hexString(b[2:])
			s.Error = errText(errVLANShort)
			return
		}
		s.VLANs = append(s.VLANs, vlanTag(tpid, binary.BigEndian.Uint16(b[2:])))
		b = b[4:]
	}
	s.EtherType = EtherType(binary.BigEndian.Uint16(b))
	if s.EtherType < 0x0600 {
		s.Hex = hexString(b[2:])
		return
	}
	d.network(s.EtherType, b[2:])
}

// network decodes the payload b of EtherType t.
func (d *decoder) network(t EtherType, b []byte) {
	switch t {
	case EtherTypeARP, EtherTypeRARP:
		d.arp(b, t == EtherTypeRARP)
	case EtherTypeIPv4:
		d.ipv4(b)
	case EtherTypeIPv6:
		d.ipv6(b)
	default:
		d.s.Hex = hexString(b)
	}
}

// isTPID reports whether t is a tag protocol identifier: 802.1Q, 802.1ad,
// or the pre-standard 0x9100 of early QinQ switches.
func isTPID(t EtherType) bool {
	return t == EtherTypeVLAN || t == EtherTypeQinQ || t == 0x9100
}

// errText is a decoding error as Summary.Error shows it: data, not a Go
// error, so without the "craft: " of the package (the user ran read or
// capture, not craft).
func errText(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated: " + strings.TrimPrefix(err.Error(), "craft: ")
	}
	return strings.TrimPrefix(err.Error(), "craft: ")
}

// arpOpNames are tcpdump's names of ARP operations (RFC 826, RFC 903,
// RFC 2390).
var arpOpNames = map[ARPOp]string{1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply",
	8: "Inverse Request", 9: "Inverse Reply", 10: "NACK Reply"}

// arp describes the ARP or RARP packet b with its own hardware and protocol
// types and address lengths, as tcpdump does. Layout (RFC 826):
//
//	0:2 hardware type   2:4 protocol type   4 hlen   5 plen   6:8 operation
//	8:  sender hardware address (hlen), sender protocol address (plen),
//	    target hardware address (hlen), target protocol address (plen)
//
// tcpdump's "length" is that of the payload, padding included.
func (d *decoder) arp(b []byte, rarp bool) {
	s := d.s
	name := map[bool]string{false: "ARP", true: "RARP"}[rarp]
	hl, pl := 0, 0
	if len(b) >= 8 {
		hl, pl = int(b[4]), int(b[5])
	}
	if len(b) < 8 || len(b) < 8+2*(hl+pl) {
		s.Info = name
		s.Hex = hexString(b)
		s.Error = "truncated: " + strings.ToLower(name) + ": " + io.ErrUnexpectedEOF.Error()
		return
	}
	s.Proto = strings.ToLower(name)
	a := &ARPSummary{Op: ARPOp(binary.BigEndian.Uint16(b[6:8])), HType: binary.BigEndian.Uint16(b[0:2]),
		PType: EtherType(binary.BigEndian.Uint16(b[2:4])), HLen: b[4], PLen: b[5]}
	s.ARP = a
	sha, spa := b[8:8+hl], b[8+hl:8+hl+pl]
	tha, tpa := b[8+hl+pl:8+2*hl+pl], b[8+2*hl+pl:8+2*(hl+pl)]
	if hl == 6 {
		a.SenderMAC, a.TargetMAC = clone(sha), clone(tha)
	} else {
		a.SenderHW, a.TargetHW = MAC(sha).String(), MAC(tha).String()
	}
	isIP := a.PType == EtherTypeIPv4 && pl == 4
	if isIP {
		a.SenderIP, a.TargetIP = netip.AddrFrom4([4]byte(spa)), netip.AddrFrom4([4]byte(tpa))
		a.Probe = a.SenderIP.IsUnspecified() && a.Op == ARPRequest
		a.Gratuitous = a.SenderIP == a.TargetIP && !a.Probe
	}
	n := d.wire(b)
	if !isIP || hl == 0 {
		// tcpdump prints the types when it cannot read the addresses.
		hn := map[uint16]string{1: "Ethernet", 6: "TokenRing", 15: "FrameRelay", 19: "ATM", 32: "InfiniBand"}[a.HType]
		if hn == "" {
			hn = fmt.Sprintf("Unknown Hardware (%d)", a.HType)
		}
		pn := etherTypeName(a.PType)
		if pn == "Unknown" {
			pn = fmt.Sprintf("Unknown Protocol (0x%04x)", uint16(a.PType))
		}
		s.Info = fmt.Sprintf("%s (len %d), %s (len %d), length %d", hn, hl, pn, pl, n)
		return
	}
	ip := func(p []byte) string { return netip.AddrFrom4([4]byte(p)).String() }
	hw := func(m []byte) string { return MAC(m).String() }
	switch a.Op {
	case 1:
		tgt := ""
		if !isZero(tha) {
			tgt = " (" + hw(tha) + ")"
		}
		s.Info = fmt.Sprintf("Request who-has %s%s tell %s", ip(tpa), tgt, ip(spa))
	case 2:
		s.Info = fmt.Sprintf("Reply %s is-at %s", ip(spa), hw(sha))
	case 3, 8:
		s.Info = fmt.Sprintf("%s who-is %s tell %s", arpOpNames[a.Op], hw(tha), hw(sha))
	case 4:
		s.Info = fmt.Sprintf("Reverse Reply %s at %s", hw(tha), ip(tpa))
	case 9:
		s.Info = fmt.Sprintf("Inverse Reply %s at %s", hw(sha), ip(spa))
	default:
		s.Info = fmt.Sprintf("%s sender %s %s, target %s %s", a.Op, hw(sha), ip(spa), hw(tha), ip(tpa))
		if nm, ok := arpOpNames[a.Op]; ok {
			s.Info = nm + " " + s.Info[strings.Index(s.Info, "sender"):]
		} else {
			s.Info = fmt.Sprintf("Unknown (%d) sender %s %s, target %s %s", a.Op, hw(sha), ip(spa), hw(tha), ip(tpa))
		}
	}
	s.Info += fmt.Sprintf(", length %d", n)
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func bptr(b bool) *bool { return &b }

// ipv4 describes the IPv4 packet b (RFC 791 §3.1). A packet whose total
// length runs past the captured bytes is decoded from its headers when the
// frame was cut by a snap length, and is a truncation error otherwise.
func (d *decoder) ipv4(b []byte) {
	s := d.s
	fail := func(err error) {
		s.Info = "IPv4"
		s.Hex = hexString(b)
		s.Error = errText(err)
	}
	switch {
	case len(b) < IPv4HeaderLen:
		fail(errIPv4Short)
		return
	case b[0]>>4 != 4:
		fail(errIPv4Version)
		return
	case ihl(b) < IPv4HeaderLen:
		fail(errIPv4IHL)
		return
	case len(b) < ihl(b):
		fail(errIPv4Short)
		return
	}
	hl, total := ihl(b), int(binary.BigEndian.Uint16(b[2:4]))
	switch {
	case total < hl:
		fail(errIPv4TotalLen)
		return
	case total > d.wire(b) || (total > len(b) && d.missing == 0):
		fail(errIPv4Short)
		return
	}
	f := binary.BigEndian.Uint16(b[6:8])
	src, dst := netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
	ip := &IPv4Summary{Src: src, Dst: dst, Protocol: b[9], TTL: b[8], ID: binary.BigEndian.Uint16(b[4:6]), TOS: b[1],
		DontFragment: f&0x4000 != 0, MoreFrags: f&0x2000 != 0, FragOffset: int(f&0x1fff) * 8, Length: total,
		ChecksumOK: Checksum(b[:hl]) == 0}
	s.Proto, s.IPv4 = "ipv4", ip
	data := b[hl:min(total, len(b))]
	t := transport{data: data, length: total - hl, whole: len(data) == total-hl && !ip.MoreFrags,
		first: ip.MoreFrags, src: src, dst: dst}
	var info string
	switch {
	case ip.FragOffset != 0:
		// A later fragment: tcpdump names only the protocol.
		info = fmt.Sprintf("%s > %s: ip-proto-%d", src, dst, ip.Protocol)
		s.Hex = hexString(data)
	case ip.Protocol == ProtocolUDP && len(data) >= UDPHeaderLen:
		info = d.udp(t)
	case ip.Protocol == ProtocolICMP && len(data) >= 4:
		info = d.icmp(t)
	case ip.Protocol == ProtocolTCP && len(data) >= 20 && int(data[12]>>4)*4 >= 20 && int(data[12]>>4)*4 <= len(data):
		info = d.tcp(t)
	default:
		name := map[uint8]string{ProtocolICMP: "ICMP", ProtocolTCP: "TCP", ProtocolUDP: "UDP"}[ip.Protocol]
		if name == "" {
			name = fmt.Sprintf("ip-proto-%d", ip.Protocol)
		}
		info = fmt.Sprintf("%s > %s: %s, length %d", src, dst, name, t.length)
		s.Hex = hexString(data)
		switch ip.Protocol {
		case ProtocolUDP:
			s.Error = errText(errUDPShort)
		case ProtocolICMP:
			s.Error = errText(errICMPShort)
		case ProtocolTCP:
			s.Error = "truncated: tcp: " + io.ErrUnexpectedEOF.Error()
		}
	}
	if !ip.ChecksumOK {
		info += ", bad ip cksum"
	}
	s.Info = info
}

// transport is an IPv4 payload as captured: data, its length from the IPv4
// header, and whether data is all of it (checksums can be verified).
type transport struct {
	data     []byte
	length   int
	whole    bool
	first    bool // the first fragment of a datagram: its headers give lengths beyond it
	src, dst netip.Addr
}

func (d *decoder) udp(t transport) string {
	s := d.s
	u := t.data
	ulen := int(binary.BigEndian.Uint16(u[4:6]))
	sp, dp := binary.BigEndian.Uint16(u[0:2]), binary.BigEndian.Uint16(u[2:4])
	head := fmt.Sprintf("%s.%d > %s.%d: ", t.src, sp, t.dst, dp)
	switch {
	case ulen < UDPHeaderLen:
		s.Hex, s.Error = hexString(u), errText(errUDPLength)
		return fmt.Sprintf("%s > %s: UDP, length %d", t.src, t.dst, t.length)
	case ulen > t.length && !t.first:
		s.Hex, s.Error = hexString(u), errText(errUDPShort)
		return fmt.Sprintf("%s > %s: UDP, length %d", t.src, t.dst, t.length)
	}
	s.Proto = "udp"
	us := &UDPSummary{SrcPort: sp, DstPort: dp, Length: ulen - UDPHeaderLen}
	s.UDP = us
	whole := t.whole && ulen <= len(u)
	if whole {
		us.ChecksumOK = bptr(UDPChecksumOK(t.src, t.dst, u[:ulen]))
	}
	payload := u[UDPHeaderLen:min(ulen, len(u))]
	cksum := ""
	if us.ChecksumOK != nil && !*us.ChecksumOK {
		cksum = ", bad udp cksum"
	}
	if isDHCPPorts(UDP{SrcPort: sp, DstPort: dp}) {
		return head + d.bootp(payload, us.Length, whole) + cksum
	}
	s.Hex = hexString(payload)
	return head + fmt.Sprintf("UDP, length %d", us.Length) + cksum
}

// bootp describes a BOOTP message (RFC 951), DHCP when it has the magic
// cookie and a message type (RFC 2131). A cut or cookie-less message is
// described from its fixed fields, as tcpdump does: "BOOTP/DHCP, Request
// from 02:00:5e:00:00:01, length 300".
func (d *decoder) bootp(p []byte, n int, whole bool) string {
	s := d.s
	if whole && len(p) >= dhcpOptionsAt && [4]byte(p[236:240]) == magicCookie {
		m, _, err := decodeDHCPMessage(p)
		if err == nil && m.MessageType() != dhcpv4.MessageTypeNone {
			s.Proto = "dhcp"
			s.DHCP = summarizeDHCP(m, n)
			return s.DHCP.text()
		}
	}
	if len(p) < 236 {
		s.Hex = hexString(p)
		if whole {
			s.Error = fmt.Sprintf("truncated: dhcp: message of %d bytes, want at least %d: %s", len(p), dhcpOptionsAt, io.ErrUnexpectedEOF)
		}
		return fmt.Sprintf("BOOTP/DHCP, length %d", n)
	}
	// Fixed fields (RFC 951 §3): 0 op, 1 htype, 2 hlen, 3 hops, 4:8 xid,
	// 8:10 secs, 10:12 flags, 12:16 ciaddr, 16:20 yiaddr, 20:24 siaddr,
	// 24:28 giaddr, 28:44 chaddr, 44:108 sname, 108:236 file.
	s.Proto = "bootp"
	hl := min(int(p[2]), 16)
	ip := func(o int) netip.Addr { return nonZero(net.IP(p[o : o+4])) }
	b := &DHCPSummary{Op: dhcpv4.OpcodeType(p[0]).String(), XID: fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(p[4:8])),
		ClientMAC: clone(p[28 : 28+hl]), Broadcast: p[10]&0x80 != 0,
		ClientIP: ip(12), YourIP: ip(16), ServerIP: ip(20), RelayIP: ip(24),
		ServerName: cString(p[44:108]), File: cString(p[108:236]), Length: n}
	s.DHCP = b
	if len(p) > 236 {
		s.Hex = hexString(p[236:])
	}
	switch p[0] {
	case 1:
		return fmt.Sprintf("BOOTP/DHCP, Request from %s, length %d", b.ClientMAC, n)
	case 2:
		return fmt.Sprintf("BOOTP/DHCP, Reply, length %d", n)
	}
	return fmt.Sprintf("BOOTP/DHCP, op %d, length %d", p[0], n)
}

func summarizeDHCP(m *dhcpv4.DHCPv4, n int) *DHCPSummary {
	d := &DHCPSummary{Op: m.OpCode.String(), XID: fmt.Sprintf("0x%08x", m.TransactionID[:]),
		ClientMAC: MAC(m.ClientHWAddr), Broadcast: m.IsBroadcast(), Length: n,
		ClientIP: nonZero(m.ClientIPAddr), YourIP: nonZero(m.YourIPAddr), ServerIP: nonZero(m.ServerIPAddr),
		RelayIP: nonZero(m.GatewayIPAddr), ServerName: m.ServerHostName, File: m.BootFileName,
		Hostname: m.HostName(), Message: m.Message()}
	if v := m.Options.Get(dhcpv4.OptionDHCPMessageType); len(v) == 1 {
		d.MsgType = MessageTypeName(dhcpv4.MessageType(v[0]))
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

// MessageTypeName spells a DHCP message type (option 53, RFC 2132 §9.6)
// as rawlab's JSON does: the RFC 2131 name without "DHCP", upper-case
// (DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM), or
// "type(N)" for others.
func MessageTypeName(t dhcpv4.MessageType) string {
	if t >= dhcpv4.MessageTypeDiscover && t <= dhcpv4.MessageTypeInform {
		return strings.TrimPrefix(strings.ToUpper(t.String()), "DHCP")
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

func nonZero(ip net.IP) netip.Addr {
	a := addrFromIP(ip)
	if a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}

// text is the DHCP part of a summary line. Strings from the wire are
// escaped (Escape).
func (d *DHCPSummary) text() string {
	var w strings.Builder
	w.WriteString("DHCP")
	if d.MsgType != "" {
		// tcpdump -v's spelling: "Discover", "Ack".
		w.WriteString(" " + d.MsgType[:1] + strings.ToLower(d.MsgType[1:]))
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
	for _, f := range []struct{ name, v string }{{"sname", d.ServerName}, {"file", d.File}, {"hostname", d.Hostname}, {"message", d.Message}} {
		if f.v != "" {
			fmt.Fprintf(&w, ", %s %s", f.name, Escape(f.v))
		}
	}
	fmt.Fprintf(&w, ", length %d", d.Length)
	return w.String()
}

// ipv6 prints the addresses and next header of an IPv6 packet (RFC 8200
// §3) and leaves its payload in hex; craft does not decode IPv6.
func (d *decoder) ipv6(b []byte) {
	s := d.s
	s.Proto = "ipv6"
	if len(b) < 40 || b[0]>>4 != 6 {
		s.Info = "IPv6"
		s.Hex = hexString(b)
		if len(b) < 40 {
			s.Error = "truncated: ipv6: " + io.ErrUnexpectedEOF.Error()
		} else {
			s.Error = "ipv6: version is not 6"
		}
		return
	}
	src, dst := netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
	s.Info = fmt.Sprintf("%s > %s: ip6-next-header-%d, payload length %d", src, dst, b[6], binary.BigEndian.Uint16(b[4:6]))
	s.Hex = hexString(b[40:])
}

// tcp describes the TCP segment like tcpdump -n does, with absolute
// sequence numbers. Layout (RFC 9293 §3.1): 0:2 source port, 2:4
// destination port, 4:8 sequence, 8:12 acknowledgment, 12 data offset << 4,
// 13 flags (CWR ECE URG ACK PSH RST SYN FIN), 14:16 window, 16:18 checksum.
func (d *decoder) tcp(t transport) string {
	s := d.s
	seg := t.data
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
	tc := &TCPSummary{SrcPort: binary.BigEndian.Uint16(seg[0:2]), DstPort: binary.BigEndian.Uint16(seg[2:4]),
		Flags: string(flags), Seq: binary.BigEndian.Uint32(seg[4:8]), Window: binary.BigEndian.Uint16(seg[14:16]),
		Length: t.length - off}
	if t.whole {
		tc.ChecksumOK = bptr(fold(sum(pseudoHeaderSum(t.src, t.dst, ProtocolTCP, len(seg)), seg)) == 0xffff)
	}
	if fl&0x10 != 0 {
		tc.Ack = binary.BigEndian.Uint32(seg[8:12])
	}
	s.TCP = tc
	var w strings.Builder
	fmt.Fprintf(&w, "%s.%d > %s.%d: Flags [%s], seq %d", t.src, tc.SrcPort, t.dst, tc.DstPort, tc.Flags, tc.Seq)
	if tc.Length > 0 {
		fmt.Fprintf(&w, ":%d", tc.Seq+uint32(tc.Length))
	}
	if fl&0x10 != 0 {
		fmt.Fprintf(&w, ", ack %d", tc.Ack)
	}
	fmt.Fprintf(&w, ", win %d, length %d", tc.Window, tc.Length)
	if tc.ChecksumOK != nil && !*tc.ChecksumOK {
		w.WriteString(", bad tcp cksum")
	}
	if len(seg) > off {
		s.Hex = hexString(seg[off:])
	}
	return w.String()
}
