package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapgoFile writes recs with gopacket's pcapgo, the reference the
// Recorder's own encoder must match byte for byte.
func pcapgoFile(t *testing.T, f Format, iface string, snaplen int, recs []Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch f {
	case FormatPcapng:
		w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{
			Name: iface, OS: runtime.GOOS, LinkType: layers.LinkTypeEthernet,
			SnapLength: uint32(snaplen), TimestampResolution: 9,
		}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
			Hardware: runtime.GOARCH, OS: runtime.GOOS, Application: "rawlab",
		}})
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			data := rec.Data[:min(len(rec.Data), snaplen)]
			ci := gopacket.CaptureInfo{Timestamp: rec.Time, CaptureLength: len(data), Length: max(rec.Length, len(rec.Data))}
			var opts pcapgo.NgPacketOptions
			if rec.Comment != "" {
				opts.Comments = []string{rec.Comment}
			}
			if rec.Dir != 0 {
				opts.Flags = &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlag(rec.Dir)}
			}
			if err := w.WritePacketWithOptions(ci, data, opts); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	case FormatPcap:
		w := pcapgo.NewWriterNanos(&buf)
		if err := w.WriteFileHeader(uint32(snaplen), layers.LinkTypeEthernet); err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			data := rec.Data[:min(len(rec.Data), snaplen)]
			ci := gopacket.CaptureInfo{Timestamp: rec.Time, CaptureLength: len(data), Length: max(rec.Length, len(rec.Data))}
			if err := w.WritePacket(ci, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	return buf.Bytes()
}

// TestRecorderMatchesPcapgo checks that the Recorder's hand-written blocks
// are byte for byte what pcapgo writes for the same frames.
func TestRecorderMatchesPcapgo(t *testing.T) {
	for _, f := range []Format{FormatPcapng, FormatPcap} {
		for _, snaplen := range []int{DefaultSnapLen, 30} {
			t.Run(f.String(), func(t *testing.T) {
				var got bytes.Buffer
				writeAll(t, &got, RecorderOptions{Format: f, Interface: "veth0", SnapLen: snaplen, FlushInterval: -1}, testRecords())
				want := pcapgoFile(t, f, "veth0", snaplen, testRecords())
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("snaplen %d: file differs from pcapgo's:\n got % x\nwant % x", snaplen, got.Bytes(), want)
				}
			})
		}
	}
}

// TestRecorderPrecision checks --time-stamp-precision: the pcapng
// if_tsresol and timestamp units, and the classic pcap magic.
func TestRecorderPrecision(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 4, 0, 0, 123456789, time.UTC)
	rec := Record{Time: t0, Data: arpFrame(0, 1, macA, ipA, make([]byte, 6), ipB), Dir: Inbound}
	for _, tt := range []struct {
		format    Format
		precision TimePrecision
		wantTime  time.Time
		wantMagic uint32 // pcap only
	}{
		{FormatPcapng, Nanosecond, t0, 0},
		{FormatPcapng, Microsecond, t0.Truncate(time.Microsecond), 0},
		{FormatPcap, Nanosecond, t0, 0xa1b23c4d},
		{FormatPcap, Microsecond, t0.Truncate(time.Microsecond), 0xa1b2c3d4},
		{FormatPcapng, 0, t0, 0},
	} {
		t.Run(tt.format.String()+"/"+tt.precision.String(), func(t *testing.T) {
			var buf bytes.Buffer
			writeAll(t, &buf, RecorderOptions{Format: tt.format, Precision: tt.precision, FlushInterval: -1}, []Record{rec})
			if tt.format == FormatPcap {
				if got := binary.LittleEndian.Uint32(buf.Bytes()); got != tt.wantMagic {
					t.Errorf("magic %#x, want %#x", got, tt.wantMagic)
				}
			} else {
				ng, err := pcapgo.NewNgReader(bytes.NewReader(buf.Bytes()), pcapgo.DefaultNgReaderOptions)
				if err != nil {
					t.Fatal(err)
				}
				wantRes := uint8(9)
				if tt.precision == Microsecond {
					wantRes = 6
				}
				if intf, err := ng.Interface(0); err != nil || uint8(intf.TimestampResolution) != wantRes {
					t.Errorf("interface %+v (%v), want if_tsresol %d", intf, err, wantRes)
				}
			}
			fr, err := NewFileReader(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, fr)
			if len(got) != 1 || !got[0].Time.Equal(tt.wantTime) {
				t.Errorf("read back %+v, want one record at %v", got, tt.wantTime)
			}
		})
	}
	if _, err := NewRecorder(io.Discard, RecorderOptions{Precision: 7}); err == nil {
		t.Error("NewRecorder with precision 7: no error")
	}
}

func TestParseTimePrecision(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    TimePrecision
		wantErr bool
	}{
		{"nano", Nanosecond, false},
		{"nanosecond", Nanosecond, false},
		{"micro", Microsecond, false},
		{"microsecond", Microsecond, false},
		{"milli", 0, true},
		{"", 0, true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTimePrecision(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ParseTimePrecision(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestRecorderWriteFrames checks that WriteFrames writes what Write writes
// for the same frames with their stripped VLAN tags put back by
// InsertVLAN, snap length included, and allocates nothing.
func TestRecorderWriteFrames(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 4, 0, 0, 1, time.UTC)
	untagged := ipv4Frame(0, 17, 0, nil, udpPayload(9, 9, make([]byte, 18)))
	frames := []Frame{
		{Data: untagged, Info: FrameInfo{Time: t0, Length: len(untagged), Dir: Inbound}},
		{Data: untagged, Info: FrameInfo{Time: t0.Add(1), Length: len(untagged), Dir: Outbound, VLAN: true, VLANTCI: 10, VLANTPID: 0x8100}},
		{Data: untagged[:40], Info: FrameInfo{Time: t0.Add(2), Length: 1500, Dir: Inbound, VLAN: true, VLANTCI: 0x2005, VLANTPID: 0x88a8}},
		{Data: untagged[:10], Info: FrameInfo{Time: t0.Add(3), Dir: Inbound, VLAN: true, VLANTCI: 1, VLANTPID: 0x8100}},
	}
	for _, f := range []Format{FormatPcapng, FormatPcap} {
		for _, snaplen := range []int{0, 14, 38} {
			var got, want bytes.Buffer
			opt := RecorderOptions{Format: f, SnapLen: snaplen, FlushInterval: -1}
			r, err := NewRecorder(&got, opt)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := r.WriteFrames(frames); n != len(frames) || err != nil {
				t.Fatalf("WriteFrames = %d, %v; want %d, nil", n, err, len(frames))
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			var recs []Record
			for _, fr := range frames {
				b := make([]byte, len(fr.Data), len(fr.Data)+4)
				copy(b, fr.Data)
				length := fr.Info.Length
				if n := InsertVLAN(b, len(b), fr.Info); n != len(b) {
					b = b[:n]
					length += 4
				}
				recs = append(recs, Record{Time: fr.Info.Time, Data: b, Length: length, Dir: fr.Info.Dir})
			}
			writeAll(t, &want, opt, recs)
			if diff := cmp.Diff(want.Bytes(), got.Bytes()); diff != "" {
				t.Errorf("%v snaplen %d: WriteFrames differs from Write after InsertVLAN (-want +got):\n%s", f, snaplen, diff)
			}
		}
	}
	r, err := NewRecorder(io.Discard, RecorderOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := r.WriteFrames(frames); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per WriteFrames, want 0", n)
	}
}

func BenchmarkRecorderWriteFrames(b *testing.B) {
	r, err := NewRecorder(io.Discard, RecorderOptions{FlushInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	data := ipv4Frame(0, 17, 0, nil, udpPayload(9, 9, make([]byte, 18)))
	frames := make([]Frame, 256)
	for i := range frames {
		frames[i] = Frame{Data: data, Info: FrameInfo{Time: time.Now(), Length: len(data), Dir: Inbound}}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data) * len(frames)))
	for b.Loop() {
		if _, err := r.WriteFrames(frames); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(frames)), "ns/frame")
}

// TestFileWriter checks which writer CreateRecorder uses: raw write(2) for
// a regular file, the *os.File for anything else.
func TestFileWriter(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("raw writes are Linux only")
	}
	p := filepath.Join(t.TempDir(), "f.pcapng")
	r, err := CreateRecorder(p, RecorderOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.w.(*os.File); ok {
		t.Errorf("regular file written through %T, want the raw writer", r.w)
	}
	rec := testRecords()[1]
	if err := r.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	fr, err := OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	if got := readAll(t, fr); len(got) != 1 || !bytes.Equal(got[0].Data, rec.Data) {
		t.Errorf("read back %+v, want the record written", got)
	}
	// A FIFO is written through the *os.File; a device is refused.
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	rd, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ff, err := CreateRecorder(fifo, RecorderOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	if _, ok := ff.w.(*os.File); !ok {
		t.Errorf("FIFO written through %T, want *os.File", ff.w)
	}
	if _, err := CreateRecorder(os.DevNull, RecorderOptions{FlushInterval: -1}); err == nil {
		t.Errorf("CreateRecorder(%s) made a recorder on a device", os.DevNull)
	}
}
