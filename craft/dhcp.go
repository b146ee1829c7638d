package craft

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// DHCP/BOOTP UDP ports (RFC 2131 §4.1).
const (
	DHCPServerPort = 67
	DHCPClientPort = 68
)

// BOOTP message layout (RFC 2131 §2, figure 1).
const (
	bootpFixedLen = 236 // op .. file
	bootpMinLen   = 300 // RFC 951 §3: the vend field is 64 bytes, so a message is at least 300 bytes
	dhcpOptionsAt = bootpFixedLen + 4
)

var magicCookie = [4]byte{99, 130, 83, 99} // RFC 2131 §3, RFC 1497

// DHCPAddressing says how a DHCP message is framed (RFC 2131 §4.1). Zero
// values mean: SrcMAC the message's chaddr (for BootRequest), DstMAC
// broadcast, SrcIP 0.0.0.0, DstIP 255.255.255.255, ports 68->67 for
// BootRequest and 67->68 for BootReply, TTL 64, IP ID 0.
type DHCPAddressing struct {
	SrcMAC, DstMAC   net.HardwareAddr
	VLAN             *VLAN
	SrcIP, DstIP     netip.Addr
	SrcPort, DstPort uint16
	TTL              uint8
	ID               uint16
}

// ClientBroadcast returns the addressing of a client message that is
// broadcast (RFC 2131 §4.1, §4.4): from srcMAC to ff:ff:ff:ff:ff:ff and
// 255.255.255.255, ports 68 -> 67. The IP source is 0.0.0.0 while the
// client has no address (DHCPDISCOVER, the DHCPREQUEST of SELECTING and
// INIT-REBOOT, DHCPDECLINE; pass the zero Addr as ciaddr) and ciaddr once it
// has one (the DHCPREQUEST of REBINDING, a broadcast DHCPINFORM).
func ClientBroadcast(srcMAC net.HardwareAddr, ciaddr netip.Addr) DHCPAddressing {
	a := DHCPAddressing{SrcMAC: srcMAC, DstMAC: Broadcast, SrcIP: netip.IPv4Unspecified(),
		DstIP: ipv4Broadcast, SrcPort: DHCPClientPort, DstPort: DHCPServerPort}
	if ciaddr.IsValid() {
		a.SrcIP = ciaddr
	}
	return a
}

// ClientUnicast returns the addressing of a client message sent straight to
// the server that granted the lease, as in the RENEWING state or a
// DHCPRELEASE (RFC 2131 §4.4.5, §4.4.6): from srcMAC/ciaddr to
// serverMAC/serverIP, ports 68 -> 67.
func ClientUnicast(srcMAC net.HardwareAddr, ciaddr netip.Addr, serverMAC net.HardwareAddr, serverIP netip.Addr) DHCPAddressing {
	return DHCPAddressing{SrcMAC: srcMAC, DstMAC: serverMAC, SrcIP: ciaddr, DstIP: serverIP,
		SrcPort: DHCPClientPort, DstPort: DHCPServerPort}
}

// ServerReply returns the addressing of the server's reply m, chosen by the
// rules of RFC 2131 §4.1:
//
//   - giaddr set: to the relay agent at giaddr, port 67 (DstMAC is left nil,
//     meaning broadcast; set it to the relay's MAC when known);
//   - a DHCPNAK with giaddr zero: broadcast;
//   - ciaddr set: unicast to ciaddr and chaddr, port 68;
//   - broadcast bit set: to 255.255.255.255 and ff:ff:ff:ff:ff:ff, port 68;
//   - otherwise: unicast to yiaddr and chaddr, port 68.
//
// A nil m gets the broadcast form.
func ServerReply(m *dhcpv4.DHCPv4, serverMAC net.HardwareAddr, serverIP netip.Addr) DHCPAddressing {
	a := DHCPAddressing{SrcMAC: serverMAC, DstMAC: Broadcast, SrcIP: serverIP, DstIP: ipv4Broadcast,
		SrcPort: DHCPServerPort, DstPort: DHCPClientPort}
	if m == nil {
		return a
	}
	gi, ci, yi := addrFromIP(m.GatewayIPAddr), addrFromIP(m.ClientIPAddr), addrFromIP(m.YourIPAddr)
	switch {
	case gi.IsValid() && !gi.IsUnspecified():
		a.DstMAC, a.DstIP, a.DstPort = nil, gi, DHCPServerPort
	case m.MessageType() == dhcpv4.MessageTypeNak:
	case ci.IsValid() && !ci.IsUnspecified():
		a.DstMAC, a.DstIP = m.ClientHWAddr, ci
	case m.IsBroadcast():
	default:
		a.DstMAC, a.DstIP = m.ClientHWAddr, yi
	}
	return a
}

// addrFromIP converts a 4- or 16-byte net.IP holding IPv4 to a netip.Addr;
// anything else is the zero Addr.
func addrFromIP(ip net.IP) netip.Addr {
	if v4 := ip.To4(); v4 != nil {
		return netip.AddrFrom4([4]byte(v4))
	}
	return netip.Addr{}
}

// DHCPLayout records what of a received DHCP message's wire form the
// dhcpv4.DHCPv4 model does not keep, so that the message re-encodes byte for
// byte: the order and segmentation of the options, what follows the End
// option, and the fixed fields as received. AppendDHCPMessage uses each part
// only while the model still agrees with it, so a layout never overrides a
// field the caller changed.
type DHCPLayout struct {
	OptionOrder []uint8 // option codes in order of first appearance (no Pad, no End)
	Tail        []byte  // bytes after the End option (usually zero padding to 300 bytes)

	// Instances lists the options area as received: every option instance
	// with its length, and every Pad as {Code: 0}. It keeps options split
	// into several instances (RFC 3396) and Pads between options.
	Instances []DHCPOptionInstance

	// HLen, CHAddr, SName and File are the fixed fields as received,
	// including any bytes after hlen or after the NUL that ends the names,
	// which the model drops.
	HLen   uint8
	CHAddr [16]byte
	SName  [64]byte
	File   [128]byte
}

// DHCPOptionInstance is one option instance in a DHCP message: its code and
// the length of its value. Code 0 is a Pad option (one byte, no length).
type DHCPOptionInstance struct {
	Code, Len uint8
}

// DHCPPacket is a DHCP message with its Ethernet, IPv4 and UDP framing.
type DHCPPacket struct {
	Eth Ethernet
	IP  IPv4
	UDP UDP
	Msg *dhcpv4.DHCPv4

	// Raw is the BOOTP message as received (the UDP payload). It is set by
	// DecodeDHCP and ignored by AppendDHCPPacket.
	Raw []byte
	// Layout is the wire layout of a decoded message; nil for a new one
	// (options then go in canonical order and the message is padded to 300
	// bytes).
	Layout *DHCPLayout
	// Trailer holds the bytes after the IPv4 datagram (Ethernet padding).
	Trailer []byte
}

// EncodeDHCP frames m as RFC 2131 §4.1 describes, following a (see
// DHCPAddressing for its defaults, ClientBroadcast, ClientUnicast and
// ServerReply for the usual forms). The message is encoded by
// AppendDHCPMessage with no layout: option 53 first, the others in ascending
// order, option 82 last (RFC 3046 §2.1), End, and zero padding to 300 bytes.
func EncodeDHCP(m *dhcpv4.DHCPv4, a DHCPAddressing) ([]byte, error) {
	if m == nil {
		return nil, errors.New("craft: dhcp: nil message")
	}
	p := DHCPPacket{Msg: m}
	p.Eth = Ethernet{Dst: a.DstMAC, Src: a.SrcMAC, VLAN: a.VLAN, EtherType: EtherTypeIPv4}
	if p.Eth.Dst == nil {
		p.Eth.Dst = Broadcast
	}
	switch m.OpCode {
	case dhcpv4.OpcodeBootRequest:
		p.UDP = UDP{SrcPort: DHCPClientPort, DstPort: DHCPServerPort}
		if p.Eth.Src == nil {
			p.Eth.Src = m.ClientHWAddr
		}
	case dhcpv4.OpcodeBootReply:
		p.UDP = UDP{SrcPort: DHCPServerPort, DstPort: DHCPClientPort}
	default:
		return nil, fmt.Errorf("craft: dhcp: op code %d is neither BootRequest nor BootReply: %w", m.OpCode, ErrMalformed)
	}
	if len(p.Eth.Src) != 6 {
		return nil, fmt.Errorf("craft: dhcp: source MAC %q is not 6 bytes", p.Eth.Src)
	}
	if len(p.Eth.Dst) != 6 {
		return nil, fmt.Errorf("craft: dhcp: destination MAC %q is not 6 bytes", p.Eth.Dst)
	}
	if a.SrcPort != 0 {
		p.UDP.SrcPort = a.SrcPort
	}
	if a.DstPort != 0 {
		p.UDP.DstPort = a.DstPort
	}
	p.IP = IPv4{ID: a.ID, TTL: a.TTL, Protocol: ProtocolUDP, Src: a.SrcIP, Dst: a.DstIP}
	if p.IP.TTL == 0 {
		p.IP.TTL = DefaultTTL
	}
	if !p.IP.Src.IsValid() {
		p.IP.Src = netip.IPv4Unspecified()
	}
	if !p.IP.Dst.IsValid() {
		p.IP.Dst = ipv4Broadcast
	}
	if !p.IP.Src.Unmap().Is4() || !p.IP.Dst.Unmap().Is4() {
		return nil, fmt.Errorf("craft: dhcp: addresses %s -> %s are not IPv4", p.IP.Src, p.IP.Dst)
	}
	b, err := AppendDHCPPacket(make([]byte, 0, 400), &p)
	if err != nil {
		return nil, err
	}
	return pad(b, 0), nil
}

// AppendDHCPPacket appends the frame p describes to b: Ethernet, IPv4 (TTL
// as given), UDP with its checksum, the message (with p.Layout, see
// AppendDHCPMessage), then p.Trailer. A DHCPPacket from DecodeDHCP thus
// re-encodes to the frame it came from (see DecodeDHCP for the limits).
func AppendDHCPPacket(b []byte, p *DHCPPacket) ([]byte, error) {
	msg, err := AppendDHCPMessage(nil, p.Msg, p.Layout)
	if err != nil {
		return nil, err
	}
	if len(msg) > 0xffff-IPv4HeaderLen-UDPHeaderLen-40 {
		return nil, fmt.Errorf("craft: dhcp: message of %d bytes does not fit in a datagram", len(msg))
	}
	eth := p.Eth
	eth.EtherType = EtherTypeIPv4
	ip := p.IP
	ip.Protocol = ProtocolUDP
	b = AppendEthernet(b, eth)
	b = AppendIPv4(b, ip, UDPHeaderLen+len(msg))
	b = AppendUDPDatagram(b, ip.Src, ip.Dst, p.UDP, msg)
	return append(b, p.Trailer...), nil
}

// AppendDHCPMessage appends the BOOTP/DHCP message m to b (RFC 2131 §2):
//
//	0       op          1 htype       2 hlen        3 hops
//	4:8     xid         8:10 secs     10:12 flags (0x8000 broadcast)
//	12:16   ciaddr      16:20 yiaddr  20:24 siaddr  24:28 giaddr
//	28:44   chaddr, hlen bytes used, zero padded
//	44:108  sname, NUL terminated     108:236 file, NUL terminated
//	236:240 magic cookie 99.130.83.99 (RFC 2131 §3)
//	240:    options: code, length, value (RFC 2132); End (255)
//
// With a nil layout the options go in canonical order (53 first, then
// ascending codes, 82 last per RFC 3046 §2.1), values longer than 255 bytes
// are split into several instances (RFC 3396), and the message is
// zero-padded to the 300-byte BOOTP minimum, which some relays and servers
// require. With a layout (see DHCPLayout), the options are written in the
// layout's Instances when m's options still add up to them, else in
// OptionOrder and then canonical order; Tail follows End; chaddr, sname and
// file are written as received while m still holds the same values.
func AppendDHCPMessage(b []byte, m *dhcpv4.DHCPv4, layout *DHCPLayout) ([]byte, error) {
	if m == nil {
		return nil, errors.New("craft: dhcp: nil message")
	}
	start := len(b)
	b = grow(b, dhcpOptionsAt)
	h := b[start:]
	clear(h)
	h[0] = uint8(m.OpCode)
	h[1] = uint8(m.HWType)
	h[2] = uint8(min(len(m.ClientHWAddr), 16))
	h[3] = m.HopCount
	copy(h[4:8], m.TransactionID[:])
	binary.BigEndian.PutUint16(h[8:10], m.NumSeconds)
	binary.BigEndian.PutUint16(h[10:12], m.Flags)
	for i, ip := range []net.IP{m.ClientIPAddr, m.YourIPAddr, m.ServerIPAddr, m.GatewayIPAddr} {
		if v4 := ip.To4(); v4 != nil {
			copy(h[12+4*i:16+4*i], v4)
		}
	}
	copy(h[28:44], m.ClientHWAddr)
	// sname and file are NUL-terminated when shorter than their field; a
	// name that fills the field has no NUL, as dhcpv4.FromBytes accepts.
	copy(h[44:108], m.ServerHostName)
	copy(h[108:236], m.BootFileName)
	copy(h[236:240], magicCookie[:])
	if layout != nil {
		if bytes.Equal(m.ClientHWAddr, layout.CHAddr[:min(layout.HLen, 16)]) {
			h[2] = layout.HLen
			copy(h[28:44], layout.CHAddr[:])
		}
		if m.ServerHostName == cString(layout.SName[:]) {
			copy(h[44:108], layout.SName[:])
		}
		if m.BootFileName == cString(layout.File[:]) {
			copy(h[108:236], layout.File[:])
		}
		if instancesMatch(m.Options, layout.Instances) {
			b = appendInstances(b, m.Options, layout.Instances)
			b = append(b, 255)
			return append(b, layout.Tail...), nil
		}
	}

	var order []uint8
	if layout != nil {
		order = layout.OptionOrder
	}
	var done [256]bool
	done[0], done[255] = true, true
	for _, c := range order {
		if v, ok := m.Options[c]; ok && !done[c] {
			b = appendOption(b, c, v)
			done[c] = true
		}
	}
	for _, c := range canonicalOrder(m.Options) {
		if !done[c] {
			b = appendOption(b, c, m.Options[c])
			done[c] = true
		}
	}
	b = append(b, 255)
	if layout != nil {
		return append(b, layout.Tail...), nil
	}
	for len(b)-start < bootpMinLen {
		b = append(b, 0)
	}
	return b, nil
}

// cString returns b up to its first NUL, as dhcpv4.FromBytes reads sname
// and file.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

// instancesMatch reports whether the option instances ins add up to exactly
// the options o: the same codes, each with as many bytes.
func instancesMatch(o dhcpv4.Options, ins []DHCPOptionInstance) bool {
	if len(ins) == 0 {
		return false
	}
	var total [256]int
	var seen [256]bool
	for _, in := range ins {
		if in.Code == 0 {
			continue
		}
		if in.Code == 255 {
			return false
		}
		total[in.Code] += int(in.Len)
		seen[in.Code] = true
	}
	n := 0
	for c := range seen {
		if seen[c] {
			n++
			if v, ok := o[uint8(c)]; !ok || len(v) != total[c] {
				return false
			}
		}
	}
	return n == len(o)
}

// appendInstances writes the options o split as ins says (instancesMatch
// holds).
func appendInstances(b []byte, o dhcpv4.Options, ins []DHCPOptionInstance) []byte {
	var off [256]int
	for _, in := range ins {
		if in.Code == 0 {
			b = append(b, 0)
			continue
		}
		v := o[in.Code][off[in.Code]:]
		b = append(b, in.Code, in.Len)
		b = append(b, v[:in.Len]...)
		off[in.Code] += int(in.Len)
	}
	return b
}

// canonicalOrder returns the option codes of o with 53 (message type)
// first, 82 (relay agent information, RFC 3046 §2.1) last, the rest in
// ascending order.
func canonicalOrder(o dhcpv4.Options) []uint8 {
	codes := make([]uint8, 0, len(o))
	for c := range o {
		codes = append(codes, c)
	}
	rank := func(c uint8) int {
		switch c {
		case 53:
			return -1
		case 82:
			return 256
		}
		return int(c)
	}
	slices.SortFunc(codes, func(x, y uint8) int { return rank(x) - rank(y) })
	return codes
}

// appendOption appends option code with value v, split into 255-byte
// instances (RFC 3396 §5); an empty value is written as code, 0.
func appendOption(b []byte, code uint8, v []byte) []byte {
	if len(v) == 0 {
		return append(b, code, 0)
	}
	for len(v) > 0 {
		n := min(len(v), 255)
		b = append(b, code, uint8(n))
		b = append(b, v[:n]...)
		v = v[n:]
	}
	return b
}

// DecodeDHCP decodes a DHCP message carried in Ethernet, an optional 802.1Q
// tag, IPv4 and UDP (port 67 or 68 at either end). It fails with an error
// wrapping ErrUnsupported when the frame is not that, with one wrapping
// io.ErrUnexpectedEOF when it is truncated, and with the dhcpv4 parser's
// error when the message is malformed.
//
// The packet holds its own copy of the frame. p.Raw is the message as
// received; p.Layout keeps what the dhcpv4 model drops (option order and
// segmentation, Pads, what follows End, the raw chaddr, sname and file), so
// that AppendDHCPPacket(nil, p) re-encodes the frame from the model byte for
// byte. The only exceptions are those of AppendPacket: wrong checksums, a
// UDP checksum of 0, a checksum of 0xffff, the reserved IPv4 flag.
func DecodeDHCP(frame []byte) (*DHCPPacket, error) {
	frame = bytes.Clone(frame)
	var pk Packet
	if err := DecodePacket(frame, &pk); err != nil {
		return nil, fmt.Errorf("craft: dhcp: %w", err)
	}
	if pk.Layers&LayerUDP == 0 || !isDHCPPorts(pk.UDP) {
		return nil, fmt.Errorf("craft: dhcp: frame is not UDP port 67/68 over IPv4: %w", ErrUnsupported)
	}
	msg, layout, err := decodeDHCPMessage(pk.Payload)
	if err != nil {
		return nil, err
	}
	return &DHCPPacket{Eth: pk.Eth, IP: pk.IPv4, UDP: pk.UDP, Msg: msg, Raw: pk.Payload,
		Layout: layout, Trailer: pk.Trailer}, nil
}

// isDHCPPorts reports whether u is between DHCP ports.
func isDHCPPorts(u UDP) bool {
	return (u.SrcPort == DHCPServerPort || u.SrcPort == DHCPClientPort) &&
		(u.DstPort == DHCPServerPort || u.DstPort == DHCPClientPort)
}

// decodeDHCPMessage parses a BOOTP/DHCP message with dhcpv4.FromBytes and
// records its layout.
func decodeDHCPMessage(b []byte) (*dhcpv4.DHCPv4, *DHCPLayout, error) {
	if len(b) < dhcpOptionsAt {
		return nil, nil, fmt.Errorf("craft: dhcp: message of %d bytes, want at least %d: %w",
			len(b), dhcpOptionsAt, io.ErrUnexpectedEOF)
	}
	if [4]byte(b[236:240]) != magicCookie {
		return nil, nil, fmt.Errorf("craft: dhcp: bad magic cookie % x: %w", b[236:240], ErrMalformed)
	}
	m, err := dhcpv4.FromBytes(b)
	if err != nil {
		return nil, nil, fmt.Errorf("craft: dhcp: %w", err)
	}
	l := &DHCPLayout{HLen: b[2], CHAddr: [16]byte(b[28:44]), SName: [64]byte(b[44:108]), File: [128]byte(b[108:236])}
	var seen [256]bool
	opts := b[dhcpOptionsAt:]
	for i := 0; i < len(opts); {
		c := opts[i]
		switch c {
		case 0:
			l.Instances = append(l.Instances, DHCPOptionInstance{})
			i++
			continue
		case 255:
			l.Tail = opts[i+1:]
			return m, l, nil
		}
		if i+1 >= len(opts) {
			break
		}
		if !seen[c] {
			seen[c] = true
			l.OptionOrder = append(l.OptionOrder, c)
		}
		l.Instances = append(l.Instances, DHCPOptionInstance{Code: c, Len: opts[i+1]})
		i += 2 + int(opts[i+1])
	}
	// FromBytes insists on End, so this is not reached for its output.
	return nil, nil, fmt.Errorf("craft: dhcp: options without End: %w", io.ErrUnexpectedEOF)
}

// ipv4Broadcast is the limited broadcast address 255.255.255.255.
var ipv4Broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})
