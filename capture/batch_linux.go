//go:build linux

package capture

import "context"

// WriteFrames sends frames in order and returns how many went out.
//
// This is the portable-semantics version (one sendto per frame); the
// sendmmsg(2) version replaces it.
func (c *Conn) WriteFrames(ctx context.Context, frames [][]byte) (int, error) {
	for i, f := range frames {
		if err := c.WriteFrame(ctx, f); err != nil {
			return i, err
		}
	}
	return len(frames), nil
}

// ReadFrames fills msgs[:n] with received frames: at least one, blocking
// until one arrives or ctx is done (or the read deadline passes; the error
// then reports Timeout). Frames already queued are returned without
// blocking.
//
// This version reads one frame per call; the recvmmsg(2) and ring versions
// replace it.
func (c *Conn) ReadFrames(ctx context.Context, msgs []Msg) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	n, info, err := c.ReadFrame(ctx, msgs[0].Buf)
	if err != nil {
		return 0, err
	}
	msgs[0].N, msgs[0].Info = n, info
	return 1, nil
}
