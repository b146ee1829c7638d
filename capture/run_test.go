package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/pcapgo"
)

// fakeSource hands out frames in batches of at most per, as a ring hands
// out a block, then the error end (or waits for the context).
type fakeSource struct {
	frames []Frame
	per    int
	end    error
	stats  Stats
	reads  int
	// onEmpty, when set, is called once the frames are handed out (a test
	// ends the run with it).
	onEmpty func()
}

func (s *fakeSource) ReadBatch(ctx context.Context, frames []Frame) (int, error) {
	s.reads++
	if len(s.frames) == 0 {
		if s.end != nil {
			return 0, s.end
		}
		if s.onEmpty != nil {
			s.onEmpty()
		}
		<-ctx.Done()
		return 0, fmt.Errorf("fake: %w", ctx.Err())
	}
	n := copy(frames[:min(len(frames), s.per)], s.frames)
	s.frames = s.frames[n:]
	s.stats.Packets += uint64(n)
	return n, nil
}

func (s *fakeSource) Stats() (Stats, error) { return s.stats, nil }

// testFrames returns n 100-byte frames, one every step from t0, inbound
// and outbound in turn.
func testFrames(n int, t0 time.Time, step time.Duration) []Frame {
	data := ipv4Frame(0, 17, 0, nil, udpPayload(9, 9, make([]byte, 100-42)))
	out := make([]Frame, n)
	for i := range out {
		dir := Inbound
		if i%2 == 1 {
			dir = Outbound
		}
		out[i] = Frame{Data: data, Info: FrameInfo{Time: t0.Add(time.Duration(i) * step), Length: len(data), Dir: dir}}
	}
	return out
}

// fileInfo is what a capture file holds: its frames and, per statistics
// block, the frames it says were delivered.
type fileInfo struct {
	Frames  int
	UsrDel  []uint64
	IfRecv  []uint64
	Partial bool
}

// readCapture reads a pcapng file with pcapgo, and its statistics blocks
// by walking the blocks.
func readCapture(t *testing.T, path string) fileInfo {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fi fileInfo
	for off := 0; off < len(b); {
		if off+12 > len(b) {
			fi.Partial = true
			break
		}
		typ, n := le.Uint32(b[off:]), int(le.Uint32(b[off+4:]))
		if n < 12 || off+n > len(b) {
			fi.Partial = true
			break
		}
		switch typ {
		case ngEPB:
			fi.Frames++
		case ngISB:
			// Options after the 20-byte header: code, length, value.
			for o := off + 20; o+4 <= off+n-4; {
				code, l := le.Uint16(b[o:]), int(le.Uint16(b[o+2:]))
				if code == ngISBUsrDeliv {
					fi.UsrDel = append(fi.UsrDel, le.Uint64(b[o+4:]))
				}
				if code == ngISBIfRecv {
					fi.IfRecv = append(fi.IfRecv, le.Uint64(b[o+4:]))
				}
				if code == 0 {
					break
				}
				o += 4 + l + pad4(l)
			}
		}
		off += n
	}
	// pcapgo must read it too.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("pcapgo %s: %v", path, err)
	}
	n := 0
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			if err != io.EOF && !fi.Partial {
				t.Errorf("pcapgo %s after %d frames: %v", path, n, err)
			}
			break
		}
		n++
	}
	if n != fi.Frames {
		t.Errorf("pcapgo reads %d frames from %s, the blocks hold %d", n, path, fi.Frames)
	}
	return fi
}

func TestRunCountAndDirection(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "c.pcapng")
	src := &fakeSource{frames: testFrames(100, t0, time.Millisecond), per: 7}
	out, err := NewOutput(OutputConfig{Path: path, Recorder: RecorderOptions{FlushInterval: -1}}, t0, src.Stats)
	if err != nil {
		t.Fatal(err)
	}
	var printed []Direction
	res, err := Run(context.Background(), src, out, RunConfig{
		Count: 10, Direction: Outbound,
		OnFrame: func(data []byte, info FrameInfo) error { printed = append(printed, info.Dir); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Captured != 10 || res.Written != 10 {
		t.Errorf("captured %d, written %d; want 10, 10", res.Captured, res.Written)
	}
	if len(printed) != 10 {
		t.Errorf("OnFrame saw %d frames, want 10", len(printed))
	}
	for _, d := range printed {
		if d != Outbound {
			t.Errorf("OnFrame saw a %v frame with Direction out", d)
		}
	}
	if got := readCapture(t, path); got.Frames != 10 || len(got.UsrDel) != 1 || got.UsrDel[0] != 10 {
		t.Errorf("file: %+v, want 10 frames and one statistics block saying 10", got)
	}
}

// TestRunInterfaceGone: a read that says the interface went away ends the
// run with that error, and the file is complete, statistics block
// included.
func TestRunInterfaceGone(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "gone.pcapng")
	gone := &net.OpError{Op: "read", Net: "packet", Err: fmt.Errorf("%w", ErrInterfaceGone)}
	src := &fakeSource{frames: testFrames(30, t0, time.Millisecond), per: 8, end: gone}
	out, err := NewOutput(OutputConfig{Path: path, Recorder: RecorderOptions{FlushInterval: -1}}, t0, src.Stats)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), src, out, RunConfig{})
	if !errors.Is(err, ErrInterfaceGone) {
		t.Fatalf("Run = %v, want ErrInterfaceGone", err)
	}
	if res.Captured != 30 || res.Written != 30 {
		t.Errorf("captured %d, written %d; want 30, 30", res.Captured, res.Written)
	}
	if got := readCapture(t, path); got.Frames != 30 || got.Partial || len(got.UsrDel) != 1 {
		t.Errorf("file: %+v, want 30 frames, whole, one statistics block", got)
	}
}

// TestRunFlushesDrainedBlocks: each batch smaller than asked (a ring block
// drained) reaches the file at once, with no timer.
func TestRunFlushesDrainedBlocks(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "flush.pcapng")
	out, err := NewOutput(OutputConfig{Path: path, Recorder: RecorderOptions{FlushInterval: -1}}, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{frames: testFrames(5, t0, time.Millisecond), per: 5}
	ctx, cancel := context.WithCancel(context.Background())
	seen := 0
	res, err := Run(ctx, src, out, RunConfig{OnFrame: func([]byte, FrameInfo) error {
		seen++
		if seen == 5 {
			// The batch of five is written before OnFrame runs: it is on
			// disk already.
			if got := readCapture(t, path); got.Frames != 5 {
				t.Errorf("after the block, the file holds %d frames, want 5", got.Frames)
			}
			cancel()
		}
		return nil
	}})
	if err != nil || res.Captured != 5 {
		t.Errorf("Run = %+v, %v; want 5 captured, nil", res, err)
	}
}

// TestRotationSizeWithinPeriod: -C splits within each -G file, its number
// starting again in each, and -G keeps firing after -C has rotated. Each
// file has its own statistics block counting its own frames.
func TestRotationSizeWithinPeriod(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	// 100-byte frames take 144-byte blocks: -C 1000 holds six after the
	// headers, so each one-second period of ten frames needs two files.
	cfg := OutputConfig{
		Path:     filepath.Join(dir, "r-%H%M%S.pcapng"),
		Rotation: Rotation{Size: 1000, Period: time.Second},
		Recorder: RecorderOptions{Interface: "eth0", FlushInterval: -1},
	}
	src := &fakeSource{frames: testFrames(40, t0, 100*time.Millisecond), per: 9}
	var kernel uint64
	stats := func() (Stats, error) { kernel += 3; return Stats{Packets: kernel}, nil }
	out, err := NewOutput(cfg, t0, stats)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	src.onEmpty = cancel
	res, err := Run(ctx, src, out, RunConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Captured != 40 || res.Written != 40 {
		t.Errorf("captured %d, written %d; want 40", res.Captured, res.Written)
	}
	got := map[string]fileInfo{}
	total := 0
	for _, name := range res.Files {
		fi := readCapture(t, name)
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 1000+100 { // the statistics block comes on top
			t.Errorf("%s is %d bytes, -C 1000", name, st.Size())
		}
		if len(fi.UsrDel) != 1 || fi.UsrDel[0] != uint64(fi.Frames) {
			t.Errorf("%s: %d frames, statistics blocks say %v", name, fi.Frames, fi.UsrDel)
		}
		if len(fi.IfRecv) != 1 || fi.IfRecv[0] != 3 {
			t.Errorf("%s: isb_ifrecv %v, want this file's share [3]", name, fi.IfRecv)
		}
		total += fi.Frames
		got[filepath.Base(name)] = fi
	}
	if total != 40 {
		t.Errorf("files hold %d frames, want 40", total)
	}
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	// Four periods of one second (ten frames each); ten 144-byte blocks
	// after the header need two files per period.
	want := []string{
		"r-100000.pcapng", "r-100000.pcapng1",
		"r-100001.pcapng", "r-100001.pcapng1",
		"r-100002.pcapng", "r-100002.pcapng1",
		"r-100003.pcapng", "r-100003.pcapng1",
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestRotationRingAndCount(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		rot   Rotation
		files []string
		taken int // frames the output takes before it ends; 0: all 40
	}{
		{"size ring", Rotation{Size: 1000, Count: 3}, []string{"x0", "x1", "x2"}, 0},
		{"size", Rotation{Size: 2000}, []string{"x", "x1", "x2", "x3"}, 0},
		{"period count", Rotation{Period: time.Second, Count: 2}, []string{"x"}, 20},
		{"size period count", Rotation{Size: 1000, Period: time.Second, Count: 2}, []string{"x0", "x1"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out, err := NewOutput(OutputConfig{Path: filepath.Join(dir, "x"), Rotation: tt.rot, Recorder: RecorderOptions{FlushInterval: -1}}, t0, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			src := &fakeSource{frames: testFrames(40, t0, 100*time.Millisecond), per: 16, onEmpty: cancel}
			res, err := Run(ctx, src, out, RunConfig{})
			if err != nil {
				t.Fatal(err)
			}
			want := 40
			if tt.taken > 0 {
				want = tt.taken
			}
			if res.Written != uint64(want) || res.Captured != uint64(want) {
				t.Errorf("captured %d, written %d; want %d", res.Captured, res.Written, want)
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if diff := cmp.Diff(tt.files, names); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

// enospcWriter writes to the file until limit bytes are in it, then
// writes what fits and fails with ENOSPC, as a full disk does.
type enospcWriter struct {
	f     *os.File
	limit int64
	n     int64
}

func (w *enospcWriter) Write(b []byte) (int, error) {
	room := int(max(0, w.limit-w.n))
	if len(b) <= room {
		n, err := w.f.Write(b)
		w.n += int64(n)
		return n, err
	}
	n, err := w.f.Write(b[:room])
	w.n += int64(n)
	if err != nil {
		return n, err
	}
	return n, &os.PathError{Op: "write", Path: w.f.Name(), Err: syscall.ENOSPC}
}

// TestRecorderDiskFull: a write cut short by a full disk leaves the file
// at its last whole block, the Recorder counts what the file holds, and
// every later call fails with the same error, with no "file already
// closed".
func TestRecorderDiskFull(t *testing.T) {
	for _, f := range []Format{FormatPcapng, FormatPcap} {
		t.Run(f.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "full")
			var w *enospcWriter
			r, err := createRecorder(path, RecorderOptions{Format: f, BufferSize: 4096, FlushInterval: -1}, func(f *os.File) io.Writer {
				w = &enospcWriter{f: f, limit: 10050}
				return w
			})
			if err != nil {
				t.Fatal(err)
			}
			frames := testFrames(200, time.Now(), time.Microsecond)
			n, err := r.WriteFrames(frames)
			if !IsDiskFull(err) {
				t.Fatalf("WriteFrames = %d, %v; want ENOSPC", n, err)
			}
			acc, written := r.Frames()
			if err := r.Close(); !IsDiskFull(err) {
				t.Errorf("Close = %v, want the write's error", err)
			}
			if _, err := r.WriteFrames(frames); !errors.Is(err, os.ErrClosed) {
				t.Errorf("WriteFrames after Close = %v, want os.ErrClosed", err)
			}
			fr, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fr.Close()
			recs := readAll(t, fr) // fails on a partial block
			if uint64(len(recs)) != written || written == 0 || written >= acc {
				t.Errorf("file holds %d frames; Recorder says %d written of %d accepted", len(recs), written, acc)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() >= w.limit {
				t.Errorf("file is %d bytes: not cut back from the %d written", st.Size(), w.limit)
			}
		})
	}
}

// TestOutputDiskFullRotation: with -C, a full disk stops the Output once:
// later writes, Flush and Close return the write's error, not "file
// already closed".
func TestOutputDiskFullRotation(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	out, err := NewOutput(OutputConfig{Path: filepath.Join(t.TempDir(), "x"), Rotation: Rotation{Size: 1000}, Recorder: RecorderOptions{FlushInterval: -1}}, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Swap the current file's writer for a full one.
	out.rec.mu.Lock()
	out.rec.w = &enospcWriter{f: out.rec.file, limit: 0}
	out.rec.mu.Unlock()
	_, err = out.WriteFrames(testFrames(40, t0, time.Millisecond))
	if !IsDiskFull(err) {
		t.Fatalf("WriteFrames = %v, want ENOSPC", err)
	}
	for _, e := range []error{out.Flush(), out.Close(t0)} {
		if !IsDiskFull(e) || errors.Is(e, os.ErrClosed) {
			t.Errorf("after the failed write: %v, want only the ENOSPC", e)
		}
	}
	if _, w := out.Frames(); w != 0 {
		t.Errorf("%d frames written to a full disk", w)
	}
}

func TestRunConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg   RunConfig
		field string
	}{
		{RunConfig{Ring: RingConfig{SnapLen: MaxSnapLen + 1}}, "SnapLen"},
		{RunConfig{Ring: RingConfig{SnapLen: 1 << 32}}, "SnapLen"},
		{RunConfig{Ring: RingConfig{SnapLen: 13}}, "SnapLen"},
		{RunConfig{Ring: RingConfig{SnapLen: -1}}, "SnapLen"},
		{RunConfig{Ring: RingConfig{SnapLen: 96}}, ""},
		{RunConfig{Duration: -1}, "Duration"},
		{RunConfig{Output: &OutputConfig{Path: "x", Rotation: Rotation{Count: 2}}}, "Rotation.Count"},
		{RunConfig{Output: &OutputConfig{Path: "x", Rotation: Rotation{Size: -1}}}, "Rotation.Size"},
		{RunConfig{Output: &OutputConfig{Path: "-", Stream: io.Discard, Rotation: Rotation{Size: 10}}}, "Rotation"},
		{RunConfig{Output: &OutputConfig{Path: "x", Recorder: RecorderOptions{Format: 7}}}, "format"},
	} {
		err := tt.cfg.Validate()
		var ce *ConfigError
		switch {
		case tt.field == "format":
			if err == nil {
				t.Errorf("%+v: no error", tt.cfg)
			}
		case tt.field == "":
			if err != nil {
				t.Errorf("%+v: %v, want nil", tt.cfg, err)
			}
		case !errors.As(err, &ce) || ce.Field != tt.field:
			t.Errorf("%+v: %v, want a ConfigError on %s", tt.cfg, err, tt.field)
		}
	}
}

func TestStrftime(t *testing.T) {
	ts := time.Date(2026, 3, 7, 8, 9, 10, 0, time.UTC)
	for _, tt := range []struct{ in, want string }{
		{"plain.pcapng", "plain.pcapng"},
		{"c-%Y%m%d-%H%M%S.pcapng", "c-20260307-080910.pcapng"},
		{"%F_%T", "2026-03-07_08:09:10"},
		{"%j %y %e %b %a %s %% %q %", "066 26  7 Mar Sat 1772870950 % %q %"},
	} {
		if got := Strftime(tt.in, ts); got != tt.want {
			t.Errorf("Strftime(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true},
		{"1", 1000000, true},
		{"0.5", 500000, true},
		{"512k", 512 << 10, true},
		{"10M", 10 << 20, true},
		{"1g", 1 << 30, true},
		{"0", 0, false},
		{"-1", 0, false},
		{"NaN", 0, false},
		{"1e300", 0, false},
		{"k", 0, false},
		{"ten", 0, false},
	} {
		got, err := ParseSize(tt.in)
		var ce *ConfigError
		if (err == nil) != tt.ok || got != tt.want || (err != nil && !errors.As(err, &ce)) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestRunNotReady: when OnReady fails (privileges could not be dropped),
// the run ends with its error and leaves no file.
func TestRunNotReady(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "never.pcapng")
	src := &fakeSource{frames: testFrames(3, t0, time.Millisecond), per: 3}
	out, err := NewOutput(OutputConfig{Path: path}, t0, src.Stats)
	if err != nil {
		t.Fatal(err)
	}
	errDrop := errors.New("cannot drop")
	if _, err := Run(context.Background(), src, out, RunConfig{OnReady: func() error { return errDrop }}); !errors.Is(err, errDrop) {
		t.Errorf("Run = %v, want OnReady's error", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat %s: %v, want no file", path, err)
	}
	if src.reads != 0 {
		t.Errorf("%d reads before OnReady succeeded", src.reads)
	}
}
