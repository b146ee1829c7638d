package craft

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestARPConstructors(t *testing.T) {
	mac, peer := mustMAC(t, "02:00:5e:00:00:01"), mustMAC(t, "02:00:5e:00:00:02")
	me, other := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	tests := []struct {
		name             string
		got              ARP
		wantHex          string // the 28-byte packet
		probe, gratuitus bool
	}{
		{"request", NewARPRequest(mac, me, other),
			"0001080006040001" + "02005e000001" + "c6120001" + "000000000000" + "c6120002", false, false},
		{"reply", NewARPReply(peer, other, mac, me),
			"0001080006040002" + "02005e000002" + "c6120002" + "02005e000001" + "c6120001", false, false},
		{"rfc5227 probe", NewARPProbe(mac, other),
			"0001080006040001" + "02005e000001" + "00000000" + "000000000000" + "c6120002", true, false},
		{"rfc5227 announcement", NewGratuitousARP(mac, me),
			"0001080006040001" + "02005e000001" + "c6120001" + "000000000000" + "c6120001", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendARPPacket(nil, tt.got)
			if diff := cmp.Diff(unhexString(t, tt.wantHex), b); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tt.got.IsProbe() != tt.probe || tt.got.IsGratuitous() != tt.gratuitus {
				t.Errorf("IsProbe %v IsGratuitous %v, want %v %v", tt.got.IsProbe(), tt.got.IsGratuitous(), tt.probe, tt.gratuitus)
			}
			var back ARP
			if err := DecodeARP(b, &back); err != nil {
				t.Fatal(err)
			}
			want := tt.got
			if want.TargetMAC == nil {
				want.TargetMAC = zero
			}
			if diff := cmp.Diff(want, back, cmpOpts); diff != "" {
				t.Errorf("decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendARPFrame(t *testing.T) {
	mac := mustMAC(t, "02:00:5e:00:00:01")
	a := NewARPProbe(mac, netip.MustParseAddr("198.18.0.9"))
	prefix := []byte("keep")
	f := AppendARP(prefix, Ethernet{Dst: Broadcast, Src: mac, EtherType: EtherTypeIPv4}, a)
	if string(f[:4]) != "keep" {
		t.Errorf("AppendARP overwrote the bytes before it: %q", f[:4])
	}
	f = f[4:]
	want := unhexString(t, "ffffffffffff02005e0000010806"+ // EtherType forced to ARP
		"000108000604000102005e00000100000000000000000000c6120009"+
		"000000000000000000000000000000000000") // 18 bytes of padding to 60
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Nil and short MACs, and IPv6 or invalid addresses, are written as zeros.
	b := AppendARPPacket(nil, ARP{Op: ARPReply, SenderMAC: net.HardwareAddr{1}, SenderIP: netip.MustParseAddr("::1")})
	if diff := cmp.Diff(unhexString(t, "0001080006040002"+"010000000000"+"00000000"+"000000000000"+"00000000"), b); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDecodeARPErrors(t *testing.T) {
	good := AppendARPPacket(nil, NewARPRequest(Broadcast, netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")))
	mod := func(i int, v byte) []byte { b := append([]byte(nil), good...); b[i] = v; return b }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.ErrUnexpectedEOF},
		{"7 bytes", good[:7], io.ErrUnexpectedEOF},
		{"27 bytes", good[:27], io.ErrUnexpectedEOF},
		{"htype 6 (IEEE 802)", mod(1, 6), ErrUnsupported},
		{"ptype IPv6", mod(2, 0x86), ErrUnsupported},
		{"hlen 8", mod(4, 8), ErrUnsupported},
		{"plen 16", mod(5, 16), ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a ARP
			if err := DecodeARP(tt.in, &a); !errors.Is(err, tt.want) {
				t.Errorf("DecodeARP: %v, want %v", err, tt.want)
			}
		})
	}
	if got := ARPOp(9).String(); got != "op(9)" {
		t.Errorf("ARPOp(9).String() = %q", got)
	}
}

func TestICMPEcho(t *testing.T) {
	mac := mustMAC(t, "02:00:5e:00:00:01")
	ip := IPv4{ID: 7, DontFragment: true, Src: netip.MustParseAddr("198.18.0.1"), Dst: netip.MustParseAddr("198.18.0.2")}
	e := ICMPEcho{Type: ICMPEchoRequest, ID: 0x1234, Seq: 1, Data: []byte("rawlab")}
	f := AppendICMPEcho(nil, Ethernet{Dst: Broadcast, Src: mac}, ip, e)
	if len(f) != 60 {
		t.Errorf("frame %d bytes, want 60 (14+20+8+6 padded)", len(f))
	}
	var p Packet
	if err := DecodePacket(f, &p); err != nil {
		t.Fatal(err)
	}
	ip.TTL, ip.Protocol = DefaultTTL, ProtocolICMP
	if diff := cmp.Diff(ip, p.IPv4, cmpOpts); diff != "" {
		t.Errorf("IPv4 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(e, p.ICMP); diff != "" {
		t.Errorf("ICMP (-want +got):\n%s", diff)
	}
	if Checksum(f[34:48]) != 0 || !IPv4ChecksumOK(f[14:]) {
		t.Error("checksums do not verify")
	}
	if len(p.Trailer) != 60-48 {
		t.Errorf("trailer %d bytes, want 12", len(p.Trailer))
	}
	var d ICMPEcho
	if err := DecodeICMPEcho([]byte{3, 3, 0, 0, 0, 0, 0, 0}, &d); !errors.Is(err, ErrUnsupported) {
		t.Errorf("port unreachable: %v, want ErrUnsupported", err)
	}
	if err := DecodeICMPEcho([]byte{8, 0, 0}, &d); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("3 bytes: %v, want io.ErrUnexpectedEOF", err)
	}
}
