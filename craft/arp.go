package craft

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// ARPOp is the operation field of an ARP packet (RFC 826).
type ARPOp uint16

// ARP operations (RFC 826; IANA "Operation Codes").
const (
	ARPRequest ARPOp = 1
	ARPReply   ARPOp = 2
)

// String returns "Request", "Reply" or "op(N)".
func (o ARPOp) String() string {
	switch o {
	case ARPRequest:
		return "Request"
	case ARPReply:
		return "Reply"
	}
	return fmt.Sprintf("op(%d)", uint16(o))
}

// MarshalText encodes o for JSON as "request", "reply" or, for other
// operations, their number.
func (o ARPOp) MarshalText() ([]byte, error) {
	switch o {
	case ARPRequest:
		return []byte("request"), nil
	case ARPReply:
		return []byte("reply"), nil
	}
	return strconv.AppendUint(nil, uint64(o), 10), nil
}

// UnmarshalText decodes what MarshalText encodes.
func (o *ARPOp) UnmarshalText(b []byte) error {
	switch string(b) {
	case "request":
		*o = ARPRequest
		return nil
	case "reply":
		*o = ARPReply
		return nil
	}
	n, err := strconv.ParseUint(string(b), 10, 16)
	if err != nil {
		return fmt.Errorf("craft: arp op %q: want request, reply or a number 0-65535", b)
	}
	*o = ARPOp(n)
	return nil
}

// ARP is an ARP packet for IPv4 over Ethernet (RFC 826): hardware type 1,
// protocol type 0x0800, 6-byte hardware and 4-byte protocol addresses.
type ARP struct {
	Op                   ARPOp
	SenderMAC, TargetMAC net.HardwareAddr
	SenderIP, TargetIP   netip.Addr
	// HType, PType, HLen and PLen are the packet's hardware type, protocol
	// type and address lengths when they are not Ethernet/IPv4's (1,
	// 0x0800, 6, 4). They are zero for Ethernet/IPv4, which is what
	// AppendARPPacket writes whatever they hold; DecodeARP sets them, with
	// Op, for any other packet (whose addresses it leaves unset), so that
	// the packet's own values can be shown.
	HType, PType uint16
	HLen, PLen   uint8
}

// ARPLen is the length of an Ethernet/IPv4 ARP packet.
const ARPLen = 28

// NewARPRequest returns a request asking who has targetIP, to be sent to
// the broadcast address. The target hardware address is zero (RFC 826).
func NewARPRequest(senderMAC net.HardwareAddr, senderIP, targetIP netip.Addr) ARP {
	return ARP{Op: ARPRequest, SenderMAC: senderMAC, SenderIP: senderIP,
		TargetMAC: make(net.HardwareAddr, 6), TargetIP: targetIP}
}

// NewARPReply returns the reply telling targetMAC/targetIP that senderIP is
// at senderMAC (RFC 826), to be sent unicast to targetMAC.
func NewARPReply(senderMAC net.HardwareAddr, senderIP netip.Addr, targetMAC net.HardwareAddr, targetIP netip.Addr) ARP {
	return ARP{Op: ARPReply, SenderMAC: senderMAC, SenderIP: senderIP, TargetMAC: targetMAC, TargetIP: targetIP}
}

// NewARPProbe returns an RFC 5227 §2.1.1 ARP Probe for ip: a request with
// sender IP 0.0.0.0 and a zero target hardware address, so that probing an
// address does not pollute the neighbours' ARP caches. Broadcast it.
func NewARPProbe(senderMAC net.HardwareAddr, ip netip.Addr) ARP {
	return ARP{Op: ARPRequest, SenderMAC: senderMAC, SenderIP: netip.IPv4Unspecified(),
		TargetMAC: make(net.HardwareAddr, 6), TargetIP: ip}
}

// NewGratuitousARP returns an RFC 5227 §2.3 ARP Announcement (a gratuitous
// ARP request): sender and target IP both ip, target hardware address zero.
// Broadcast it. Some old stacks expect the reply form instead; set Op to
// ARPReply for that (RFC 5227 §3 explains why the request form is preferred).
func NewGratuitousARP(senderMAC net.HardwareAddr, ip netip.Addr) ARP {
	return ARP{Op: ARPRequest, SenderMAC: senderMAC, SenderIP: ip,
		TargetMAC: make(net.HardwareAddr, 6), TargetIP: ip}
}

// IsProbe reports whether a is an RFC 5227 ARP Probe: a request whose
// sender IP is 0.0.0.0.
func (a *ARP) IsProbe() bool {
	return a.Op == ARPRequest && a.SenderIP == netip.IPv4Unspecified()
}

// IsGratuitous reports whether a announces its sender's own address: sender
// IP equal to target IP and not 0.0.0.0 (request or reply form).
func (a *ARP) IsGratuitous() bool {
	return a.SenderIP.IsValid() && a.SenderIP == a.TargetIP && !a.SenderIP.IsUnspecified()
}

// AppendARPPacket appends the 28-byte ARP packet a (without Ethernet
// header) to b. Layout (RFC 826):
//
//	0:2   hardware type, 1 (Ethernet)
//	2:4   protocol type, 0x0800 (IPv4)
//	4     hardware address length, 6
//	5     protocol address length, 4
//	6:8   operation
//	8:14  sender hardware address
//	14:18 sender protocol address
//	18:24 target hardware address
//	24:28 target protocol address
//
// Nil MACs and invalid or IPv6 addresses are written as zeros.
func AppendARPPacket(b []byte, a ARP) []byte {
	n := len(b)
	b = grow(b, ARPLen)
	p := b[n:]
	putARPHeader(p, a.Op)
	putMAC(p[8:14], a.SenderMAC)
	put4(p[14:18], a.SenderIP)
	putMAC(p[18:24], a.TargetMAC)
	put4(p[24:28], a.TargetIP)
	return b
}

// putARPHeader writes the fixed part of an Ethernet/IPv4 ARP packet (RFC
// 826): hardware type 1, protocol type 0x0800, lengths 6 and 4, operation.
// AppendARPPacket and AppendARPFrame share it.
func putARPHeader(p []byte, op ARPOp) {
	binary.BigEndian.PutUint16(p[0:2], 1)
	binary.BigEndian.PutUint16(p[2:4], uint16(EtherTypeIPv4))
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:8], uint16(op))
}

// arpHeader reads the fixed part of an ARP packet and reports whether it is
// Ethernet/IPv4 (RFC 826); b holds at least 8 bytes. DecodeARP and
// DecodeARPFrame share it.
func arpHeader(b []byte) (htype, ptype uint16, hlen, plen uint8, op ARPOp, ethIPv4 bool) {
	htype, ptype = binary.BigEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4])
	hlen, plen, op = b[4], b[5], ARPOp(binary.BigEndian.Uint16(b[6:8]))
	return htype, ptype, hlen, plen, op, htype == 1 && ptype == uint16(EtherTypeIPv4) && hlen == 6 && plen == 4
}

// AppendARP appends a whole ARP frame to b: the Ethernet header from eth
// (its EtherType is forced to ARP), the packet a, and zero padding up to the
// 60-byte minimum. It allocates nothing when cap(b)-len(b) >= 60.
func AppendARP(b []byte, eth Ethernet, a ARP) []byte {
	start := len(b)
	eth.EtherType = EtherTypeARP
	b = AppendEthernet(b, eth)
	b = AppendARPPacket(b, a)
	return pad(b, start)
}

// DecodeARP decodes the ARP packet at the start of b (the payload after the
// Ethernet header; trailing padding is ignored) into a. a.SenderMAC and
// a.TargetMAC alias b; nothing is allocated. Packets that are not
// Ethernet/IPv4 ARP return an error wrapping ErrUnsupported, with a.Op,
// a.HType, a.PType, a.HLen and a.PLen set from the packet's fixed header
// (RFC 826: the first 8 bytes) and its addresses cleared.
func DecodeARP(b []byte, a *ARP) error {
	if len(b) < 8 {
		return errARPShort
	}
	ht, pt, hl, pl, op, ok := arpHeader(b)
	if !ok {
		*a = ARP{Op: op, HType: ht, PType: pt, HLen: hl, PLen: pl}
		return errARPFormat
	}
	a.HType, a.PType, a.HLen, a.PLen = 0, 0, 0, 0
	if len(b) < ARPLen {
		return errARPShort
	}
	a.Op = op
	a.SenderMAC = net.HardwareAddr(b[8:14:14])
	a.SenderIP = netip.AddrFrom4([4]byte(b[14:18]))
	a.TargetMAC = net.HardwareAddr(b[18:24:24])
	a.TargetIP = netip.AddrFrom4([4]byte(b[24:28]))
	return nil
}

// put4 writes an IPv4 address (or an IPv4-mapped IPv6 one) at b[0:4];
// anything else is written as 0.0.0.0.
func put4(b []byte, a netip.Addr) {
	a = a.Unmap()
	if !a.Is4() {
		clear(b[:4])
		return
	}
	v := a.As4()
	copy(b[:4], v[:])
}
