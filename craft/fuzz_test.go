package craft

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Every decoder has a fuzz test seeded from the golden frames: no input
// panics, and what decodes re-encodes and decodes again to the same value.
// Crashers found so far are kept as named seeds under testdata/fuzz.

// addSeeds adds every golden frame, with offset bytes cut from the front
// (14 for the Ethernet payload, 34 for the IPv4 payload), plus a few
// synthetic frames the captures lack (tags, fragments, options).
func addSeeds(f *testing.F, offset int) {
	for _, name := range goldenFiles {
		for _, fr := range readPcap(f, name) {
			if len(fr) >= offset {
				f.Add(fr[offset:])
			}
		}
	}
	mac := net6("02:00:5e:00:00:01")
	src, dst := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	for _, fr := range [][]byte{
		AppendARP(nil, Ethernet{Dst: Broadcast, Src: mac, VLAN: &VLAN{Priority: 5, ID: 10}}, NewARPProbe(mac, dst)),
		AppendUDP(nil, Ethernet{Src: mac, VLAN: &VLAN{ID: 4095}}, IPv4{Src: src, Dst: dst, Options: []byte{0x94, 4, 0, 0}},
			UDP{SrcPort: 68, DstPort: 67}, []byte("x")),
		AppendIPv4(AppendEthernet(nil, Ethernet{EtherType: EtherTypeIPv4}), IPv4{MoreFragments: true, Protocol: 17, Src: src, Dst: dst}, 0),
		AppendICMPEcho(nil, Ethernet{}, IPv4{Src: src, Dst: dst}, ICMPEcho{Type: 0, Data: []byte("data")}),
		// 802.1ad service tag over an 802.1Q tag.
		append([]byte("\xff\xff\xff\xff\xff\xff\x02\x00\x5e\x00\x00\x01\x88\xa8\x00\x64\x81\x00\x00\x0a\x08\x06"),
			AppendARPPacket(nil, NewARPProbe(mac, dst))...),
	} {
		if len(fr) >= offset {
			f.Add(fr[offset:])
		}
	}
}

// same fails t when a and b differ. reflect.DeepEqual decides quickly in
// the common case; cmp explains a difference (and forgives nil against
// empty slices, which DeepEqual does not).
func same[T any](t *testing.T, a, b T) {
	t.Helper()
	if reflect.DeepEqual(a, b) {
		return
	}
	if diff := cmp.Diff(a, b, cmpOpts); diff != "" {
		t.Fatalf("(-first +second):\n%s", diff)
	}
}

func net6(s string) []byte {
	m, err := ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func FuzzDecodeEthernet(f *testing.F) {
	addSeeds(f, 0)
	f.Fuzz(func(t *testing.T, frame []byte) {
		var e Ethernet
		payload, err := DecodeEthernet(frame, &e)
		if err != nil {
			return
		}
		// The header re-encodes exactly: all its fields are kept.
		got := append(AppendEthernet(nil, e), payload...)
		if !bytes.Equal(got, frame) {
			t.Fatalf("re-encoded\n% x\nwant\n% x", got, frame)
		}
	})
}

func FuzzDecodeARP(f *testing.F) {
	addSeeds(f, EthernetHeaderLen)
	f.Fuzz(func(t *testing.T, b []byte) {
		var a ARP
		if err := DecodeARP(b, &a); err != nil {
			return
		}
		got := AppendARPPacket(nil, a)
		if !bytes.Equal(got, b[:ARPLen]) {
			t.Fatalf("re-encoded\n% x\nwant\n% x", got, b[:ARPLen])
		}
		var back ARP
		if err := DecodeARP(got, &back); err != nil {
			t.Fatal(err)
		}
		same(t, a, back)
	})
}

func FuzzDecodeIPv4(f *testing.F) {
	addSeeds(f, EthernetHeaderLen)
	f.Fuzz(func(t *testing.T, b []byte) {
		var ip IPv4
		payload, err := DecodeIPv4(b, &ip)
		if err != nil {
			return
		}
		enc := append(AppendIPv4(nil, ip, len(payload)), payload...)
		var back IPv4
		payload2, err := DecodeIPv4(enc, &back)
		if err != nil {
			t.Fatalf("re-encoded header does not decode: %v", err)
		}
		same(t, ip, back)
		if !bytes.Equal(payload, payload2) || !IPv4ChecksumOK(enc) {
			t.Fatal("payload changed or checksum wrong")
		}
		// A header with a correct checksum and a clear reserved flag comes
		hl := int(b[0]&0x0f) * 4
		// back byte for byte, but for the checksum (0x0000 and 0xffff are
		// both zero in one's complement).
		if IPv4ChecksumOK(b) && b[6]&0x80 == 0 && (!bytes.Equal(enc[:10], b[:10]) || !bytes.Equal(enc[12:hl], b[12:hl])) {
			t.Fatalf("re-encoded header\n% x\nwant\n% x", enc[:hl], b[:hl])
		}
	})
}

func FuzzDecodeUDP(f *testing.F) {
	addSeeds(f, EthernetHeaderLen+IPv4HeaderLen)
	src, dst := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	f.Fuzz(func(t *testing.T, b []byte) {
		var u UDP
		payload, err := DecodeUDP(b, &u)
		if err != nil {
			return
		}
		enc := AppendUDPDatagram(nil, src, dst, u, payload)
		var back UDP
		payload2, err := DecodeUDP(enc, &back)
		if err != nil || back != u || !bytes.Equal(payload, payload2) || !UDPChecksumOK(src, dst, enc) {
			t.Fatalf("round trip: %+v %v -> %+v %v", u, payload, back, err)
		}
	})
}

func FuzzDecodeICMPEcho(f *testing.F) {
	addSeeds(f, EthernetHeaderLen+IPv4HeaderLen)
	f.Fuzz(func(t *testing.T, b []byte) {
		var e ICMPEcho
		if err := DecodeICMPEcho(b, &e); err != nil {
			return
		}
		enc := AppendICMPEchoMessage(nil, e)
		var back ICMPEcho
		if err := DecodeICMPEcho(enc, &back); err != nil {
			t.Fatal(err)
		}
		same(t, e, back)
		if Checksum(enc) != 0 {
			t.Fatalf("bad checksum in % x", enc)
		}
		// A message with a correct checksum comes back byte for byte, but
		// for the checksum itself: 0x0000 and 0xffff are both zero in one's
		// complement and verify alike (seed checksum-ffff-negative-zero).
		if Checksum(b) == 0 && (!bytes.Equal(enc[:2], b[:2]) || !bytes.Equal(enc[4:], b[4:])) {
			t.Fatalf("re-encoded\n% x\nwant\n% x", enc, b)
		}
	})
}

func FuzzDecodePacket(f *testing.F) {
	addSeeds(f, 0)
	f.Fuzz(func(t *testing.T, frame []byte) {
		var p Packet
		if err := DecodePacket(frame, &p); err != nil {
			return
		}
		// The checksum setters find the fields of any decodable frame.
		if err := SetIPv4Checksum(bytes.Clone(frame), 1); (err == nil) != (p.Layers&LayerIPv4 != 0) {
			t.Fatalf("SetIPv4Checksum: %v with layers %v", err, p.Layers)
		}
		if err := SetTransportChecksum(bytes.Clone(frame), 1); err == nil && p.Layers&LayerIPv4 == 0 {
			t.Fatalf("SetTransportChecksum succeeded with layers %v", p.Layers)
		}
		enc := AppendPacket(nil, &p)
		var back Packet
		if err := DecodePacket(enc, &back); err != nil {
			t.Fatalf("re-encoded frame does not decode: %v\n% x", err, enc)
		}
		same(t, p, back)
		if again := AppendPacket(nil, &back); !bytes.Equal(again, enc) {
			t.Fatal("second re-encoding differs from the first")
		}
		// Byte for byte, but for what re-encoding recomputes.
		if want, got := canonical(frame, &p), canonical(enc, &back); !bytes.Equal(want, got) {
			t.Fatalf("re-encoded\n% x\nwant\n% x", got, want)
		}
	})
}

// canonical returns a copy of frame, which decoded into p, with what
// re-encoding recomputes zeroed: the IPv4 header checksum and reserved flag,
// the UDP or ICMP checksum.
func canonical(frame []byte, p *Packet) []byte {
	c := bytes.Clone(frame)
	if p.Layers&LayerIPv4 == 0 {
		return c
	}
	l3 := c[p.Eth.HeaderLen():]
	l3[6] &^= 0x80
	l3[10], l3[11] = 0, 0
	l4 := l3[ihl(l3):]
	switch {
	case p.Layers&LayerUDP != 0:
		l4[6], l4[7] = 0, 0
	case p.Layers&LayerICMPEcho != 0:
		l4[2], l4[3] = 0, 0
	}
	return c
}

func FuzzDecodeDHCP(f *testing.F) {
	addSeeds(f, 0)
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, err := DecodeDHCP(frame)
		if err != nil {
			return
		}
		enc, err := AppendDHCPPacket(nil, p)
		if err != nil {
			t.Fatalf("decoded packet does not encode: %v", err)
		}
		back, err := DecodeDHCP(enc)
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v\n% x", err, enc)
		}
		// Raw is the input as received; the rest must survive the round trip.
		if diff := cmp.Diff(p, back, cmpOpts, cmpopts.IgnoreFields(DHCPPacket{}, "Raw"), cmp.Comparer(func(x, y *dhcpv4.DHCPv4) bool {
			return bytes.Equal(x.ToBytes(), y.ToBytes())
		})); diff != "" {
			t.Fatalf("(-first +second):\n%s", diff)
		}
		if again, _ := AppendDHCPPacket(nil, back); !bytes.Equal(again, enc) {
			t.Fatal("second re-encoding differs from the first")
		}
		// The layout makes the re-encoding exact, but for what it recomputes.
		var pf, pe Packet
		if DecodePacket(frame, &pf) != nil || DecodePacket(enc, &pe) != nil {
			t.Fatal("DHCP frame does not decode as a Packet")
		}
		if want, got := canonical(frame, &pf), canonical(enc, &pe); !bytes.Equal(want, got) {
			t.Fatalf("re-encoded\n% x\nwant\n% x", got, want)
		}
	})
}

func FuzzSummarize(f *testing.F) {
	addSeeds(f, 0)
	f.Fuzz(func(t *testing.T, frame []byte) {
		s := Summarize(frame)
		line := s.String()
		if strings.ContainsAny(line, "\n\r") {
			t.Fatalf("String is not one line: %q", line)
		}
		if s.Len != len(frame) {
			t.Fatalf("Length %d, want %d", s.Len, len(frame))
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatal(err)
		}
	})
}
