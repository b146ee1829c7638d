package craft

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
)

// EtherType is the 16-bit type field of an Ethernet II frame (IEEE 802.3
// §3.2.6): the protocol of the payload. Values below 0x0600 are 802.3
// lengths, not types.
type EtherType uint16

// EtherTypes this package knows by name.
const (
	EtherTypeIPv4 EtherType = 0x0800 // RFC 894
	EtherTypeARP  EtherType = 0x0806 // RFC 826
	EtherTypeVLAN EtherType = 0x8100 // IEEE 802.1Q customer tag
	EtherTypeIPv6 EtherType = 0x86DD // RFC 2464
	EtherTypeQinQ EtherType = 0x88A8 // IEEE 802.1ad service tag
	EtherTypeLLDP EtherType = 0x88CC // IEEE 802.1AB
)

// String returns the name tcpdump uses ("IPv4", "ARP", "802.1Q", "IPv6"),
// or the value in hex ("0x1234") for unknown types.
func (t EtherType) String() string {
	switch t {
	case EtherTypeIPv4:
		return "IPv4"
	case EtherTypeARP:
		return "ARP"
	case EtherTypeVLAN:
		return "802.1Q"
	case EtherTypeIPv6:
		return "IPv6"
	case EtherTypeQinQ:
		return "802.1Q-QinQ"
	case 0x9100:
		return "802.1Q-9100"
	case EtherTypeLLDP:
		return "LLDP"
	}
	return fmt.Sprintf("0x%04x", uint16(t))
}

// VLAN is one IEEE 802.1Q tag (802.1Q-2018 §9.6): its tag protocol
// identifier and its tag control information, 3 bits of priority code
// point, 1 drop eligible indicator bit and 12 bits of VLAN ID. It is the one
// VLAN model of rawlab: flags, frame builders and summaries all use it, and
// a stack of tags (802.1ad QinQ) is a []VLAN, outermost first.
type VLAN struct {
	ID       uint16 `json:"id"`       // VID, 0-4095
	Priority uint8  `json:"priority"` // PCP, 0-7
	DEI      bool   `json:"dei"`      // drop eligible indicator
	// TPID is the tag protocol identifier: 0x8100 (802.1Q customer tag),
	// 0x88a8 (802.1ad service tag) or 0x9100. Encoders write 0 as 0x8100
	// for a single or innermost tag and as 0x88a8 for an outer one.
	TPID EtherType `json:"tpid"`
}

// MaxVLANID is the largest VLAN ID; 4095 is reserved but can be sent.
const MaxVLANID = 4095

// tci packs the tag control information; out-of-range fields are masked.
func (v VLAN) tci() uint16 {
	t := uint16(v.Priority&7)<<13 | v.ID&0x0fff
	if v.DEI {
		t |= 1 << 12
	}
	return t
}

// tpid returns the TPID to write: v.TPID, or the default for its place.
func (v VLAN) tpid(outer bool) EtherType {
	switch {
	case v.TPID != 0:
		return v.TPID
	case outer:
		return EtherTypeQinQ
	}
	return EtherTypeVLAN
}

// vlanTag returns the tag with TPID tpid and tag control information t.
func vlanTag(tpid EtherType, t uint16) VLAN {
	v := vlanFromTCI(t)
	v.TPID = tpid
	return v
}

// vlanFromTCI unpacks tag control information, leaving the TPID 0.
func vlanFromTCI(t uint16) VLAN {
	return VLAN{Priority: uint8(t >> 13), DEI: t&(1<<12) != 0, ID: t & 0x0fff}
}

// MarshalText encodes t as JSON does everywhere in rawlab: "0x" and four
// lower-case hex digits ("0x0800").
func (t EtherType) MarshalText() ([]byte, error) {
	return fmt.Appendf(nil, "0x%04x", uint16(t)), nil
}

// UnmarshalText decodes "0x0800" (or a decimal number).
func (t *EtherType) UnmarshalText(b []byte) error {
	n, err := strconv.ParseUint(string(b), 0, 16)
	if err != nil {
		return fmt.Errorf("craft: ethertype %q: want 0x0000-0xffff", b)
	}
	*t = EtherType(n)
	return nil
}

// AppendTagged appends frame to b with tags inserted after its two MAC
// addresses, outermost first; a zero TPID is written as EtherType.tpid
// describes. frame must hold at least the 12 bytes of addresses (shorter
// frames are appended unchanged). It allocates nothing when cap(b) suffices.
func AppendTagged(b, frame []byte, tags []VLAN) []byte {
	if len(tags) == 0 || len(frame) < 12 {
		return append(b, frame...)
	}
	b = append(b, frame[:12]...)
	for i, v := range tags {
		n := len(b)
		b = grow(b, VLANTagLen)
		binary.BigEndian.PutUint16(b[n:], uint16(v.tpid(i+1 < len(tags))))
		binary.BigEndian.PutUint16(b[n+2:], v.tci())
	}
	return append(b, frame[12:]...)
}

// Ethernet is an Ethernet II header, optionally with one 802.1Q tag (its
// TPID 0 is written as 0x8100); AppendTagged stacks more.
type Ethernet struct {
	Dst, Src  net.HardwareAddr
	VLAN      *VLAN     // nil = untagged
	EtherType EtherType // of the payload (after the tag)
}

// Header lengths and the minimum frame length without FCS.
const (
	EthernetHeaderLen = 14 // dst(6) src(6) type(2)
	VLANTagLen        = 4  // TPID 0x8100(2) TCI(2)
	MinFrameLen       = 60 // 64-byte minimum frame (IEEE 802.3 §4.4.2) without the 4-byte FCS
)

// HeaderLen returns the encoded length of the header: 14, or 18 when tagged.
func (e *Ethernet) HeaderLen() int {
	if e.VLAN != nil {
		return EthernetHeaderLen + VLANTagLen
	}
	return EthernetHeaderLen
}

// AppendEthernet appends the Ethernet header to b. Layout:
//
//	0:6   destination MAC
//	6:12  source MAC
//	12:14 EtherType, or 0x8100 when tagged, followed by
//	14:16 TCI (PCP:3 DEI:1 VID:12) and 16:18 the payload's EtherType
//
// A nil or short MAC is written as zeros.
func AppendEthernet(b []byte, e Ethernet) []byte {
	n := len(b)
	b = grow(b, e.HeaderLen())
	h := b[n:]
	putMAC(h[0:6], e.Dst)
	putMAC(h[6:12], e.Src)
	if e.VLAN != nil {
		binary.BigEndian.PutUint16(h[12:14], uint16(e.VLAN.tpid(false)))
		binary.BigEndian.PutUint16(h[14:16], e.VLAN.tci())
		binary.BigEndian.PutUint16(h[16:18], uint16(e.EtherType))
	} else {
		binary.BigEndian.PutUint16(h[12:14], uint16(e.EtherType))
	}
	return b
}

// DecodeEthernet decodes the Ethernet header at the start of frame into eth
// and returns the payload after it (which includes any padding). eth.Dst and
// eth.Src alias frame; a tag reuses eth.VLAN when it is not nil, so decoding
// into the same Ethernet again allocates nothing. One 802.1Q tag (TPID
// 0x8100) is decoded; an 802.1ad or second tag is left as the EtherType.
func DecodeEthernet(frame []byte, eth *Ethernet) (payload []byte, err error) {
	if len(frame) < EthernetHeaderLen {
		return nil, errEthernetShort
	}
	eth.Dst = net.HardwareAddr(frame[0:6:6])
	eth.Src = net.HardwareAddr(frame[6:12:12])
	t := EtherType(binary.BigEndian.Uint16(frame[12:14]))
	if t != EtherTypeVLAN {
		eth.VLAN = nil
		eth.EtherType = t
		return frame[EthernetHeaderLen:], nil
	}
	if len(frame) < EthernetHeaderLen+VLANTagLen {
		return nil, errVLANShort
	}
	if eth.VLAN == nil {
		eth.VLAN = new(VLAN)
	}
	*eth.VLAN = vlanTag(EtherTypeVLAN, binary.BigEndian.Uint16(frame[14:16]))
	eth.EtherType = EtherType(binary.BigEndian.Uint16(frame[16:18]))
	return frame[EthernetHeaderLen+VLANTagLen:], nil
}

// grow extends b by n bytes (contents unspecified) and returns it; it
// allocates only when cap(b) is too small.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// pad appends zeros to b until the frame that starts at b[start:] is at
// least MinFrameLen bytes long.
func pad(b []byte, start int) []byte {
	if n := MinFrameLen - (len(b) - start); n > 0 {
		l := len(b)
		b = grow(b, n)
		clear(b[l:])
	}
	return b
}
