package send

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/rawlab/rawlab/capture"
)

// fakeConn takes every frame and returns queued replies, then blocks until
// the context ends.
type fakeConn struct {
	sent, calls int
	last        []byte
	failAt      int // WriteFrames fails once this many frames went out (0: never)
	replies     [][]byte
	dirs        []capture.Direction
}

func (f *fakeConn) WriteFrames(ctx context.Context, frames [][]byte) (int, error) {
	f.calls++
	for i, fr := range frames {
		if f.failAt > 0 && f.sent == f.failAt {
			return i, errors.New("no buffer space")
		}
		f.sent++
		f.last = fr
	}
	return len(frames), nil
}

func (f *fakeConn) ReadFrame(ctx context.Context, buf []byte) (int, capture.FrameInfo, error) {
	if len(f.replies) == 0 {
		<-ctx.Done()
		return 0, capture.FrameInfo{}, ctx.Err()
	}
	n := copy(buf, f.replies[0])
	info := capture.FrameInfo{Dir: f.dirs[0], Length: n}
	f.replies, f.dirs = f.replies[1:], f.dirs[1:]
	return n, info, nil
}

func build(b []byte, i int) []byte {
	b = append(b, make([]byte, 60)...)
	b[0] = byte(i)
	return b
}

// TestMillionFramesStream sends a million frames and checks that memory
// does not grow with the count: frames are built into reused buffers.
func TestMillionFramesStream(t *testing.T) {
	c := &fakeConn{}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := Run(context.Background(), c, Config{Count: 1_000_000, Build: build})
	runtime.ReadMemStats(&after)
	if err != nil || r.Sent != 1_000_000 || c.sent != 1_000_000 {
		t.Fatalf("sent %d (conn %d), %v", r.Sent, c.sent, err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("allocated %d bytes for a million frames, want under 1 MiB (a batch of buffers)", got)
	}
	if c.calls != (1_000_000+63)/64 {
		t.Errorf("%d WriteFrames calls, want %d (batches of 64)", c.calls, (1_000_000+63)/64)
	}
	if c.last[0] != byte(999_999%256) {
		t.Errorf("last frame built for index %d", c.last[0])
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{Count: 0, Build: build},
		{Count: -1, Build: build},
		{Count: 9223372036854775807, Build: build},
		{Count: 1, Build: build, Rate: -1},
		{Count: 1, Build: build, Wait: -time.Second},
		{Count: 1},
	} {
		if _, err := Run(context.Background(), &fakeConn{}, c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

func TestWaitMatches(t *testing.T) {
	c := &fakeConn{
		replies: [][]byte{{1}, {2}, {1}, {3}},
		dirs:    []capture.Direction{capture.Inbound, capture.Inbound, capture.Outbound, capture.Inbound},
	}
	var got []byte
	r, err := Run(context.Background(), c, Config{Count: 2, Build: build, Wait: 50 * time.Millisecond,
		Match: func(f []byte) bool { return f[0] != 2 },
		Reply: func(f []byte, _ capture.FrameInfo) error { got = append(got, f[0]); return nil }})
	if err != nil || r.Sent != 2 || r.Replies != 2 || string(got) != "\x01\x03" {
		t.Errorf("result %+v, replies %v, %v; want 2 sent, replies 1 and 3 (the outbound copy skipped)", r, got, err)
	}
}

func TestPacedAndErrors(t *testing.T) {
	var at []time.Time
	r, err := Run(context.Background(), &fakeConn{}, Config{Count: 3, Build: build, Rate: 100,
		Sent: func(i int, t time.Time, _ []byte) error { at = append(at, t); return nil }})
	if err != nil || r.Sent != 3 || len(at) != 3 {
		t.Fatalf("%+v %v", r, err)
	}
	if d := at[2].Sub(at[0]); d < 15*time.Millisecond {
		t.Errorf("3 frames at 100/s took %v, want about 20ms", d)
	}
	r, err = Run(context.Background(), &fakeConn{failAt: 70}, Config{Count: 100, Build: build})
	if err == nil || r.Sent != 70 {
		t.Errorf("failing socket: sent %d, %v; want 70 and an error", r.Sent, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, &fakeConn{}, Config{Count: 5, Build: build, Rate: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
