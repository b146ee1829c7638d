package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// errNotARPFrame is DecodeARPFrame's error for a frame of another EtherType.
var errNotARPFrame = fmt.Errorf("craft: arp: EtherType is not ARP (0x0806): %w", ErrUnsupported)

// ARPFrame is a whole Ethernet frame carrying ARP, decoded into values
// rather than slices, so that decoding into a reused ARPFrame allocates
// nothing and the result outlives the buffer. It is the codec of the
// scanner's hot paths; ARP and DecodeARP are the general form.
//
// Frame layout (IEEE 802.3, IEEE 802.1Q for the optional tag, RFC 826 for
// the ARP body):
//
//	0:6    Ethernet destination
//	6:12   Ethernet source
//	12:14  EtherType 0x0806, or a tag's TPID (0x8100 or 0x88a8) followed by
//	14:16  the TCI (PCP:3 DEI:1 VID:12) and 16:18 the EtherType 0x0806
//	then the ARP body (offsets from its start):
//	0:2    htype (1, Ethernet)     2:4 ptype (0x0800, IPv4)
//	4      hlen (6)                5   plen (4)
//	6:8    oper                    8:14 sha   14:18 spa
//	18:24  tha                     24:28 tpa
type ARPFrame struct {
	EthDst, EthSrc [6]byte
	// Tagged says the frame carried one 802.1Q (or 802.1ad) tag, VLAN.
	Tagged bool
	VLAN   VLAN
	Op     ARPOp
	// HType, PType, HLen and PLen are the body's own values, always set by
	// DecodeARPFrame (also for packets that are not Ethernet/IPv4, which
	// return ErrUnsupported); AppendARPFrame writes 1, 0x0800, 6, 4.
	HType, PType uint16
	HLen, PLen   uint8
	SHA, THA     [6]byte // sender and target hardware addresses
	SPA, TPA     [4]byte // sender and target protocol (IPv4) addresses
}

// ARPFrameLen is the length of an untagged ARP frame before padding
// (14 + 28); a tag adds VLANTagLen.
const ARPFrameLen = EthernetHeaderLen + ARPLen

// SenderIP returns the sender protocol address.
func (f *ARPFrame) SenderIP() netip.Addr { return netip.AddrFrom4(f.SPA) }

// TargetIP returns the target protocol address.
func (f *ARPFrame) TargetIP() netip.Addr { return netip.AddrFrom4(f.TPA) }

// Mismatch reports whether the Ethernet source differs from the ARP sender
// hardware address (arp-scan(1) prints the former in brackets then).
func (f *ARPFrame) Mismatch() bool { return f.EthSrc != f.SHA }

// IsGratuitous reports whether f announces its sender's own address:
// sender and target IP equal and not 0.0.0.0 (RFC 5227 §3).
func (f *ARPFrame) IsGratuitous() bool { return f.SPA == f.TPA && f.SPA != [4]byte{} }

// SPAOffset and TPAOffset return where the sender and target protocol
// addresses sit in a frame AppendARPFrame built from f, for patching them
// in place.
func (f *ARPFrame) SPAOffset() int { return f.bodyOffset() + 14 }

// TPAOffset: see SPAOffset.
func (f *ARPFrame) TPAOffset() int { return f.bodyOffset() + 24 }

func (f *ARPFrame) bodyOffset() int {
	if f.Tagged {
		return EthernetHeaderLen + VLANTagLen
	}
	return EthernetHeaderLen
}

// DecodeARPFrame decodes an Ethernet II frame, untagged or with one
// 802.1Q/802.1ad tag, carrying ARP into f. A frame too short for what its
// headers announce returns an error wrapping io.ErrUnexpectedEOF; a frame
// of another EtherType, or an ARP packet that is not Ethernet/IPv4 (f's
// HType, PType, HLen, PLen and Op then hold the packet's values), returns
// one wrapping ErrUnsupported. It allocates nothing.
func DecodeARPFrame(frame []byte, f *ARPFrame) error {
	if len(frame) < EthernetHeaderLen {
		return errEthernetShort
	}
	copy(f.EthDst[:], frame[0:6])
	copy(f.EthSrc[:], frame[6:12])
	f.Tagged, f.VLAN = false, VLAN{}
	et := EtherType(binary.BigEndian.Uint16(frame[12:14]))
	body := frame[EthernetHeaderLen:]
	if et == EtherTypeVLAN || et == EtherTypeQinQ {
		if len(frame) < EthernetHeaderLen+VLANTagLen {
			return errVLANShort
		}
		f.Tagged, f.VLAN = true, vlanTag(et, binary.BigEndian.Uint16(frame[14:16]))
		et = EtherType(binary.BigEndian.Uint16(frame[16:18]))
		body = frame[EthernetHeaderLen+VLANTagLen:]
	}
	if et != EtherTypeARP {
		return errNotARPFrame
	}
	if len(body) < 8 {
		return errARPShort
	}
	var ok bool
	f.HType, f.PType, f.HLen, f.PLen, f.Op, ok = arpHeader(body)
	if !ok {
		f.SHA, f.THA, f.SPA, f.TPA = [6]byte{}, [6]byte{}, [4]byte{}, [4]byte{}
		return errARPFormat
	}
	if len(body) < ARPLen {
		return errARPShort
	}
	copy(f.SHA[:], body[8:14])
	copy(f.SPA[:], body[14:18])
	copy(f.THA[:], body[18:24])
	copy(f.TPA[:], body[24:28])
	return nil
}

// AppendARPFrame appends f encoded as an Ethernet/IPv4 ARP frame (tagged
// when f.Tagged, with f.VLAN.TPID or 0x8100) to b, padded with zeros to the 60-byte
// Ethernet minimum; f's HType, PType, HLen and PLen are ignored. It
// allocates nothing when cap(b)-len(b) >= 64.
func AppendARPFrame(b []byte, f *ARPFrame) []byte {
	start := len(b)
	b = append(b, f.EthDst[:]...)
	b = append(b, f.EthSrc[:]...)
	if f.Tagged {
		b = binary.BigEndian.AppendUint16(b, uint16(f.VLAN.tpid(false)))
		b = binary.BigEndian.AppendUint16(b, f.VLAN.tci())
	}
	b = binary.BigEndian.AppendUint16(b, uint16(EtherTypeARP))
	b = grow(b, 8)
	putARPHeader(b[len(b)-8:], f.Op)
	b = append(b, f.SHA[:]...)
	b = append(b, f.SPA[:]...)
	b = append(b, f.THA[:]...)
	b = append(b, f.TPA[:]...)
	return pad(b, start)
}

// ARPFrameBits is the cost in bits of one ARP request in arp-scan(1)'s
// bandwidth arithmetic (arp-scan.c, main): the frame's length before
// padding (42 bytes, 46 tagged), raised to 46 (MINIMUM_FRAME_SIZE), plus 18
// bytes of layer-2 overhead (PACKET_OVERHEAD), times 8: 512 bits, so that
// 256,000 bit/s is 500 requests a second.
func ARPFrameBits(tagged bool) int {
	n := ARPFrameLen
	if tagged {
		n += VLANTagLen
	}
	return (max(n, 46) + 18) * 8
}
