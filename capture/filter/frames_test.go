package filter

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

// frame is one test input: Ethernet bytes as a pcap file holds them (every
// tag in the frame), and a name for failure messages.
type frame struct {
	name    string
	data    []byte
	wireLen int // length on the wire when the record was cut short; 0: len(data)
}

var (
	macA    = []byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	macB    = []byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
	macBC   = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	macMC4  = []byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}
	macMC6  = []byte{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}
	macSTP  = []byte{0x01, 0x80, 0xc2, 0x00, 0x00, 0x00}
	ip4A    = [4]byte{198, 18, 0, 1}
	ip4B    = [4]byte{198, 18, 0, 2}
	ip4C    = [4]byte{198, 19, 1, 7}
	ip4BC   = [4]byte{255, 255, 255, 255}
	ip4Zero = [4]byte{0, 0, 0, 0}
	ip4MC   = [4]byte{224, 0, 0, 251}
	ip4MC2  = [4]byte{239, 1, 2, 3}
	ip4NetB = [4]byte{198, 18, 255, 255}
	ip6A    = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	ip6B    = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}
	ip6LL   = [16]byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	ip6MC   = [16]byte{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
)

type tag struct {
	tpid uint16
	tci  uint16
}

func ether(dst, src []byte, tags []tag, etype uint16, payload []byte) []byte {
	b := append([]byte{}, dst...)
	b = append(b, src...)
	for _, t := range tags {
		b = binary.BigEndian.AppendUint16(b, t.tpid)
		b = binary.BigEndian.AppendUint16(b, t.tci)
	}
	b = binary.BigEndian.AppendUint16(b, etype)
	b = append(b, payload...)
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

type ip4opt struct {
	src, dst [4]byte
	proto    byte
	options  []byte
	mf       bool
	fragOff  uint16
	ttl      byte
}

func ipv4(o ip4opt, payload []byte) []byte {
	ihl := 5 + len(o.options)/4
	h := make([]byte, 20, 20+len(o.options)+len(payload))
	h[0] = 0x40 | byte(ihl)
	binary.BigEndian.PutUint16(h[2:], uint16(ihl*4+len(payload)))
	binary.BigEndian.PutUint16(h[4:], 0x1234)
	ff := o.fragOff
	if o.mf {
		ff |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:], ff)
	h[8] = o.ttl
	if h[8] == 0 {
		h[8] = 64
	}
	h[9] = o.proto
	copy(h[12:], o.src[:])
	copy(h[16:], o.dst[:])
	h = append(h, o.options...)
	var sum uint32
	for i := 0; i < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
	return append(h, payload...)
}

func ipv6(src, dst [16]byte, nxt byte, payload []byte) []byte {
	h := make([]byte, 40, 40+len(payload))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = nxt
	h[7] = 64
	copy(h[8:], src[:])
	copy(h[24:], dst[:])
	return append(h, payload...)
}

func ports(sport, dport uint16, rest ...byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	return append(b, rest...)
}

func tcpSeg(sport, dport uint16, flags byte) []byte {
	h := ports(sport, dport, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0)
	return h
}

func udpDgram(sport, dport uint16, payload ...byte) []byte {
	h := ports(sport, dport, 0, byte(8+len(payload)), 0, 0)
	return append(h, payload...)
}

func icmpMsg(typ, code byte) []byte {
	return []byte{typ, code, 0, 0, 0, 1, 0, 1, 'p', 'i', 'n', 'g'}
}

func arpMsg(op uint16, sha []byte, spa [4]byte, tha []byte, tpa [4]byte) []byte {
	b := []byte{0, 1, 8, 0, 6, 4}
	b = binary.BigEndian.AppendUint16(b, op)
	b = append(b, sha...)
	b = append(b, spa[:]...)
	b = append(b, tha...)
	return append(b, tpa[:]...)
}

// generatedFrames builds frames for every construct of the grammar, each
// untagged and under several tags, plus truncated copies.
func generatedFrames() []frame {
	type l3 struct {
		name  string
		etype uint16
		body  []byte
		dst   []byte
	}
	var bases []l3
	add := func(name string, etype uint16, dst []byte, body []byte) {
		bases = append(bases, l3{name, etype, body, dst})
	}
	srcdst := [][2][4]byte{{ip4A, ip4B}, {ip4B, ip4A}, {ip4C, ip4BC}, {ip4A, ip4MC}, {ip4Zero, ip4BC}, {ip4C, ip4NetB}, {ip4B, ip4MC2}}
	for i, sd := range srcdst {
		dst := macB
		switch sd[1] {
		case ip4BC:
			dst = macBC
		case ip4MC, ip4MC2:
			dst = macMC4
		}
		add(fmt.Sprintf("udp53-%d", i), 0x0800, dst, ipv4(ip4opt{src: sd[0], dst: sd[1], proto: 17}, udpDgram(40000+uint16(i), 53, 1, 2, 3)))
		add(fmt.Sprintf("tcp80-%d", i), 0x0800, dst, ipv4(ip4opt{src: sd[0], dst: sd[1], proto: 6}, tcpSeg(80, 50000, 0x12)))
		add(fmt.Sprintf("icmp-%d", i), 0x0800, dst, ipv4(ip4opt{src: sd[0], dst: sd[1], proto: 1}, icmpMsg(8, 0)))
	}
	for _, p := range []uint16{67, 68, 123, 443, 9, 1000, 1500, 2000, 2001, 65535, 0} {
		add(fmt.Sprintf("udp-%d", p), 0x0800, macB, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 17}, udpDgram(p, 12345, 7)))
		add(fmt.Sprintf("tcp-%d", p), 0x0800, macB, ipv4(ip4opt{src: ip4B, dst: ip4A, proto: 6}, tcpSeg(33333, p, 0x10)))
		add(fmt.Sprintf("sctp-%d", p), 0x0800, macB, ipv4(ip4opt{src: ip4A, dst: ip4C, proto: 132}, ports(p, p+1, 0, 0, 0, 0, 0, 0, 0, 0)))
	}
	for _, f := range []byte{0x01, 0x02, 0x04, 0x08, 0x10, 0x12, 0x11, 0x14, 0x18, 0x20, 0x40, 0x80, 0xc2, 0x00, 0xff} {
		add(fmt.Sprintf("tcpflags-%#x", f), 0x0800, macA, ipv4(ip4opt{src: ip4B, dst: ip4A, proto: 6}, tcpSeg(22, 40001, f)))
	}
	for _, ty := range []byte{0, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 30} {
		add(fmt.Sprintf("icmptype-%d", ty), 0x0800, macA, ipv4(ip4opt{src: ip4B, dst: ip4A, proto: 1}, icmpMsg(ty, ty%3)))
	}
	// IP options (record route, 8 bytes; and 40 bytes) shift the transport header.
	rr := []byte{7, 7, 4, 0, 0, 0, 0, 1}
	long := make([]byte, 40)
	long[0], long[1], long[2] = 7, 39, 4
	add("udp53-opts8", 0x0800, macB, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 17, options: rr}, udpDgram(5353, 53)))
	add("tcp-opts40-syn", 0x0800, macB, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 6, options: long}, tcpSeg(1234, 80, 0x02)))
	add("icmp-opts-echo", 0x0800, macB, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 1, options: rr}, icmpMsg(8, 0)))
	// Fragments: first (MF), middle and last; the later ones carry no ports.
	add("udp53-frag-first", 0x0800, macB, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 17, mf: true}, udpDgram(53, 53, 9, 9, 9, 9)))
	add("udp53-frag-mid", 0x0800, macB, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 17, mf: true, fragOff: 185}, ports(53, 53, 1, 1, 1, 1)))
	add("udp53-frag-last", 0x0800, macB, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 17, fragOff: 370}, ports(53, 53, 2, 2)))
	add("tcp-frag-mid-synbits", 0x0800, macB, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 6, mf: true, fragOff: 2}, tcpSeg(80, 80, 0x02)))
	add("igmp", 0x0800, macMC4, ipv4(ip4opt{src: ip4A, dst: ip4MC, proto: 2, ttl: 1}, []byte{0x16, 0, 0, 0, 224, 0, 0, 251}))
	add("pim4", 0x0800, macMC4, ipv4(ip4opt{src: ip4A, dst: ip4MC, proto: 103}, []byte{0x20, 0, 0, 0}))
	add("vrrp", 0x0800, macMC4, ipv4(ip4opt{src: ip4A, dst: [4]byte{224, 0, 0, 18}, proto: 112}, []byte{0x21, 1, 100, 1}))
	add("esp4", 0x0800, macB, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 50}, []byte{0, 0, 1, 0, 0, 0, 0, 1}))
	add("ah4", 0x0800, macB, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 51}, []byte{6, 4, 0, 0}))
	add("gre4", 0x0800, macB, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 47}, []byte{0, 0, 8, 0}))
	// ARP and RARP.
	add("arp-req", 0x0806, macBC, arpMsg(1, macA, ip4A, make([]byte, 6), ip4B))
	add("arp-reply", 0x0806, macA, arpMsg(2, macB, ip4B, macA, ip4A))
	add("arp-probe", 0x0806, macBC, arpMsg(1, macA, ip4Zero, make([]byte, 6), ip4C))
	add("arp-gratuitous", 0x0806, macBC, arpMsg(1, macB, ip4NetB, macBC, ip4NetB))
	add("rarp-req", 0x8035, macBC, arpMsg(3, macA, ip4Zero, macA, ip4Zero))
	add("rarp-reply", 0x8035, macA, arpMsg(4, macB, ip4B, macA, ip4A))
	// IPv6.
	add("ip6-udp53", 0x86dd, macB, ipv6(ip6A, ip6B, 17, udpDgram(5300, 53)))
	add("ip6-tcp443-syn", 0x86dd, macB, ipv6(ip6B, ip6A, 6, tcpSeg(443, 60000, 0x02)))
	add("ip6-tcp22", 0x86dd, macB, ipv6(ip6A, ip6B, 6, tcpSeg(50000, 22, 0x18)))
	add("ip6-sctp", 0x86dd, macB, ipv6(ip6A, ip6B, 132, ports(80, 2000, 0, 0, 0, 0)))
	add("ip6-icmp6-echo", 0x86dd, macB, ipv6(ip6A, ip6B, 58, []byte{128, 0, 0, 0, 0, 1, 0, 1}))
	add("ip6-icmp6-reply", 0x86dd, macA, ipv6(ip6B, ip6A, 58, []byte{129, 0, 0, 0, 0, 1, 0, 1}))
	add("ip6-icmp6-ns", 0x86dd, macMC6, ipv6(ip6LL, ip6MC, 58, []byte{135, 0, 0, 0, 0, 0, 0, 0}))
	add("ip6-mc-udp", 0x86dd, macMC6, ipv6(ip6LL, ip6MC, 17, udpDgram(547, 546)))
	add("ip6-frag-udp53", 0x86dd, macB, ipv6(ip6A, ip6B, 44, append([]byte{17, 0, 0, 1, 0, 0, 0, 9}, udpDgram(53, 53)...)))
	add("ip6-frag-tcp", 0x86dd, macB, ipv6(ip6A, ip6B, 44, append([]byte{6, 0, 0, 0, 0, 0, 0, 9}, tcpSeg(80, 80, 2)...)))
	add("ip6-hopopt-udp", 0x86dd, macB, ipv6(ip6A, ip6B, 0, append([]byte{17, 0, 1, 4, 0, 0, 0, 0}, udpDgram(53, 53)...)))
	add("ip6-pim", 0x86dd, macMC6, ipv6(ip6LL, ip6MC, 103, []byte{0x20, 0, 0, 0}))
	add("ip6-esp", 0x86dd, macB, ipv6(ip6A, ip6B, 50, []byte{0, 0, 1, 0, 0, 0, 0, 1}))
	// 802.3 + LLC: STP, NetBEUI, IPX (802.2, raw, SNAP), SNAP AppleTalk and AARP.
	llc := func(name string, dst []byte, payload []byte) {
		bases = append(bases, l3{name, uint16(len(payload)), payload, dst})
	}
	llc("llc-stp", macSTP, []byte{0x42, 0x42, 0x03, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0})
	llc("llc-netbeui", macBC, []byte{0xf0, 0xf0, 0x03, 0x2c, 0, 0xff, 0xef})
	llc("llc-ipx", macBC, []byte{0xe0, 0xe0, 0x03, 0xff, 0xff, 0, 0x1e})
	llc("raw-ipx", macBC, []byte{0xff, 0xff, 0, 0x1e, 0, 4})
	llc("snap-ipx", macBC, []byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x81, 0x37, 0xff, 0xff})
	llc("snap-atalk", macBC, []byte{0xaa, 0xaa, 0x03, 0x08, 0x00, 0x07, 0x80, 0x9b, 0, 0})
	llc("snap-aarp", macBC, []byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x80, 0xf3, 0, 1})
	llc("llc-ip-sap", macB, []byte{0x06, 0x06, 0x03, 0x45, 0})
	llc("llc-iso", macB, []byte{0xfe, 0xfe, 0x03, 0x81, 0})
	add("ether-ipx", 0x8137, macBC, []byte{0xff, 0xff, 0, 0x1e})
	add("ether-atalk", 0x809b, macBC, []byte{0, 0, 0, 0})
	add("ether-decnet", 0x6003, macB, []byte{1, 2, 3})
	add("ether-lldp", 0x88cc, []byte{0x01, 0x80, 0xc2, 0, 0, 0x0e}, []byte{2, 7, 4, 2, 0, 0, 0, 0, 1})

	var out []frame
	tagSets := []struct {
		name string
		tags []tag
	}{
		{"", nil},
		{"/vlan10", []tag{{0x8100, 10}}},
		{"/vlan20p5", []tag{{0x8100, 5<<13 | 20}}},
		{"/ad100", []tag{{0x88a8, 100}}},
		{"/9100-4095", []tag{{0x9100, 4095}}},
		{"/qinq100.10", []tag{{0x88a8, 100}, {0x8100, 10}}},
		{"/qinq10.20", []tag{{0x8100, 10}, {0x8100, 20}}},
	}
	for i, b := range bases {
		for _, ts := range tagSets {
			// Every base untagged, single-tagged and double-tagged
			// (802.1ad + 802.1Q, and 802.1Q twice).
			src := macA
			if i%2 == 1 {
				src = macB
			}
			out = append(out, frame{name: b.name + ts.name, data: ether(b.dst, src, ts.tags, b.etype, b.body)})
		}
	}
	out = append(out, cutFrames()...)
	// Truncated frames: cut at the edges of each header.
	base := ether(macB, macA, nil, 0x0800, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 17, options: rr}, udpDgram(53, 53, 1, 2, 3, 4)))
	tagged := ether(macB, macA, []tag{{0x8100, 10}}, 0x0800, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 6}, tcpSeg(80, 53, 2)))
	v6 := ether(macB, macA, nil, 0x86dd, ipv6(ip6A, ip6B, 17, udpDgram(53, 53)))
	arp := ether(macBC, macA, nil, 0x0806, arpMsg(1, macA, ip4A, make([]byte, 6), ip4B))
	for _, n := range []int{0, 1, 6, 12, 13, 14, 15, 16, 20, 23, 24, 26, 30, 33, 34, 36, 38, 41, 42, 45, 46, 50} {
		out = append(out, frame{name: fmt.Sprintf("short%d-udp-opts", n), data: base[:n]})
		out = append(out, frame{name: fmt.Sprintf("short%d-vlan-tcp", n), data: tagged[:min(n+4, len(tagged))]})
		out = append(out, frame{name: fmt.Sprintf("short%d-ip6", n+12), data: v6[:n+12]})
		out = append(out, frame{name: fmt.Sprintf("short%d-arp", n), data: arp[:min(n, len(arp))]})
	}
	// Random headers over a plausible skeleton, from a fixed seed.
	r := rand.New(rand.NewPCG(5, 1))
	for i := 0; i < 120; i++ {
		var f []byte
		switch i % 4 {
		case 0:
			f = ether(macB, macA, nil, 0x0800, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: byte(r.IntN(256)),
				fragOff: uint16(r.IntN(2) * r.IntN(8192)), mf: r.IntN(2) == 0}, udpDgram(uint16(r.IntN(65536)), uint16(r.IntN(1100)))))
		case 1:
			f = ether(macA, macB, []tag{{[]uint16{0x8100, 0x88a8, 0x9100, 0x0800}[r.IntN(4)], uint16(r.IntN(65536))}},
				[]uint16{0x0800, 0x86dd, 0x0806, 0x8100}[r.IntN(4)], ipv4(ip4opt{src: ip4C, dst: ip4A, proto: []byte{6, 17, 1, 132}[r.IntN(4)]}, tcpSeg(uint16(r.IntN(100)), uint16(r.IntN(100)), byte(r.IntN(256)))))
		case 2:
			f = make([]byte, r.IntN(100))
			for j := range f {
				f[j] = byte(r.IntN(256))
			}
		case 3:
			f = ether(macB, macA, nil, 0x0800, ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 6}, tcpSeg(80, 80, 0)))
			for j := 0; j < 4; j++ {
				f[r.IntN(len(f))] = byte(r.IntN(256))
			}
		}
		out = append(out, frame{name: fmt.Sprintf("random%d", i), data: f})
	}
	return out
}

// cutFrames is the snaplen-cut corpus: records whose captured length is
// below their wire length, as "tcpdump -s N" or "rawlab capture -s N"
// write them. Frames of 60 to 1514 bytes on the wire (UDP, TCP, ICMP,
// ARP; untagged, 802.1Q and QinQ) are cut at the edges of their headers,
// so that "len", "less" and "greater" (the wire length) and the loads
// (the captured bytes) disagree about the frame's size.
func cutFrames() []frame {
	pad := func(n int) []byte { return make([]byte, n) }
	type full struct {
		name string
		data []byte
	}
	var fulls []full
	for _, wire := range []int{60, 99, 100, 101, 200, 1000, 1001, 1514} {
		for _, ts := range []struct {
			name string
			tags []tag
		}{{"", nil}, {"/vlan10", []tag{{0x8100, 10}}}, {"/qinq100.10", []tag{{0x88a8, 100}, {0x8100, 10}}}} {
			hdr := 14 + 4*len(ts.tags)
			body := max(wire-hdr, 0)
			udp := ipv4(ip4opt{src: ip4A, dst: ip4B, proto: 17}, udpDgram(68, 67, pad(max(body-28, 0))...))
			tcp := ipv4(ip4opt{src: ip4B, dst: ip4A, proto: 6}, append(tcpSeg(80, 40000, 0x18), pad(max(body-40, 0))...))
			icmp := ipv4(ip4opt{src: ip4A, dst: ip4C, proto: 1}, append(icmpMsg(8, 0), pad(max(body-32, 0))...))
			arp := append(arpMsg(2, macB, ip4B, macA, ip4A), pad(max(body-28, 0))...)
			fulls = append(fulls,
				full{fmt.Sprintf("udp%d%s", wire, ts.name), ether(macB, macA, ts.tags, 0x0800, udp)},
				full{fmt.Sprintf("tcp%d%s", wire, ts.name), ether(macA, macB, ts.tags, 0x0800, tcp)},
				full{fmt.Sprintf("icmp%d%s", wire, ts.name), ether(macBC, macA, ts.tags, 0x0800, icmp)},
				full{fmt.Sprintf("arp%d%s", wire, ts.name), ether(macA, macB, ts.tags, 0x0806, arp)})
		}
	}
	var out []frame
	for _, f := range fulls {
		for _, caplen := range []int{14, 34, 42, 54, 64, 96} {
			if caplen >= len(f.data) {
				continue
			}
			out = append(out, frame{name: fmt.Sprintf("cut%d-%s", caplen, f.name), data: f.data[:caplen], wireLen: len(f.data)})
		}
	}
	return out
}

// readPcap reads a classic pcap file (microsecond or nanosecond, either
// byte order) and returns its records.
func readPcap(path string) ([]frame, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, io.ErrUnexpectedEOF
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%s: not a pcap file", path)
	}
	if lt := bo.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("%s: link type %d, want 1 (Ethernet)", path, lt)
	}
	var out []frame
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			return nil, io.ErrUnexpectedEOF
		}
		n := int(bo.Uint32(b[off+8:]))
		wire := int(bo.Uint32(b[off+12:]))
		off += 16
		if off+n > len(b) {
			return nil, io.ErrUnexpectedEOF
		}
		f := frame{name: fmt.Sprintf("lab#%d", len(out)+1), data: b[off : off+n]}
		if wire > n {
			f.wireLen = wire
		}
		out = append(out, f)
		off += n
	}
	return out, nil
}

// testFrames is the frame corpus: the lab capture plus generated frames.
func testFrames(t testing.TB) []frame {
	t.Helper()
	lab, err := readPcap("testdata/lab.pcap")
	if err != nil {
		t.Fatalf("lab capture: %v", err)
	}
	return append(lab, generatedFrames()...)
}
