package craft

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

// arpGolden reads testdata/arp_frames.txt: frames captured by tcpdump
// between rawlab or arp-scan and a Linux kernel (testdata/arp_frames.sh).
func arpGolden(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/arp_frames.txt")
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
			t.Fatalf("arp_frames.txt: %v", err)
		}
		out = append(out, b)
	}
	return out
}

func ethIPv4(f ARPFrame) ARPFrame {
	f.HType, f.PType, f.HLen, f.PLen = 1, 0x0800, 6, 4
	return f
}

func TestARPFrameGolden(t *testing.T) {
	frames := arpGolden(t)
	scanner := [6]byte{0x02, 0x00, 0x5e, 0x00, 0x77, 0x01}
	host := [6]byte{0x02, 0x00, 0x5e, 0x00, 0x77, 0x02}
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	request := func(spa [4]byte) ARPFrame {
		return ethIPv4(ARPFrame{EthDst: bcast, EthSrc: scanner, Op: ARPRequest, SHA: scanner, SPA: spa, TPA: [4]byte{198, 18, 77, 2}})
	}
	reply := func(tpa [4]byte) ARPFrame {
		return ethIPv4(ARPFrame{EthDst: scanner, EthSrc: host, Op: ARPReply, SHA: host, SPA: [4]byte{198, 18, 77, 2}, THA: scanner, TPA: tpa})
	}
	me := [4]byte{198, 18, 77, 1}
	want := []ARPFrame{request(me), reply(me), request([4]byte{}), reply([4]byte{}), request(me), reply(me)}
	if len(frames) != len(want) {
		t.Fatalf("%d golden frames, want %d", len(frames), len(want))
	}
	for i, f := range frames {
		var p ARPFrame
		if err := DecodeARPFrame(f, &p); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if diff := cmp.Diff(want[i], p); diff != "" {
			t.Errorf("frame %d (-want +got):\n%s", i, diff)
		}
		// Re-encoding gives the same bytes, padded to 60 with zeros where
		// the kernel sent 42 (veths do not pad).
		enc := AppendARPFrame(nil, &p)
		if !bytes.Equal(enc[:len(f)], f) || strings.Trim(string(enc[len(f):]), "\x00") != "" {
			t.Errorf("frame %d re-encodes as\n% x\nwant\n% x", i, enc, f)
		}
	}
	if got := AppendARPFrame(nil, &want[0]); !bytes.Equal(got, frames[0]) {
		t.Errorf("request\n% x\nwant\n% x", got, frames[0])
	}
}

func TestARPFrameTaggedAndErrors(t *testing.T) {
	p := ethIPv4(ARPFrame{EthDst: [6]byte{1, 2, 3, 4, 5, 6}, EthSrc: [6]byte{2, 2, 2, 2, 2, 2}, Tagged: true,
		VLAN: VLAN{ID: 4094, Priority: 5, DEI: true, TPID: EtherTypeVLAN}, Op: ARPReply,
		SHA: [6]byte{3, 3, 3, 3, 3, 3}, SPA: [4]byte{198, 18, 0, 1}, THA: [6]byte{4, 4, 4, 4, 4, 4}, TPA: [4]byte{198, 18, 0, 2}})
	tagged := AppendARPFrame(nil, &p)
	if len(tagged) != 60 || tagged[12] != 0x81 || tagged[13] != 0x00 {
		t.Fatalf("tagged frame % x", tagged)
	}
	if tagged[p.TPAOffset()] != 198 || tagged[p.TPAOffset()+3] != 2 || tagged[p.SPAOffset()+3] != 1 {
		t.Errorf("offsets %d %d do not point at the addresses in % x", p.SPAOffset(), p.TPAOffset(), tagged)
	}
	var got ARPFrame
	if err := DecodeARPFrame(tagged, &got); err != nil {
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
		{"ipv4", ipv4, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := DecodeARPFrame(tt.frame, &got); !errors.Is(err, tt.want) {
				t.Errorf("DecodeARPFrame = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestARPOddFormat: an ARP packet for another hardware or protocol type is
// not decoded as Ethernet/IPv4, but its own values are there to show.
func TestARPOddFormat(t *testing.T) {
	body := []byte{0x00, 0x06, 0x86, 0xdd, 8, 16, 0x00, 0x03, 0xaa, 0xbb}
	frame := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06}, body...)
	var f ARPFrame
	if err := DecodeARPFrame(frame, &f); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("DecodeARPFrame = %v, want ErrUnsupported", err)
	}
	if f.HType != 6 || f.PType != 0x86dd || f.HLen != 8 || f.PLen != 16 || f.Op != 3 {
		t.Errorf("frame: htype %d ptype %#x hlen %d plen %d op %d, want 6 0x86dd 8 16 3", f.HType, f.PType, f.HLen, f.PLen, f.Op)
	}
	var a ARP
	if err := DecodeARP(body, &a); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("DecodeARP = %v, want ErrUnsupported", err)
	}
	want := ARP{Op: 3, HType: 6, PType: 0x86dd, HLen: 8, PLen: 16}
	if diff := cmp.Diff(want, a, cmpOpts); diff != "" {
		t.Errorf("DecodeARP (-want +got):\n%s", diff)
	}
}

func TestARPFrameBits(t *testing.T) {
	// arp-scan: max(42, 46) + 18 = 64 bytes; tagged max(46, 46) + 18 = 64.
	if got := ARPFrameBits(false); got != 512 {
		t.Errorf("ARPFrameBits(untagged) = %d, want 512", got)
	}
	if got := ARPFrameBits(true); got != 512 {
		t.Errorf("ARPFrameBits(tagged) = %d, want 512", got)
	}
}

// FuzzDecodeARPFrame: no input panics; whatever decodes re-encodes to a
// frame that decodes to the same value.
func FuzzDecodeARPFrame(f *testing.F) {
	for _, fr := range arpGolden(f) {
		f.Add(fr)
	}
	f.Add(AppendARPFrame(nil, &ARPFrame{Tagged: true, VLAN: VLAN{ID: 7}, Op: ARPReply}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x88, 0xa8, 0, 1, 0x08, 0x06})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x08, 0x06, 0, 6, 0x86, 0xdd, 8, 16, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p, q ARPFrame
		if DecodeARPFrame(b, &p) != nil {
			return
		}
		enc := AppendARPFrame(nil, &p)
		if err := DecodeARPFrame(enc, &q); err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if p != q {
			t.Fatalf("round trip changed the frame:\n%+v\n%+v", p, q)
		}
	})
}

func BenchmarkDecodeARPFrame(b *testing.B) {
	fr := arpGolden(b)[1]
	var p ARPFrame
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeARPFrame(fr, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestARPFrameAllocs(t *testing.T) {
	fr := arpGolden(t)[1]
	var p ARPFrame
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() {
		DecodeARPFrame(fr, &p)
		buf = AppendARPFrame(buf[:0], &p)
	}); n != 0 {
		t.Errorf("DecodeARPFrame+AppendARPFrame allocate %v times per frame, want 0", n)
	}
}
