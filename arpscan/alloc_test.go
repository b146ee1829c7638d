package arpscan

import (
	"context"

	"encoding/binary"
	"github.com/rawlab/rawlab/capture"
	"slices"
	"testing"
	"time"
)

// nopConn discards frames and never receives.
type nopConn struct{}

func (nopConn) WriteFrames(_ context.Context, f [][]byte) (int, error) { return len(f), nil }
func (nopConn) ReadFrames(ctx context.Context, _ []Msg) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}
func (nopConn) Close() error { return nil }

func benchScanner(b *testing.B, spec string) *Scanner {
	ts, err := ParseTargets([]string{spec}, nil, TargetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewScanner(nopConn{}, ts, Config{SrcMAC: scannerMAC, SenderIP: mustAddr("198.18.0.1")})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkSendBatch measures the send path for a batch of 64 requests:
// patching each frame's target address, stamping the tries and queueing the
// retries. It must not allocate.
func BenchmarkSendBatch(b *testing.B) {
	s := benchScanner(b, "198.18.0.0/26")
	frames := make([][]byte, 64)
	idx := make([]int32, 64)
	for i := range frames {
		frames[i] = slices.Clone(s.tmpl)
		idx[i] = int32(i)
	}
	b.ReportAllocs()
	b.SetBytes(int64(64 * len(s.tmpl)))
	for b.Loop() {
		if _, err := s.sendBatch(context.Background(), frames, idx); err != nil {
			b.Fatal(err)
		}
		for k := range s.queues {
			s.queues[k].head, s.queues[k].size = 0, 0
		}
		for i := range s.state {
			s.state[i].Store(0)
		}
	}
}

// BenchmarkReceive measures the receive path per reply: decoding, finding
// the target, recording the answer (first replies, then repeats). It must
// not allocate.
func BenchmarkReceive(b *testing.B) {
	s := benchScanner(b, "198.19.0.0/16")
	reply := Packet{EthDst: [6]byte(scannerMAC), EthSrc: macN(1), Op: opReply, SHA: macN(1),
		THA: [6]byte(scannerMAC), TPA: [4]byte{198, 18, 0, 1}}
	m := Msg{Buf: AppendFrame(make([]byte, 0, 128), &reply), Info: capture.FrameInfo{Time: time.Now()}}
	m.N = len(m.Buf)
	var p Packet
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		binary.BigEndian.PutUint32(m.Buf[28:32], s.t.addrs[i&0xffff]) // SPA
		s.handle(&m, &p)
		i++
	}
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	for name, fn := range map[string]func(*testing.B){"send": BenchmarkSendBatch, "receive": BenchmarkReceive} {
		r := testing.Benchmark(fn)
		if a := r.AllocsPerOp(); a != 0 {
			t.Errorf("%s path: %d allocations per op, want 0", name, a)
		}
	}
}
