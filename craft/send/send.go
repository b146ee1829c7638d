// Package send sends crafted frames and collects the replies that match
// them: the send, pace, wait and match loop of `rawlab craft --send`, over
// an injected connection so that it runs in tests without privileges.
//
// Frames are built one batch at a time into buffers that are reused, so
// that sending a million frames takes the memory of one batch (issue 12
// item 10), and each batch goes out in one WriteFrames call (sendmmsg(2)
// on a capture.Conn).
package send

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/rawlab/rawlab/capture"
)

// Conn is what Run needs of a socket; *capture.Conn has these methods.
type Conn interface {
	WriteFrames(ctx context.Context, frames [][]byte) (int, error)
	ReadFrame(ctx context.Context, buf []byte) (int, capture.FrameInfo, error)
}

// Config says what to send and how.
type Config struct {
	// Count is how many frames to send, at least 1.
	Count int
	// Build appends frame i (0 <= i < Count) to b, which has length 0 and
	// is reused from batch to batch, and returns it.
	Build func(b []byte, i int) []byte
	// Rate bounds the frames per second; 0 sends as fast as the socket
	// takes them, in batches of Batch.
	Rate float64
	// Batch is how many frames one WriteFrames call carries; 0 means 64.
	// Paced sending (Rate > 0) sends one frame per tick.
	Batch int
	// Wait is how long to read replies after the last frame; 0 reads none.
	Wait time.Duration
	// Match reports whether a received frame is a reply to what was sent.
	// Outbound frames are never offered to it. nil matches nothing.
	Match func(frame []byte) bool
	// Sent, if set, is called for each frame once its batch has gone out.
	Sent func(i int, at time.Time, frame []byte) error
	// Reply, if set, is called for each matching frame.
	Reply func(frame []byte, info capture.FrameInfo) error
}

// Result counts what Run did.
type Result struct {
	Sent    int // frames the socket took
	Replies int // received frames that matched
}

// MaxCount bounds Config.Count: a day at 10 million frames per second.
const MaxCount = 1 << 40

// Validate checks c without sending anything.
func (c *Config) Validate() error {
	switch {
	case c.Count < 1 || c.Count > MaxCount:
		return fmt.Errorf("send: count %d: want 1 to %d", c.Count, int64(MaxCount))
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("send: rate %v: want a finite number of frames per second, 0 or more", c.Rate)
	case c.Batch < 0:
		return fmt.Errorf("send: batch %d: want 0 or more", c.Batch)
	case c.Wait < 0:
		return fmt.Errorf("send: wait %v: want 0 or more", c.Wait)
	case c.Build == nil:
		return errors.New("send: no frame builder")
	}
	return nil
}

// maxFrame is the capacity each reused buffer starts with: a frame of the
// largest Ethernet MTU with tags. Bigger frames grow their buffer once.
const maxFrame = 1536

// Run sends c.Count frames on conn, then reads replies for c.Wait. It
// returns ctx's error (wrapped) if ctx ends first, with what was done.
func Run(ctx context.Context, conn Conn, c Config) (Result, error) {
	var r Result
	if err := c.Validate(); err != nil {
		return r, err
	}
	batch := c.Batch
	if batch == 0 {
		batch = 64
	}
	var tick *time.Ticker
	if c.Rate > 0 {
		batch = 1
		tick = time.NewTicker(time.Duration(max(float64(time.Second)/c.Rate, 1)))
		defer tick.Stop()
	}
	batch = min(batch, c.Count)
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, 0, maxFrame)
	}
	frames := make([][]byte, 0, batch)
	for next := 0; next < c.Count; {
		if tick != nil && next > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return r, fmt.Errorf("send: %w", ctx.Err())
			}
		}
		frames = frames[:0]
		for j := 0; j < batch && next+j < c.Count; j++ {
			bufs[j] = c.Build(bufs[j][:0], next+j)
			frames = append(frames, bufs[j])
		}
		n, err := conn.WriteFrames(ctx, frames)
		at := time.Now()
		r.Sent += n
		if c.Sent != nil {
			for j := 0; j < n; j++ {
				if err := c.Sent(next+j, at, frames[j]); err != nil {
					return r, err
				}
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return r, fmt.Errorf("send: %w", ctx.Err())
			}
			return r, fmt.Errorf("send: frame %d: %w", next+n, err)
		}
		next += n
	}
	if c.Wait <= 0 {
		return r, nil
	}
	return r, wait(ctx, conn, &c, &r)
}

// wait reads frames until c.Wait has passed, counting and reporting those
// that match.
func wait(ctx context.Context, conn Conn, c *Config, r *Result) error {
	wctx, cancel := context.WithTimeout(ctx, c.Wait)
	defer cancel()
	buf := make([]byte, 65536)
	for {
		n, info, err := conn.ReadFrame(wctx, buf)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("send: %w", ctx.Err())
			}
			// The socket's deadline may fire just before the context's.
			if wctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return fmt.Errorf("send: receive: %w", err)
		}
		frame := buf[:n]
		if info.Dir == capture.Outbound || c.Match == nil || !c.Match(frame) {
			continue
		}
		r.Replies++
		if c.Reply != nil {
			if err := c.Reply(frame, info); err != nil {
				return err
			}
		}
	}
}
