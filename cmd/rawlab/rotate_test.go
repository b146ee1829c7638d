package main

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rawlab/rawlab/capture"
)

func TestStrftime(t *testing.T) {
	ts := time.Date(2026, 11, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct{ in, want string }{
		{"plain.pcapng", "plain.pcapng"},
		{"cap-%Y%m%d-%H%M%S.pcapng", "cap-20261102-030405.pcapng"},
		{"%y %e %j %b %a %F %T %% %q", "26  2 306 Nov Mon 2026-11-02 03:04:05 % %q"},
		{"%s", "1793588645"},
		{"trailing%", "trailing%"},
	}
	for _, tt := range tests {
		if got := strftime(tt.in, ts); got != tt.want {
			t.Errorf("strftime(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseFileSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true}, {"1", 1000000, true}, {"0.5", 500000, true}, {"512k", 512 << 10, true},
		{"10m", 10 << 20, true}, {"1G", 1 << 30, true}, {"0", 0, false}, {"-3", 0, false}, {"tenm", 0, false},
	}
	for _, tt := range tests {
		got, err := parseFileSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseFileSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// frameCounts reads every file in dir and returns its name and record count.
func frameCounts(t *testing.T, dir string) map[string]int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range entries {
		r, err := capture.OpenFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		n := 0
		for {
			if _, err := r.Next(); err != nil {
				break
			}
			n++
		}
		r.Close()
		out[e.Name()] = n
	}
	return out
}

func TestRotationBySizeRing(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 2, 3, 4, 5, 0, time.UTC)
	frame := make([]byte, 100) // a 144-byte block with epb_flags
	opt := capture.RecorderOptions{Interface: "eth0"}
	r, err := newRotatingRecorder(filepath.Join(dir, "ring.pcapng"), rotation{size: 1000, count: 3}, opt, start)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if err := r.Write(capture.Record{Time: start.Add(time.Duration(i) * time.Millisecond), Data: frame, Dir: capture.Inbound}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	got := frameCounts(t, dir)
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"ring.pcapng0", "ring.pcapng1", "ring.pcapng2"}, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for name, n := range got {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1000 {
			t.Errorf("%s is %d bytes, over -C 1000", name, fi.Size())
		}
		if n == 0 {
			t.Errorf("%s holds no frame", name)
		}
	}
}

func TestRotationByTimeStopsAfterCount(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 2, 3, 4, 5, 0, time.UTC)
	r, err := newRotatingRecorder(filepath.Join(dir, "t-%H%M%S.pcap"), rotation{period: time.Second, count: 2},
		capture.RecorderOptions{Format: capture.FormatPcap}, start)
	if err != nil {
		t.Fatal(err)
	}
	var stop error
	for i := 0; i < 30 && stop == nil; i++ {
		stop = r.Write(capture.Record{Time: start.Add(time.Duration(i) * 100 * time.Millisecond), Data: make([]byte, 60)})
	}
	if !errors.Is(stop, errRotationDone) {
		t.Fatalf("after two periods Write = %v, want errRotationDone", stop)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"t-030405.pcap": 10, "t-030406.pcap": 10}
	if diff := cmp.Diff(want, frameCounts(t, dir)); diff != "" {
		t.Errorf("files and frames (-want +got):\n%s", diff)
	}
}

// TestRotationWriteFrames checks that frames written in batches, as the
// capture loop writes them, land in the same files, frame for frame, as
// frames written one at a time, and that a -G -W rotation that ends in the
// middle of a batch reports the frames it wrote.
func TestRotationWriteFrames(t *testing.T) {
	start := time.Date(2026, 11, 2, 3, 4, 5, 0, time.UTC)
	frames := make([]capture.Frame, 40)
	for i := range frames {
		frames[i] = capture.Frame{Data: make([]byte, 96), Info: capture.FrameInfo{
			Time: start.Add(time.Duration(i) * 100 * time.Millisecond), Length: 96, Dir: capture.Inbound,
			VLAN: i%3 == 0, VLANTCI: 10, VLANTPID: 0x8100,
		}}
	}
	for _, tt := range []struct {
		name    string
		pattern string
		rot     rotation
		written int // by WriteFrames before errRotationDone; 0: all, no error
	}{
		{"size ring", "ring.pcapng", rotation{size: 1000, count: 3}, 0},
		{"size", "size.pcapng", rotation{size: 2000}, 0},
		{"time", "t-%H%M%S.pcapng", rotation{period: time.Second}, 0},
		{"time count", "t-%H%M%S.pcapng", rotation{period: time.Second, count: 2}, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opt := capture.RecorderOptions{Interface: "eth0"}
			one, batched := t.TempDir(), t.TempDir()
			r, err := newRotatingRecorder(filepath.Join(one, tt.pattern), tt.rot, opt, start)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range frames {
				b := make([]byte, len(f.Data), len(f.Data)+4)
				copy(b, f.Data)
				b = b[:capture.InsertVLAN(b, len(b), f.Info)]
				if err := r.Write(capture.Record{Time: f.Info.Time, Data: b, Dir: f.Info.Dir}); err != nil {
					if errors.Is(err, errRotationDone) {
						break
					}
					t.Fatal(err)
				}
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			r, err = newRotatingRecorder(filepath.Join(batched, tt.pattern), tt.rot, opt, start)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for i := 0; i < len(frames); i += 16 {
				n, err := r.WriteFrames(frames[i:min(i+16, len(frames))])
				total += n
				if errors.Is(err, errRotationDone) && tt.written > 0 {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			want := len(frames)
			if tt.written > 0 {
				want = tt.written
			}
			if total != want {
				t.Errorf("WriteFrames wrote %d frames, want %d", total, want)
			}
			if diff := cmp.Diff(frameCounts(t, one), frameCounts(t, batched)); diff != "" {
				t.Errorf("files and frames, one at a time (-) and batched (+):\n%s", diff)
			}
		})
	}
}
