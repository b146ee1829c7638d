package craft

import (
	"net/netip"
	"testing"
)

// The hot paths (arpscan's send loop, capture's receive loop) must not
// allocate per frame. These tests fail when they do; the benchmarks below
// report the same with b.ReportAllocs.

func TestZeroAllocs(t *testing.T) {
	mac := mustMAC(t, "02:00:5e:00:00:01")
	src, dst := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	eth := Ethernet{Dst: Broadcast, Src: mac}
	tagged := Ethernet{Dst: Broadcast, Src: mac, VLAN: &VLAN{ID: 10}}
	req := NewARPRequest(mac, src, dst)
	buf := make([]byte, 0, 1500)
	arpFrame := AppendARP(nil, tagged, req)
	udpFrame := AppendUDP(nil, eth, IPv4{Src: src, Dst: dst}, UDP{SrcPort: 1, DstPort: 2}, []byte("payload"))
	icmpFrame := AppendICMPEcho(nil, eth, IPv4{Src: src, Dst: dst}, ICMPEcho{Type: 8, ID: 1, Seq: 1, Data: []byte("x")})
	payload := []byte("payload")
	var (
		e Ethernet
		a ARP
		p Packet
	)
	tests := []struct {
		name string
		f    func()
	}{
		{"AppendARP", func() { buf = AppendARP(buf[:0], eth, req) }},
		{"AppendARP tagged", func() { buf = AppendARP(buf[:0], tagged, req) }},
		{"AppendUDP", func() { buf = AppendUDP(buf[:0], eth, IPv4{Src: src, Dst: dst}, UDP{SrcPort: 1, DstPort: 2}, payload) }},
		{"AppendICMPEcho", func() { buf = AppendICMPEcho(buf[:0], eth, IPv4{Src: src, Dst: dst}, ICMPEcho{Type: 8, Data: payload}) }},
		{"DecodeEthernet tagged", func() { DecodeEthernet(arpFrame, &e) }},
		{"DecodeEthernet+DecodeARP", func() {
			pl, _ := DecodeEthernet(arpFrame, &e)
			DecodeARP(pl, &a)
		}},
		{"DecodePacket ARP", func() { DecodePacket(arpFrame, &p) }},
		{"DecodePacket UDP", func() { DecodePacket(udpFrame, &p) }},
		{"DecodePacket ICMP", func() { DecodePacket(icmpFrame, &p) }},
		{"DecodeARP truncated", func() { DecodeARP(arpFrame[18:30], &a) }},
		{"AppendPacket", func() {
			DecodePacket(udpFrame, &p)
			buf = AppendPacket(buf[:0], &p)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.f); n != 0 {
				t.Errorf("%s: %v allocations per run, want 0", tt.name, n)
			}
		})
	}
}

func BenchmarkAppendARP(b *testing.B) {
	mac := RandomMAC()
	eth := Ethernet{Dst: Broadcast, Src: mac}
	a := NewARPRequest(mac, netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2"))
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendARP(buf[:0], eth, a)
	}
}

func BenchmarkDecodeEthernet(b *testing.B) {
	frames := readPcap(b, "arp.pcap")
	var e Ethernet
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEthernet(frames[1], &e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeARP(b *testing.B) {
	frames := readPcap(b, "arp.pcap")
	var a ARP
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeARP(frames[1][EthernetHeaderLen:], &a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePacket(b *testing.B) {
	frames := readPcap(b, "icmp.pcap")
	var p Packet
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodePacket(frames[0], &p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendUDP(b *testing.B) {
	mac := RandomMAC()
	ip := IPv4{Src: netip.MustParseAddr("198.18.0.1"), Dst: netip.MustParseAddr("198.18.0.2")}
	payload := make([]byte, 300)
	buf := make([]byte, 0, 1500)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendUDP(buf[:0], Ethernet{Dst: Broadcast, Src: mac}, ip, UDP{SrcPort: 68, DstPort: 67}, payload)
	}
}

func BenchmarkDecodeDHCP(b *testing.B) {
	frames := readPcap(b, "dhcp.pcap")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeDHCP(frames[1]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSummarize(b *testing.B) {
	frames := readPcap(b, "dhcp.pcap")
	b.ReportAllocs()
	for b.Loop() {
		_ = Summarize(frames[1]).String()
	}
}

// BenchmarkSummarizeLink measures a snap-length-cut frame and a Linux
// cooked one, as read and capture summarize them.
func BenchmarkSummarizeLink(b *testing.B) {
	cut, sll := readLinkPcap(b, "cut.pcap")[0], readLinkPcap(b, "sll.pcap")[0]
	b.ReportAllocs()
	for b.Loop() {
		_ = SummarizeLink(cut.lt, cut.data, cut.wire).String()
		_ = SummarizeLink(sll.lt, sll.data, sll.wire).String()
	}
}
