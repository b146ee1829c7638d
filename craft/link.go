package craft

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// LinkType is a pcap link-layer header type (LINKTYPE_* of
// https://www.tcpdump.org/linktypes.html): what a captured frame starts with.
type LinkType uint16

// Link types SummarizeLink decodes.
const (
	LinkEthernet  LinkType = 1   // LINKTYPE_ETHERNET: IEEE 802.3 Ethernet
	LinkRaw       LinkType = 101 // LINKTYPE_RAW: an IPv4 or IPv6 packet, no link header
	LinkLinuxSLL  LinkType = 113 // LINKTYPE_LINUX_SLL: Linux cooked capture v1
	LinkLinuxSLL2 LinkType = 276 // LINKTYPE_LINUX_SLL2: Linux cooked capture v2

	// linkDLTRaw12 and linkDLTRaw14 are the DLT_RAW values of BSD/OS and
	// OpenBSD that files carry when written there; libpcap reads both as
	// LINKTYPE_RAW. linkIPv4 and linkIPv6 are raw packets of one version.
	linkDLTRaw12 LinkType = 12
	linkDLTRaw14 LinkType = 14
	linkIPv4     LinkType = 228
	linkIPv6     LinkType = 229
)

// Canonical returns the link type t is decoded as: the DLT_RAW values 12
// and 14 and LINKTYPE_IPV4/IPV6 (228, 229) become LinkRaw, as libpcap maps
// them; other values are returned unchanged.
func (t LinkType) Canonical() LinkType {
	switch t {
	case linkDLTRaw12, linkDLTRaw14, linkIPv4, linkIPv6:
		return LinkRaw
	}
	return t
}

// Decoded reports whether SummarizeLink decodes frames of type t.
func (t LinkType) Decoded() bool {
	switch t.Canonical() {
	case LinkEthernet, LinkRaw, LinkLinuxSLL, LinkLinuxSLL2:
		return true
	}
	return false
}

// String returns libpcap's name of t ("EN10MB", "RAW", "LINUX_SLL",
// "LINUX_SLL2", "IPV4", "IPV6"), or "linktype(N)".
func (t LinkType) String() string {
	switch t {
	case LinkEthernet:
		return "EN10MB"
	case LinkRaw, linkDLTRaw12, linkDLTRaw14:
		return "RAW"
	case LinkLinuxSLL:
		return "LINUX_SLL"
	case LinkLinuxSLL2:
		return "LINUX_SLL2"
	case linkIPv4:
		return "IPV4"
	case linkIPv6:
		return "IPV6"
	}
	return "linktype(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText encodes t by its name, as String does.
func (t LinkType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText decodes what MarshalText encodes.
func (t *LinkType) UnmarshalText(b []byte) error {
	for _, c := range []LinkType{LinkEthernet, LinkRaw, LinkLinuxSLL, LinkLinuxSLL2, linkIPv4, linkIPv6} {
		if c.String() == string(b) {
			*t = c
			return nil
		}
	}
	var n uint16
	if _, err := fmt.Sscanf(string(b), "linktype(%d)", &n); err != nil {
		return fmt.Errorf("craft: link type %q unknown", b)
	}
	*t = LinkType(n)
	return nil
}

// CookedSummary is the Linux cooked capture header of a Summary (the
// packet(7) sockaddr_ll fields that libpcap keeps in place of an Ethernet
// header).
type CookedSummary struct {
	PacketType string `json:"packet_type"`         // host, broadcast, multicast, otherhost, outgoing, or pkttype(N)
	Direction  string `json:"direction,omitempty"` // "in" or "out"; absent for an unknown packet type
	HAType     uint16 `json:"hatype"`              // ARPHRD_* of the interface (1: Ethernet)
	Addr       string `json:"addr,omitempty"`      // link-layer source address, hex with colons, when not a 6-byte MAC
	IfIndex    uint32 `json:"ifindex,omitempty"`   // interface index (SLL2 only)
}

// Cooked header lengths (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html, ..._SLL2.html).
const (
	sllHeaderLen  = 16
	sll2HeaderLen = 20
)

// pktTypes names the sll_pkttype values (packet(7) PACKET_*) as rawlab
// does, and as tcpdump prints them.
var pktTypes = [...]struct{ name, tcpdump, dir string }{
	{"host", "In", "in"}, {"broadcast", "B", "in"}, {"multicast", "M", "in"},
	{"otherhost", "P", "in"}, {"outgoing", "Out", "out"},
}

func newCooked(pkttype, hatype uint16, ifindex uint32) *CookedSummary {
	c := &CookedSummary{HAType: hatype, IfIndex: ifindex, PacketType: fmt.Sprintf("pkttype(%d)", pkttype)}
	if int(pkttype) < len(pktTypes) {
		c.PacketType, c.Direction = pktTypes[pkttype].name, pktTypes[pkttype].dir
	}
	return c
}

// cookedPrefix is what tcpdump -e prints for the cooked header: "%3s " of
// the packet type, then for SLL2 the interface index.
func (c *CookedSummary) prefix() string {
	t := "?"
	for _, p := range pktTypes {
		if p.name == c.PacketType {
			t = p.tcpdump
		}
	}
	if c.IfIndex != 0 {
		return fmt.Sprintf("%-3s ifindex %d ", t, c.IfIndex)
	}
	return fmt.Sprintf("%3s ", t)
}

// summarizeSLL decodes a Linux cooked v1 header. Layout, all big-endian:
//
//	0:2   packet type (PACKET_HOST 0 ... PACKET_OUTGOING 4)
//	2:4   ARPHRD_ type of the interface
//	4:6   link-layer address length
//	6:14  link-layer address, zero-padded to 8 bytes
//	14:16 protocol: the EtherType, or 1 (802.3) / 4 (802.2) for LLC frames
func (d *decoder) sll(b []byte) {
	if len(b) < sllHeaderLen {
		d.truncatedLink(b, "linux_sll")
		return
	}
	d.cooked(newCooked(binary.BigEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4]), 0),
		binary.BigEndian.Uint16(b[4:6]), b[6:14], b[14:])
}

// summarizeSLL2 decodes a Linux cooked v2 header. Layout, big-endian:
//
//	0:2   protocol (EtherType)
//	2:4   reserved
//	4:8   interface index
//	8:10  ARPHRD_ type
//	10    packet type
//	11    link-layer address length
//	12:20 link-layer address, zero-padded to 8 bytes
func (d *decoder) sll2(b []byte) {
	if len(b) < sll2HeaderLen {
		d.truncatedLink(b, "linux_sll2")
		return
	}
	d.cooked(newCooked(uint16(b[10]), binary.BigEndian.Uint16(b[8:10]), binary.BigEndian.Uint32(b[4:8])),
		uint16(b[11]), b[12:20], append(b[0:2:2], b[sll2HeaderLen:]...))
}

// cooked decodes what follows a cooked header; payload starts with the
// protocol field.
func (d *decoder) cooked(c *CookedSummary, halen uint16, addr []byte, payload []byte) {
	s := d.s
	s.Cooked = c
	s.Proto = "cooked"
	if halen == 6 {
		s.Src = MAC(append([]byte(nil), addr[:6]...))
	} else if halen > 0 {
		c.Addr = MAC(addr[:min(int(halen), len(addr))]).String()
	}
	d.tagged(payload)
}

func (d *decoder) truncatedLink(b []byte, name string) {
	d.s.Info = "truncated " + name + " header"
	d.s.Hex = hexString(b)
	d.s.Error = "truncated: " + name + ": unexpected EOF"
}

// raw decodes a packet without a link header, its version in the first
// nibble (LINKTYPE_RAW).
func (d *decoder) raw(b []byte) {
	if len(b) == 0 {
		d.s.Error = "truncated: raw ip: unexpected EOF"
		return
	}
	switch b[0] >> 4 {
	case 4:
		d.network(EtherTypeIPv4, b)
	case 6:
		d.network(EtherTypeIPv6, b)
	default:
		d.s.Info = fmt.Sprintf("IP version %d", b[0]>>4)
		d.s.Hex = hexString(b)
		d.s.Error = fmt.Sprintf("raw ip: version %d is not 4 or 6: malformed", b[0]>>4)
	}
}
