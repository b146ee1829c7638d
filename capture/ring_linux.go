//go:build linux

package capture

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Ring is a high-rate capture socket: a TPACKET_V3 ring shared with the
// kernel, which capture sets up itself (openSocket) and walks
// (ringWalker), and from which frames are read without copying or
// allocating. One goroutine reads it; Stats and Close may be called from
// others.
type Ring struct {
	s       *socket
	ifi     *net.Interface
	snaplen int

	mu     sync.Mutex // held by ReadBatch; Close takes it to unmap the ring
	closed bool
	w      ringWalker

	// The last context ReadBatch saw, and its Done channel.
	lastCtx   context.Context
	lastDone  <-chan struct{}
	stopAfter func() bool // unregisters the AfterFunc of lastCtx
}

// NewRing opens a TPACKET_V3 capture ring on the named interface. The
// interface is checked first as LookupInterface does; without CAP_NET_RAW
// the error wraps os.ErrPermission. The filter (capped to the snap length)
// is attached before the socket is bound, so no frame it rejects is ever
// queued.
func NewRing(ifname string, cfg RingConfig) (*Ring, error) {
	ifi, err := LookupInterface(ifname)
	if err != nil {
		return nil, err
	}
	if cfg.SnapLen <= 0 {
		cfg.SnapLen = DefaultSnapLen
	}
	if cfg.BlockSize <= 0 {
		cfg.BlockSize = DefaultRingBlockSize
	}
	if cfg.NumBlocks <= 0 {
		cfg.NumBlocks = DefaultRingBlocks
	}
	if cfg.BlockTimeout <= 0 {
		cfg.BlockTimeout = DefaultRingBlockTimeout
	}
	// No filter and the default snap length: nothing to attach, which
	// spares the kernel a filter run per frame.
	var filter = cfg.Filter
	if len(cfg.Filter) > 0 || cfg.SnapLen < DefaultSnapLen {
		filter = ApplySnapLen(cfg.Filter, cfg.SnapLen)
	}
	s, err := openSocket(ifi, sockConfig{
		filter:         filter,
		promisc:        cfg.Promiscuous,
		ignoreOutgoing: cfg.IgnoreOutgoing,
		ring:           ringLayout{blockSize: cfg.BlockSize, numBlocks: cfg.NumBlocks, blockTimeout: cfg.BlockTimeout},
	})
	if err != nil {
		return nil, fmt.Errorf("capture: open ring on %s: %w", ifname, err)
	}
	r := &Ring{s: s, ifi: ifi, snaplen: cfg.SnapLen}
	r.w.init(s)
	return r, nil
}

// Interface returns the interface the ring captures on.
func (r *Ring) Interface() *net.Interface { return r.ifi }

// setContext makes ctx the context ReadBatch waits under: its deadline
// becomes the socket's read deadline, and its cancellation (one AfterFunc
// per context, not per read) moves that deadline into the past to wake a
// waiting read. No timer is armed per wait, which would wake the poller's
// thread each time. r.mu is held.
func (r *Ring) setContext(ctx context.Context) {
	if r.stopAfter != nil {
		r.stopAfter()
		r.stopAfter = nil
	}
	r.lastCtx, r.lastDone = ctx, ctx.Done()
	d, _ := ctx.Deadline()
	r.s.f.SetReadDeadline(d)
	if r.lastDone != nil {
		f := r.s.f
		r.stopAfter = context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	}
}

// ReadFrame returns the next frame. The slice points into the ring and is
// valid until the next ReadFrame, ReadBatch or Close: copy what must
// outlive it. It allocates nothing. Its errors are those of ReadBatch.
func (r *Ring) ReadFrame(ctx context.Context) ([]byte, FrameInfo, error) {
	var f [1]Frame
	if _, err := r.ReadBatch(ctx, f[:]); err != nil {
		return nil, FrameInfo{}, err
	}
	return f[0].Data, f[0].Info, nil
}

// ReadBatch waits for a frame, then fills frames with as many frames as
// are ready in the ring block being read (at most len(frames), at least
// one) and returns how many. The frames' data point into the ring and stay
// valid until the next ReadBatch, ReadFrame or Close; the block is handed
// back to the kernel then. A frame not read stays in the ring for the next
// call. It allocates nothing.
//
// It returns an error wrapping ctx.Err() once the context is done, one
// wrapping net.ErrClosed after Close, and a *net.OpError wrapping
// ErrInterfaceGone when the interface goes away (or down: the kernel
// reports ENETDOWN either way).
func (r *Ring) ReadBatch(ctx context.Context, frames []Frame) (int, error) {
	if len(frames) == 0 {
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.s.closing.Load() {
		return 0, r.closedErr()
	}
	if !sameContext(ctx, r.lastCtx) {
		r.setContext(ctx)
	}
	done := r.lastDone
	for {
		if done != nil {
			select {
			case <-done:
				return 0, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, ctx.Err())
			default:
			}
		}
		if !r.w.advance() {
			err := r.w.wait(r.s)
			if r.s.closing.Load() {
				return 0, r.closedErr()
			}
			if e := r.w.errno; e != 0 {
				r.w.errno = 0
				return 0, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, r.s.sysError("read", "poll", e))
			}
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
						return 0, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, context.DeadlineExceeded)
					}
					continue // cancelled: seen at the top of the loop
				}
				if r.s.unbound() {
					err = fmt.Errorf("%w: %w", ErrInterfaceGone, err)
				}
				return 0, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, r.s.opError("read", err))
			}
			continue
		}
		n := 0
		for n < len(frames) && r.w.left > 0 {
			f := &frames[n]
			if r.w.next(f) {
				if len(f.Data) > r.snaplen {
					f.Data = f.Data[:r.snaplen]
				}
				n++
			}
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (r *Ring) closedErr() error {
	return fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, r.s.opError("read", net.ErrClosed))
}

// Stats returns the ring's kernel counters (PACKET_STATISTICS, struct
// tpacket_stats_v3), cumulative since NewRing. After Close it returns the
// counters as they were when the ring was closed.
func (r *Ring) Stats() (Stats, error) { return r.s.readStats() }

// Close closes the socket and, once the ReadBatch in progress (if any)
// has returned, unmaps the ring. Calling it again does nothing.
func (r *Ring) Close() error {
	r.s.closing.Store(true)
	// Wake a ReadBatch waiting in the poller.
	r.s.f.SetReadDeadline(time.Unix(1, 0))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.stopAfter != nil {
		r.stopAfter()
		r.stopAfter = nil
	}
	r.lastCtx, r.lastDone = nil, nil
	err := r.s.close()
	r.s.closeRing()
	return err
}
