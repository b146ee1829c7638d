package craft

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestSetChecksums(t *testing.T) {
	mac := mustMAC(t, "02:00:5e:00:00:01")
	ip := IPv4{Src: netip.MustParseAddr("198.18.0.1"), Dst: netip.MustParseAddr("198.18.0.2")}
	tag := &VLAN{ID: 3}
	tests := []struct {
		name     string
		frame    []byte
		l4Offset int // of the transport checksum from the start of the frame
	}{
		{"udp", AppendUDP(nil, Ethernet{Src: mac}, ip, UDP{SrcPort: 1, DstPort: 2}, []byte("x")), 14 + 20 + 6},
		{"udp tagged", AppendUDP(nil, Ethernet{Src: mac, VLAN: tag}, ip, UDP{SrcPort: 1, DstPort: 2}, nil), 18 + 20 + 6},
		{"icmp", AppendICMPEcho(nil, Ethernet{Src: mac}, ip, ICMPEcho{Type: 8}), 14 + 20 + 2},
		{"icmp tagged", AppendICMPEcho(nil, Ethernet{Src: mac, VLAN: tag}, ip, ICMPEcho{Type: 8}), 18 + 20 + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := SetIPv4Checksum(tt.frame, 0xdead); err != nil {
				t.Fatal(err)
			}
			if err := SetTransportChecksum(tt.frame, 0); err != nil {
				t.Fatal(err)
			}
			s := Summarize(tt.frame)
			if s.IPv4 == nil || s.IPv4.ChecksumOK {
				t.Errorf("IPv4 checksum still correct: %s", s)
			}
			ipAt := tt.l4Offset - 20 - map[bool]int{true: 6, false: 2}[s.UDP != nil] + 10
			if tt.frame[ipAt] != 0xde || tt.frame[ipAt+1] != 0xad {
				t.Errorf("IPv4 checksum bytes % x, want de ad", tt.frame[ipAt:ipAt+2])
			}
			if tt.frame[tt.l4Offset] != 0 || tt.frame[tt.l4Offset+1] != 0 {
				t.Errorf("transport checksum % x, want 00 00", tt.frame[tt.l4Offset:tt.l4Offset+2])
			}
			// UDP checksum 0 is "none" and still verifies; ICMP 0 here does not.
			if s.UDP != nil && (s.UDP.ChecksumOK == nil || !*s.UDP.ChecksumOK) {
				t.Error("UDP checksum 0 reported bad")
			}
			if s.ICMP != nil && (s.ICMP.ChecksumOK == nil || *s.ICMP.ChecksumOK) {
				t.Error("ICMP checksum 0 reported good")
			}
		})
	}
	arp := AppendARP(nil, Ethernet{Dst: Broadcast, Src: mac}, NewARPProbe(mac, ip.Dst))
	orig := string(arp)
	if err := SetIPv4Checksum(arp, 1); !errors.Is(err, ErrUnsupported) {
		t.Errorf("SetIPv4Checksum on ARP: %v, want ErrUnsupported", err)
	}
	if err := SetTransportChecksum(arp, 1); !errors.Is(err, ErrUnsupported) {
		t.Errorf("SetTransportChecksum on ARP: %v, want ErrUnsupported", err)
	}
	if string(arp) != orig {
		t.Error("a failed Set changed the frame")
	}
}

func TestBreakChecksum(t *testing.T) {
	mac := mustMAC(t, "02:00:5e:00:00:01")
	ip := IPv4{Src: netip.MustParseAddr("198.18.0.1"), Dst: netip.MustParseAddr("198.18.0.2")}
	udp := AppendUDP(nil, Ethernet{Dst: Broadcast, Src: mac, VLAN: &VLAN{ID: 3}}, ip, UDP{SrcPort: 1, DstPort: 2}, []byte("x"))
	icmp := AppendICMPEcho(nil, Ethernet{Dst: Broadcast, Src: mac}, ip, ICMPEcho{Type: 8})
	arp := AppendARP(nil, Ethernet{Dst: Broadcast, Src: mac}, NewARPProbe(mac, ip.Dst))
	tests := []struct {
		frame []byte
		l     ChecksumLayer
		bad   string // what Summary must say; "" for an error
	}{
		{udp, ChecksumIPv4, "bad ip cksum"},
		{udp, ChecksumUDP, "bad udp cksum"},
		{icmp, ChecksumIPv4, "bad ip cksum"},
		{icmp, ChecksumICMP, "bad icmp cksum"},
		{udp, ChecksumICMP, ""},
		{icmp, ChecksumUDP, ""},
		{arp, ChecksumIPv4, ""},
	}
	for _, tt := range tests {
		f := append([]byte(nil), tt.frame...)
		err := BreakChecksum(f, tt.l)
		if tt.bad == "" {
			if err == nil || !bytes.Equal(f, tt.frame) {
				t.Errorf("%s on %s: err %v, frame changed %v; want an error and no change", tt.l, Summarize(tt.frame).Proto, err, !bytes.Equal(f, tt.frame))
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if s := Summarize(f).String(); !strings.Contains(s, tt.bad) {
			t.Errorf("%s: %s lacks %q", tt.l, s, tt.bad)
		}
	}
	for _, s := range []string{"ip", "udp", "icmp"} {
		if l, err := ParseChecksumLayer(s); err != nil || l.String() != s {
			t.Errorf("ParseChecksumLayer(%q) = %v, %v", s, l, err)
		}
	}
	if _, err := ParseChecksumLayer("tcp"); err == nil {
		t.Error("ParseChecksumLayer(tcp): no error")
	}
}
