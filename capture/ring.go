package capture

import (
	"context"
	"fmt"
	"net"
)

// Ring is a high-rate capture socket: a TPACKET_V3 ring shared with the
// kernel, which capture sets up itself and walks, and from which frames
// are read without copying or allocating. One goroutine reads it; Stats
// and Close may be called from others.
type Ring struct{ r *ring }

// NewRing opens a TPACKET_V3 capture ring on the named interface. The
// interface is checked first as LookupInterface does; without CAP_NET_RAW
// the error wraps os.ErrPermission. The filter (its returns capped to the
// snap length) is attached before the socket is bound, so no frame it
// rejects is ever queued.
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
	r, err := newRing(ifi, cfg)
	if err != nil {
		return nil, fmt.Errorf("capture: open ring on %s: %w", ifname, err)
	}
	return &Ring{r: r}, nil
}

// Interface returns the interface the ring captures on.
func (r *Ring) Interface() *net.Interface { return r.r.iface() }

// ReadFrame returns the next frame. The slice points into the ring and is
// valid until the next ReadFrame, ReadBatch or Close: copy what must
// outlive it. It allocates nothing. Its errors are those of ReadBatch.
func (r *Ring) ReadFrame(ctx context.Context) ([]byte, FrameInfo, error) {
	return r.r.readFrame(ctx)
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
	return r.r.readBatch(ctx, frames)
}

// Stats returns the ring's kernel counters (PACKET_STATISTICS, struct
// tpacket_stats_v3), cumulative since NewRing. After Close it returns the
// counters as they were when the ring was closed.
func (r *Ring) Stats() (Stats, error) { return r.r.stats() }

// Close closes the socket and, once the ReadBatch in progress (if any)
// has returned, unmaps the ring. Calling it again does nothing.
func (r *Ring) Close() error { return r.r.close() }
