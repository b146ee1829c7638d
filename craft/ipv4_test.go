package craft

import (
	"encoding/hex"
	"errors"
	"io"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func unhexString(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestChecksum(t *testing.T) {
	tests := []struct {
		name string
		data string
		want uint16
	}{
		// RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
		{"rfc1071 example", "0001f203f4f5f6f7", ^uint16(0xddf2)},
		// Odd length: the last byte is padded with zero (RFC 1071 §4.1).
		{"odd length", "0001f203f4f5f6f7aa", ^uint16(0xddf2 + 0xaa00 - 0xffff)},
		{"empty", "", 0xffff},
		{"all ones", "ffff", 0},
		// A classic IPv4 header (192.168.0.1 -> 192.168.0.199, UDP) with checksum b861 zeroed.
		{"ipv4 header", "450000730000400040110000c0a80001c0a800c7", 0xb861},
		// The same header with its checksum in place sums to zero.
		{"ipv4 header verified", "45000073000040004011b861c0a80001c0a800c7", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Checksum(unhexString(t, tt.data)); got != tt.want {
				t.Errorf("Checksum(%s) = %#04x, want %#04x", tt.data, got, tt.want)
			}
		})
	}
}

func TestAppendIPv4(t *testing.T) {
	ip := IPv4{ID: 0, DontFragment: true, TTL: 64, Protocol: ProtocolUDP,
		Src: netip.MustParseAddr("192.168.0.1"), Dst: netip.MustParseAddr("192.168.0.199")}
	got := AppendIPv4(nil, ip, 0x73-20)
	if diff := cmp.Diff(unhexString(t, "45000073000040004011b861c0a80001c0a800c7"), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var back IPv4
	payload, err := DecodeIPv4(append(got, make([]byte, 0x73-20)...), &back)
	if err != nil || len(payload) != 0x73-20 {
		t.Fatalf("DecodeIPv4: %d bytes, %v", len(payload), err)
	}
	if diff := cmp.Diff(ip, back, cmpOpts); diff != "" {
		t.Errorf("decode(encode(ip)) (-want +got):\n%s", diff)
	}
}

func TestIPv4FlagsAndOptions(t *testing.T) {
	ip := IPv4{TOS: 0x10, ID: 0xbeef, MoreFragments: true, FragOffset: 0x1234, TTL: 1, Protocol: 99,
		Src: netip.MustParseAddr("198.18.0.1"), Dst: netip.MustParseAddr("198.18.0.2"),
		Options: []byte{0x94, 0x04, 0, 0}} // router alert, RFC 2113
	b := AppendIPv4(nil, ip, 0)
	if b[0] != 0x46 || b[6] != 0x32 || b[7] != 0x34 || b[1] != 0x10 || b[8] != 1 || b[9] != 99 {
		t.Errorf("header % x: want IHL 6, MF|offset 0x3234, TOS 0x10, TTL 1, proto 99", b)
	}
	if !IPv4ChecksumOK(b) {
		t.Error("IPv4ChecksumOK = false on our own header")
	}
	var back IPv4
	if _, err := DecodeIPv4(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ip, back, cmpOpts); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	b[10] ^= 1
	if IPv4ChecksumOK(b) {
		t.Error("IPv4ChecksumOK = true on a corrupted header")
	}
	// Options that are not a multiple of 4 are padded with End of Option List.
	ip.Options = []byte{1, 1, 1}
	if b := AppendIPv4(nil, ip, 0); b[0] != 0x46 || b[23] != 0 {
		t.Errorf("options not padded: % x", b)
	}
}

func TestDecodeIPv4Errors(t *testing.T) {
	good := AppendIPv4(nil, IPv4{TTL: 64, Protocol: 17, Src: netip.MustParseAddr("198.18.0.1"),
		Dst: netip.MustParseAddr("198.18.0.2")}, 4)
	good = append(good, 1, 2, 3, 4)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.ErrUnexpectedEOF},
		{"19 bytes", good[:19], io.ErrUnexpectedEOF},
		{"total length beyond data", good[:23], io.ErrUnexpectedEOF},
		{"version 6", mod(func(b []byte) []byte { b[0] = 0x65; return b }), ErrMalformed},
		{"IHL 4", mod(func(b []byte) []byte { b[0] = 0x44; return b }), ErrMalformed},
		{"IHL beyond data", mod(func(b []byte) []byte { b[0] = 0x4f; return b }), io.ErrUnexpectedEOF},
		{"total length below header", mod(func(b []byte) []byte { b[2], b[3] = 0, 19; return b }), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ip IPv4
			_, err := DecodeIPv4(tt.in, &ip)
			if !errors.Is(err, tt.want) {
				t.Errorf("DecodeIPv4 error %v, want %v", err, tt.want)
			}
		})
	}
	// Ethernet padding after the datagram is not payload.
	var ip IPv4
	payload, err := DecodeIPv4(append(good, 0, 0, 0), &ip)
	if err != nil || string(payload) != "\x01\x02\x03\x04" {
		t.Errorf("padded datagram: payload % x, %v", payload, err)
	}
}

func TestUDPChecksum(t *testing.T) {
	src, dst := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	d := AppendUDPDatagram(nil, src, dst, UDP{SrcPort: 1234, DstPort: 5678}, []byte("hello"))
	// Verify independently: sum pseudo-header, header and data by hand.
	ph := []byte{198, 18, 0, 1, 198, 18, 0, 2, 0, 17, 0, byte(len(d))}
	if got := Checksum(append(ph, d...)); got != 0 {
		t.Errorf("checksum over pseudo-header+datagram = %#04x, want 0", got)
	}
	if d[4] != 0 || d[5] != 13 {
		t.Errorf("length % x, want 00 0d", d[4:6])
	}
	if !UDPChecksumOK(src, dst, d) {
		t.Error("UDPChecksumOK = false")
	}
	if UDPChecksumOK(src, netip.MustParseAddr("198.18.0.3"), d) {
		t.Error("UDPChecksumOK = true with the wrong destination in the pseudo-header")
	}
	d[6], d[7] = 0, 0
	if !UDPChecksumOK(src, dst, d) {
		t.Error("UDPChecksumOK = false for checksum 0 (none computed, RFC 768)")
	}
	// A checksum that computes to 0 is sent as 0xffff (RFC 768). Find a
	// payload for which it happens: adjust two bytes so the sum is 0xffff.
	p := []byte{0, 0}
	d = AppendUDPDatagram(nil, src, dst, UDP{SrcPort: 1, DstPort: 2}, p)
	c := uint16(d[6])<<8 | uint16(d[7])
	p = []byte{byte(c >> 8), byte(c)}
	d = AppendUDPDatagram(nil, src, dst, UDP{SrcPort: 1, DstPort: 2}, p)
	if d[6] != 0xff || d[7] != 0xff || !UDPChecksumOK(src, dst, d) {
		t.Errorf("zero checksum sent as % x, want ff ff", d[6:8])
	}
}

func TestDecodeUDPErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"7 bytes", make([]byte, 7), io.ErrUnexpectedEOF},
		{"length 7", []byte{0, 1, 0, 2, 0, 7, 0, 0}, ErrMalformed},
		{"length beyond data", []byte{0, 1, 0, 2, 0, 9, 0, 0}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u UDP
			if _, err := DecodeUDP(tt.in, &u); !errors.Is(err, tt.want) {
				t.Errorf("DecodeUDP error %v, want %v", err, tt.want)
			}
		})
	}
}
