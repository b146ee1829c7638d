package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// icmp describes the ICMPv4 message in t as tcpdump -n does (RFC 792,
// RFC 1191, RFC 1812 §5.2.7.1). Layout: 0 type, 1 code, 2:4 checksum, then
// by type:
//
//	echo (0, 8), timestamp (13, 14): 4:6 identifier, 6:8 sequence;
//	    a timestamp then carries originate, receive and transmit times
//	    (8:12, 12:16, 16:20), milliseconds since midnight UTC
//	unreachable (3), source quench (4), time exceeded (11): 4:8 unused
//	    (for code 4 of type 3, 6:8 the next-hop MTU)
//	redirect (5): 4:8 the gateway address
//	parameter problem (12): 4 the pointer to the octet in error
//
// and the errors (3, 4, 5, 11, 12) then quote the IPv4 header of the
// datagram they are about and its first 8 bytes, from offset 8.
func (d *decoder) icmp(t transport) string {
	s := d.s
	m := t.data
	s.Proto = "icmp"
	typ, code := m[0], m[1]
	ic := &ICMPSummary{Type: typ, Code: code, Name: icmpTypeName(typ, code), Length: t.length}
	if t.whole {
		ic.ChecksumOK = bptr(Checksum(m) == 0)
	}
	s.ICMP = ic
	text := ic.Name
	switch typ {
	case 0, 8:
		if len(m) >= ICMPEchoHeaderLen {
			ic.ID, ic.Seq = binary.BigEndian.Uint16(m[4:6]), binary.BigEndian.Uint16(m[6:8])
			text = fmt.Sprintf("%s, id %d, seq %d", ic.Name, ic.ID, ic.Seq)
		} else {
			s.Hex = hexString(m[4:])
		}
	case 13, 14:
		if len(m) < 8 {
			s.Hex = hexString(m[4:])
			break
		}
		ic.ID, ic.Seq = binary.BigEndian.Uint16(m[4:6]), binary.BigEndian.Uint16(m[6:8])
		if typ == 13 {
			text = fmt.Sprintf("time stamp query id %d seq %d", ic.ID, ic.Seq)
			break
		}
		text = fmt.Sprintf("time stamp reply id %d seq %d", ic.ID, ic.Seq)
		if len(m) >= 20 {
			ic.Originate, ic.Receive, ic.Transmit = binary.BigEndian.Uint32(m[8:12]), binary.BigEndian.Uint32(m[12:16]), binary.BigEndian.Uint32(m[16:20])
			text += fmt.Sprintf(": org %s, recv %s, xmit %s", msClock(ic.Originate), msClock(ic.Receive), msClock(ic.Transmit))
		}
	case 3, 4, 5, 11, 12:
		text = d.icmpError(ic, m)
	default:
		s.Hex = hexString(m[4:])
	}
	info := fmt.Sprintf("%s > %s: ICMP %s, length %d", t.src, t.dst, text, t.length)
	if ic.ChecksumOK != nil && !*ic.ChecksumOK {
		info += ", bad icmp cksum"
	}
	return info
}

// msClock formats a timestamp field (milliseconds since midnight UTC, RFC
// 792) as tcpdump does: 01:02:03.004.
func msClock(ms uint32) string {
	sec := ms / 1000
	return fmt.Sprintf("%02d:%02d:%02d.%03d", sec/3600, sec/60%60, sec%60, ms%1000)
}

// unreachFormats are tcpdump's texts of destination unreachable codes 5-15
// (RFC 1812 §5.2.7.1); %s is the quoted destination.
var unreachFormats = map[uint8]string{
	5: "%s unreachable - source route failed", 6: "net %s unreachable - unknown", 7: "host %s unreachable - unknown",
	8: "%s unreachable - source host isolated", 9: "net %s unreachable - admin prohibited",
	10: "host %s unreachable - admin prohibited", 11: "net %s unreachable - tos prohibited",
	12: "host %s unreachable - tos prohibited", 13: "host %s unreachable - admin prohibited filter",
	14: "host %s unreachable - host precedence violation", 15: "host %s unreachable - precedence cutoff",
}

// icmpError decodes an ICMP error's fields and quoted header into ic and
// returns its text.
func (d *decoder) icmpError(ic *ICMPSummary, m []byte) string {
	s := d.s
	if len(m) < 8 {
		s.Hex = hexString(m[4:])
		return ic.Name
	}
	q := quoted(m[8:])
	ic.Quoted = q
	switch {
	case q == nil:
		s.Hex = hexString(m[4:])
	case len(m) > 8+ihl(m[8:])+8:
		s.Hex = hexString(m[8+ihl(m[8:])+8:]) // past what RFC 792 asks to quote
	}
	switch ic.Type {
	case 4:
		return "source quench"
	case 11:
		switch ic.Code {
		case 0:
			return "time exceeded in-transit"
		case 1:
			return "ip reassembly time exceeded"
		}
		return fmt.Sprintf("time exceeded-#%d", ic.Code)
	case 12:
		ic.Pointer = m[4]
		if ic.Code != 0 {
			return fmt.Sprintf("parameter problem - code %d", ic.Code)
		}
		return fmt.Sprintf("parameter problem - octet %d", ic.Pointer)
	case 5:
		ic.Gateway = netip.AddrFrom4([4]byte(m[4:8]))
		if q == nil {
			return fmt.Sprintf("redirect to %s", ic.Gateway)
		}
		f := map[uint8]string{0: "redirect %s to net %s", 1: "redirect %s to host %s",
			2: "redirect-tos %s to net %s", 3: "redirect-tos %s to host %s"}[ic.Code]
		if f == "" {
			return fmt.Sprintf("redirect-#%d %s to %s", ic.Code, q.Dst, ic.Gateway)
		}
		return fmt.Sprintf(f, q.Dst, ic.Gateway)
	}
	// Destination unreachable.
	if ic.Code == 4 {
		ic.MTU = binary.BigEndian.Uint16(m[6:8])
	}
	if q == nil {
		return ic.Name
	}
	switch ic.Code {
	case 0:
		return fmt.Sprintf("net %s unreachable", q.Dst)
	case 1:
		return fmt.Sprintf("host %s unreachable", q.Dst)
	case 2:
		return fmt.Sprintf("%s protocol %d unreachable", q.Dst, q.Protocol)
	case 3:
		hl := ihl(m[8:])
		if len(m) < 8+hl+4 {
			return ic.Name
		}
		port := binary.BigEndian.Uint16(m[8+hl+2:])
		switch q.Protocol {
		case ProtocolUDP:
			return fmt.Sprintf("%s udp port %d unreachable", q.Dst, port)
		case ProtocolTCP:
			return fmt.Sprintf("%s tcp port %d unreachable", q.Dst, port)
		}
		return fmt.Sprintf("%s protocol %d port %d unreachable", q.Dst, q.Protocol, port)
	case 4:
		if ic.MTU != 0 {
			return fmt.Sprintf("%s unreachable - need to frag (mtu %d)", q.Dst, ic.MTU)
		}
		return fmt.Sprintf("%s unreachable - need to frag", q.Dst)
	}
	if f, ok := unreachFormats[ic.Code]; ok {
		return fmt.Sprintf(f, q.Dst)
	}
	return fmt.Sprintf("%s unreachable - #%d", q.Dst, ic.Code)
}

// quoted decodes the IPv4 header an ICMP error quotes, and the ports of a
// quoted UDP or TCP header; nil when q holds no whole IPv4 header.
func quoted(q []byte) *QuotedSummary {
	if len(q) < IPv4HeaderLen || q[0]>>4 != 4 || ihl(q) < IPv4HeaderLen || len(q) < ihl(q) {
		return nil
	}
	hl := ihl(q)
	r := &QuotedSummary{Src: netip.AddrFrom4([4]byte(q[12:16])), Dst: netip.AddrFrom4([4]byte(q[16:20])),
		Protocol: q[9], ID: binary.BigEndian.Uint16(q[4:6]), Length: int(binary.BigEndian.Uint16(q[2:4]))}
	if (r.Protocol == ProtocolUDP || r.Protocol == ProtocolTCP) && len(q) >= hl+4 {
		r.SrcPort, r.DstPort = binary.BigEndian.Uint16(q[hl:]), binary.BigEndian.Uint16(q[hl+2:])
	}
	return r
}
