package arpscan

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goldenFrames reads testdata/golden.txt: frames captured by tcpdump between
// rawlab or arp-scan and a Linux kernel (see testdata/capture.sh).
func goldenFrames(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b, err := hex.DecodeString(line)
		if err != nil {
			t.Fatalf("golden.txt: %v", err)
		}
		out = append(out, b)
	}
	return out
}

func TestGoldenFrames(t *testing.T) {
	frames := goldenFrames(t)
	scanner := [6]byte{0x02, 0x00, 0x5e, 0x00, 0x77, 0x01}
	host := [6]byte{0x02, 0x00, 0x5e, 0x00, 0x77, 0x02}
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	request := func(spa [4]byte) Packet {
		return Packet{EthDst: bcast, EthSrc: scanner, VLAN: -1, Op: opRequest, SHA: scanner, SPA: spa, TPA: [4]byte{198, 18, 77, 2}}
	}
	reply := func(tpa [4]byte) Packet {
		return Packet{EthDst: scanner, EthSrc: host, VLAN: -1, Op: opReply, SHA: host, SPA: [4]byte{198, 18, 77, 2}, THA: scanner, TPA: tpa}
	}
	me := [4]byte{198, 18, 77, 1}
	want := []Packet{request(me), reply(me), request([4]byte{}), reply([4]byte{}), request(me), reply(me)}
	if len(frames) != len(want) {
		t.Fatalf("%d golden frames, want %d", len(frames), len(want))
	}
	for i, f := range frames {
		var p Packet
		if err := DecodeFrame(f, &p); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if diff := cmp.Diff(want[i], p); diff != "" {
			t.Errorf("frame %d (-want +got):\n%s", i, diff)
		}
		// Re-encoding gives the same bytes, padded to 60 with zeros where
		// the kernel sent 42 (veths do not pad).
		enc := AppendFrame(nil, &p)
		if !bytes.Equal(enc[:len(f)], f) || strings.Trim(string(enc[len(f):]), "\x00") != "" {
			t.Errorf("frame %d re-encodes as\n% x\nwant\n% x", i, enc, f)
		}
	}
	// rawlab's requests are byte for byte what it builds for the same fields.
	if got := AppendFrame(nil, &want[0]); !bytes.Equal(got, frames[0]) {
		t.Errorf("request\n% x\nwant\n% x", got, frames[0])
	}
}

func TestDecodeFrameTaggedAndErrors(t *testing.T) {
	p := Packet{EthDst: [6]byte{1, 2, 3, 4, 5, 6}, EthSrc: [6]byte{2, 2, 2, 2, 2, 2}, VLAN: 4094, Op: opReply,
		SHA: [6]byte{3, 3, 3, 3, 3, 3}, SPA: [4]byte{198, 18, 0, 1}, THA: [6]byte{4, 4, 4, 4, 4, 4}, TPA: [4]byte{198, 18, 0, 2}}
	tagged := AppendFrame(nil, &p)
	if len(tagged) != 60 || tagged[12] != 0x81 || tagged[13] != 0x00 {
		t.Fatalf("tagged frame % x", tagged)
	}
	var got Packet
	if err := DecodeFrame(tagged, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("tagged (-want +got):\n%s", diff)
	}
	if !got.Mismatch() {
		t.Error("Mismatch() = false for EthSrc != SHA")
	}
	ipv4 := append([]byte(nil), tagged...)
	ipv4[16], ipv4[17] = 0x08, 0x00
	tests := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"empty", nil, io.ErrUnexpectedEOF},
		{"short header", tagged[:13], io.ErrUnexpectedEOF},
		{"short tag", tagged[:15], io.ErrUnexpectedEOF},
		{"short body", tagged[:30], io.ErrUnexpectedEOF},
		{"short fixed part", tagged[:20], io.ErrUnexpectedEOF},
		{"ipv4", ipv4, ErrNotARP},
		{"not ethernet/ipv4 arp", append(append([]byte(nil), tagged[:18]...), 0, 6, 8, 0, 6, 4, 0, 1), ErrNotARP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := DecodeFrame(tt.frame, &got); !errors.Is(err, tt.want) {
				t.Errorf("DecodeFrame = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFrameBits(t *testing.T) {
	// arp-scan: max(42, 46) + 18 = 64 bytes; tagged max(46, 46) + 18 = 64.
	if got := FrameBits(false); got != 512 {
		t.Errorf("FrameBits(untagged) = %d, want 512", got)
	}
	if got := FrameBits(true); got != 512 {
		t.Errorf("FrameBits(tagged) = %d, want 512", got)
	}
	if got := RateForBandwidth(DefaultBandwidth, false); got != 500 {
		t.Errorf("RateForBandwidth(256000) = %v, want 500/s (arp-scan's 2 ms interval)", got)
	}
	if got := RateForBandwidth(1e9, false); got != 1953125 {
		t.Errorf("RateForBandwidth(1000M) = %v, want 1953125", got)
	}
}

// FuzzDecodeFrame: no input panics; whatever decodes re-encodes to a frame
// that decodes to the same Packet.
func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range goldenFrames(f) {
		f.Add(fr)
	}
	f.Add(AppendFrame(nil, &Packet{VLAN: 7, Op: opReply}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x88, 0xa8, 0, 1, 0x08, 0x06})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p, q Packet
		if DecodeFrame(b, &p) != nil {
			return
		}
		enc := AppendFrame(nil, &p)
		if err := DecodeFrame(enc, &q); err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if p != q {
			t.Fatalf("round trip changed the packet:\n%+v\n%+v", p, q)
		}
	})
}

func BenchmarkDecodeFrame(b *testing.B) {
	fr := goldenFrames(b)[1]
	var p Packet
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeFrame(fr, &p); err != nil {
			b.Fatal(err)
		}
	}
}
