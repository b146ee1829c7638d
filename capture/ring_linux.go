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

// ring is Ring on Linux: a socket with a TPACKET_V3 ring (openSocket),
// walked by a ringWalker.
type ring struct {
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
	capped    bool        // the socket's deadline is downDeadline's, not lastCtx's
}

// newRing opens the socket and ring of a Ring on ifi; cfg has its
// defaults filled in.
func newRing(ifi *net.Interface, cfg RingConfig) (*ring, error) {
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
		return nil, err
	}
	r := &ring{s: s, ifi: ifi, snaplen: cfg.SnapLen}
	r.w.init(s)
	return r, nil
}

// iface implements Ring.Interface.
func (r *ring) iface() *net.Interface { return r.ifi }

// setContext makes ctx the context ReadBatch waits under: its deadline
// becomes the socket's read deadline, and its cancellation (one AfterFunc
// per context, not per read) moves that deadline into the past to wake a
// waiting read. No timer is armed per wait, which would wake the poller's
// thread each time. r.mu is held.
func (r *ring) setContext(ctx context.Context) {
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

// readFrame implements Ring.ReadFrame.
func (r *ring) readFrame(ctx context.Context) ([]byte, FrameInfo, error) {
	var f [1]Frame
	if _, err := r.readBatch(ctx, f[:]); err != nil {
		return nil, FrameInfo{}, err
	}
	return f[0].Data, f[0].Info, nil
}

// readBatch implements Ring.ReadBatch.
func (r *ring) readBatch(ctx context.Context, frames []Frame) (int, error) {
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
	if err := r.s.checkGone("read"); err != nil {
		return 0, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, err)
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
			if err := r.recheck(ctx); err != nil {
				return 0, err
			}
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
				return 0, fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, r.s.waitError(err))
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

// recheck runs before each wait. Once a read has reported ENETDOWN, it
// fails if the interface has been deleted since, and cuts the wait to
// downRecheck so that a deletion while waiting is seen (checkGone); once
// the interface is up again, it puts back the context's deadline.
func (r *ring) recheck(ctx context.Context) error {
	if !r.s.down.Load() && !r.capped {
		return nil
	}
	if err := r.s.checkGone("read"); err != nil {
		return fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, err)
	}
	ctxDeadline, _ := ctx.Deadline()
	d, capped := r.s.downDeadline(ctxDeadline)
	if capped || r.capped {
		r.s.f.SetReadDeadline(d)
		r.capped = capped
		if r.lastDone != nil {
			select {
			case <-r.lastDone:
				// Cancelled meanwhile: its AfterFunc's past deadline may
				// just have been overwritten.
				r.s.f.SetReadDeadline(time.Unix(1, 0))
			default:
			}
		}
	}
	return nil
}

func (r *ring) closedErr() error {
	return fmt.Errorf("capture: read ring on %s: %w", r.ifi.Name, r.s.opError("read", net.ErrClosed))
}

// stats implements Ring.Stats.
func (r *ring) stats() (Stats, error) { return r.s.readStats() }

// close implements Ring.Close.
func (r *ring) close() error {
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
