package dhcpclient

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// errChecksum is a reply whose IPv4 header or UDP checksum is wrong: RFC
// 1122 §3.2.1.2 and §4.1.3.4 say to discard it silently.
var errChecksum = errors.New("bad checksum")

// BOOTP fixed-field offsets (RFC 2131 §2, figure 1).
const (
	offSName   = 44
	offFile    = 108
	offCookie  = 236
	offOptions = 240
)

// wireReply is a received DHCP frame decoded by decodeReply.
type wireReply struct {
	eth craft.Ethernet
	ip  craft.IPv4
	udp craft.UDP
	raw []byte // the BOOTP message (UDP payload), a copy
	msg *dhcpv4.DHCPv4
	// notes are what the client tolerated and reports: no End option, an
	// overloaded field, an End missing in file or sname.
	notes []string
}

// decodeReply decodes a received frame: Ethernet, IPv4 and UDP headers,
// their checksums, and the BOOTP message with its options.
//
// Checksums (RFC 1122 §3.2.1.2, §4.1.3.4): the IPv4 header checksum is
// always verified. The UDP checksum is verified unless the kernel says it
// verified it (capture.ChecksumValid) or that it was never computed because
// the frame comes from this host through a virtual link
// (capture.ChecksumPartial), as udhcpc does; a UDP checksum of 0 means the
// sender computed none (RFC 768).
//
// Options (RFC 2131 §4.1, RFC 2132 §9.3, RFC 3396): the options field is
// read first, then, when option 52 says they are overloaded, the file field
// and then the sname field; instances of a code are concatenated in that
// order. An overloaded field is not returned as the server name or boot
// file. A missing End option is tolerated, as other clients tolerate it, and
// noted; a truncated option is not. Option 53 must appear once with one
// byte: a duplicated or malformed message type makes the reply malformed.
func decodeReply(frame []byte, csum capture.ChecksumStatus) (*wireReply, error) {
	var pk craft.Packet
	if err := craft.DecodePacket(frame, &pk); err != nil {
		return nil, err
	}
	if pk.Layers&craft.LayerUDP == 0 {
		return nil, fmt.Errorf("not a UDP datagram over IPv4: %w", craft.ErrUnsupported)
	}
	l3 := frame[pk.Eth.HeaderLen():]
	if !craft.IPv4ChecksumOK(l3) {
		return nil, fmt.Errorf("IPv4 header checksum: %w", errChecksum)
	}
	if csum == capture.ChecksumUnknown {
		d := l3[int(l3[0]&0x0f)*4:]
		d = d[:craft.UDPHeaderLen+len(pk.Payload)]
		if !craft.UDPChecksumOK(pk.IPv4.Src, pk.IPv4.Dst, d) {
			return nil, fmt.Errorf("UDP checksum: %w", errChecksum)
		}
	}
	r := &wireReply{eth: pk.Eth, ip: pk.IPv4, udp: pk.UDP, raw: bytes.Clone(pk.Payload)}
	r.eth.Src, r.eth.Dst = bytes.Clone(pk.Eth.Src), bytes.Clone(pk.Eth.Dst)
	m, notes, err := parseBOOTP(r.raw)
	if err != nil {
		return nil, err
	}
	r.msg, r.notes = m, notes
	return r, nil
}

// parseBOOTP decodes a BOOTP/DHCP message (RFC 2131 §2) into the dhcpv4
// model, reading overloaded fields as options. b is kept by the result.
func parseBOOTP(b []byte) (*dhcpv4.DHCPv4, []string, error) {
	if len(b) < offOptions {
		return nil, nil, fmt.Errorf("message of %d bytes, want at least %d: %w", len(b), offOptions, io.ErrUnexpectedEOF)
	}
	if !bytes.Equal(b[offCookie:offOptions], []byte{99, 130, 83, 99}) {
		return nil, nil, fmt.Errorf("bad magic cookie % x: %w", b[offCookie:offOptions], craft.ErrMalformed)
	}
	hlen := min(int(b[2]), 16)
	m := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeType(b[0]),
		HWType:        iana.HWType(b[1]),
		HopCount:      b[3],
		TransactionID: dhcpv4.TransactionID(b[4:8]),
		NumSeconds:    uint16(b[8])<<8 | uint16(b[9]),
		Flags:         uint16(b[10])<<8 | uint16(b[11]),
		ClientIPAddr:  net.IP(bytes.Clone(b[12:16])),
		YourIPAddr:    net.IP(bytes.Clone(b[16:20])),
		ServerIPAddr:  net.IP(bytes.Clone(b[20:24])),
		GatewayIPAddr: net.IP(bytes.Clone(b[24:28])),
		ClientHWAddr:  net.HardwareAddr(bytes.Clone(b[28 : 28+hlen])),
		Options:       dhcpv4.Options{},
	}
	var notes []string
	var count [256]int
	end, err := parseOptionArea(b[offOptions:], m.Options, &count)
	if err != nil {
		return nil, nil, fmt.Errorf("options field: %w", err)
	}
	if !end {
		notes = append(notes, "no End option")
	}
	overload := byte(0)
	if v, ok := m.Options[52]; ok {
		if len(v) == 1 && v[0] >= 1 && v[0] <= 3 {
			overload = v[0]
		} else {
			notes = append(notes, fmt.Sprintf("option 52 (overload) malformed: % x", v))
		}
	}
	// RFC 2131 §4.1: options, then file, then sname.
	for _, f := range []struct {
		bit  byte
		name string
		area []byte
	}{{1, "file", b[offFile:offCookie]}, {2, "sname", b[offSName:offFile]}} {
		if overload&f.bit == 0 {
			continue
		}
		var sub [256]int
		sub[52] = 1 // option 52 counts only in the options field
		opts := dhcpv4.Options{}
		end, err := parseOptionArea(f.area, opts, &sub)
		if err != nil {
			return nil, nil, fmt.Errorf("options in the overloaded %s field: %w", f.name, err)
		}
		delete(opts, 52)
		for c, v := range opts {
			m.Options[c] = append(m.Options[c], v...)
			count[c] += sub[c]
		}
		notes = append(notes, "options carried in the "+f.name+" field (option 52)")
		if !end {
			notes = append(notes, "no End option in the overloaded "+f.name+" field")
		}
	}
	if overload&2 == 0 {
		m.ServerHostName = cString(b[offSName:offFile])
	}
	if overload&1 == 0 {
		m.BootFileName = cString(b[offFile:offCookie])
	}
	if t, ok := m.Options[53]; ok && (count[53] > 1 || len(t) != 1) {
		return nil, nil, fmt.Errorf("option 53 (message type) appears %d times with %d bytes, want once with 1: %w",
			count[53], len(t), craft.ErrMalformed)
	}
	return m, notes, nil
}

// parseOptionArea reads code, length, value triples (RFC 2132 §2) into o up
// to End, concatenating repeated codes (RFC 3396), and counts instances. It
// reports whether End was met; an option cut short is an error.
func parseOptionArea(b []byte, o dhcpv4.Options, count *[256]int) (bool, error) {
	for i := 0; i < len(b); {
		c := b[i]
		switch c {
		case 0:
			i++
			continue
		case 255:
			return true, nil
		}
		if i+1 >= len(b) {
			return false, fmt.Errorf("option %d: length byte missing: %w", c, io.ErrUnexpectedEOF)
		}
		n := int(b[i+1])
		if i+2+n > len(b) {
			return false, fmt.Errorf("option %d: %d bytes announced, %d left: %w", c, n, len(b)-i-2, io.ErrUnexpectedEOF)
		}
		o[c] = append(o[c], b[i+2:i+2+n]...)
		count[c]++
		i += 2 + n
	}
	return false, nil
}

// cString returns b up to its first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// unicastAddr says why a is not an address a client may hold on a subnet
// (RFC 1122 §3.2.1.3, RFC 919, RFC 950), or returns "" when it is one. mask,
// when a valid contiguous mask shorter than /31, rules out the subnet's
// network and broadcast addresses too.
func unicastAddr(a netip.Addr, mask netip.Prefix) string {
	switch {
	case !a.Is4():
		return "not an IPv4 address"
	case a.IsUnspecified():
		return "0.0.0.0 (unspecified)"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the limited broadcast address"
	case a.IsMulticast():
		return "a multicast address"
	case a.IsLoopback():
		return "a loopback address"
	case a.As4()[0] >= 240:
		return "a reserved (class E) address"
	}
	if mask.IsValid() && mask.Bits() > 0 && mask.Bits() < 31 {
		p := mask.Masked()
		if a == p.Addr() {
			return "the network address of " + p.String()
		}
		if a == lastAddr(p) {
			return "the broadcast address of " + p.String()
		}
	}
	return ""
}

// lastAddr returns the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := ^uint32(0) >> p.Bits()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// maskPrefix returns a's prefix with the contiguous mask m (RFC 950), and
// false when m is not one.
func maskPrefix(a, m netip.Addr) (netip.Prefix, bool) {
	if !m.Is4() {
		return netip.Prefix{}, false
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for v&0x80000000 != 0 {
		ones++
		v <<= 1
	}
	if v != 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones), true
}
