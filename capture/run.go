package capture

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// MinSnapLen is the smallest snap length RunConfig takes: an Ethernet
// header. The largest is MaxSnapLen, tcpdump's.
const MinSnapLen = 14

// Source is what Run reads: a Ring, or anything that hands out frames in
// batches the same way.
type Source interface {
	ReadBatch(ctx context.Context, frames []Frame) (int, error)
	Stats() (Stats, error)
}

// RunConfig configures Capture and Run: the ring, which frames to keep,
// where they go, and when to stop.
type RunConfig struct {
	// Ring configures the ring Capture opens. A zero SnapLen means
	// MaxSnapLen; a zero BlockTimeout with an Output and no OnFrame means
	// FileBlockTimeout.
	Ring RingConfig
	// RingBuffer is the ring's size in bytes; 0 keeps the default.
	RingBuffer int
	// Direction keeps only the frames of that direction; 0 keeps both.
	Direction Direction
	// Count stops the run after that many frames; 0: no limit.
	Count uint64
	// Duration stops the run after that long; 0: no limit.
	Duration time.Duration
	// Output, when not nil, records the frames. Its Recorder's snap length
	// and interface name are taken from the ring.
	Output *OutputConfig
	// OnFrame, when not nil, is called with each frame kept, its VLAN tag
	// put back (Length then counts it). data is valid only during the call.
	OnFrame func(data []byte, info FrameInfo) error
	// OnReady, when not nil, is called once the ring and the first file
	// are open, before the first read: the place to drop privileges and
	// say that the capture listens.
	OnReady func() error
}

// Validate checks c before anything is opened.
func (c *RunConfig) Validate() error {
	if s := c.Ring.SnapLen; s != 0 && (s < MinSnapLen || s > MaxSnapLen) {
		return &ConfigError{Field: "SnapLen", Value: strconv.Itoa(s), Reason: "out of range [" + strconv.Itoa(MinSnapLen) + ", " + strconv.Itoa(MaxSnapLen) + "]"}
	}
	if c.RingBuffer < 0 {
		return &ConfigError{Field: "RingBuffer", Value: strconv.Itoa(c.RingBuffer), Reason: "must not be negative"}
	}
	if c.Duration < 0 {
		return &ConfigError{Field: "Duration", Value: c.Duration.String(), Reason: "must not be negative"}
	}
	switch c.Direction {
	case 0, Inbound, Outbound:
	default:
		return &ConfigError{Field: "Direction", Value: strconv.Itoa(int(c.Direction)), Reason: "not a direction"}
	}
	if c.Output != nil {
		return c.Output.Validate()
	}
	return nil
}

// FileBlockTimeout is the ring's block timeout when frames only go to a
// file: the kernel hands over a block at least this often, and Run writes
// the file out at each block it drains, so that a capture killed with
// SIGKILL loses at most about this much (tcpdump, through libpcap's
// one-second timeout and stdio's buffer, loses about a tenth of a second
// at 10,000 frames a second).
const FileBlockTimeout = 50 * time.Millisecond

// fileFlushInterval backs up the flush at each drained block, for a
// stream so steady that a block is never seen to end.
const fileFlushInterval = 250 * time.Millisecond

// Result is what a run did.
type Result struct {
	// Captured counts the frames kept: they passed the filter and the
	// direction, and were printed or handed to the Output.
	Captured uint64
	// Written counts the frames the files hold; fewer than Captured only
	// when a write failed (a full disk).
	Written uint64
	// Stats are the kernel's counters at the end; StatsErr says why not.
	Stats    Stats
	StatsErr error
	// Files names the files begun, in order.
	Files []string
}

// Capture validates cfg, opens a ring on ifname and the Output, calls
// OnReady, and runs until Count frames, Duration, the end of ctx, the
// interface's removal (an error wrapping ErrInterfaceGone), a failed write
// (IsDiskFull tells a full disk) or the rotation's last file. The files
// are then complete: a statistics block, and every frame kept, or after a
// failed write every whole block that reached the disk. Nothing is opened
// or created when cfg is invalid or the interface unusable.
func Capture(ctx context.Context, ifname string, cfg RunConfig) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	rc := cfg.Ring
	if rc.SnapLen == 0 {
		rc.SnapLen = MaxSnapLen
	}
	toFile := cfg.Output != nil && cfg.OnFrame == nil
	if toFile && rc.BlockTimeout == 0 {
		rc.BlockTimeout = FileBlockTimeout
	}
	if cfg.RingBuffer > 0 {
		// 1 MiB blocks: smaller ones would leave less in the block the
		// kernel still fills when a burst ends in a SIGKILL, but they cost
		// a wake-up each (256 KiB blocks: a quarter more CPU per frame at
		// line rate in bench-capture).
		rc.BlockSize = DefaultRingBlockSize
		rc.NumBlocks = max(2, cfg.RingBuffer/rc.BlockSize)
	}
	ring, err := NewRing(ifname, rc)
	if err != nil {
		return Result{}, err
	}
	defer ring.Close()
	var out *Output
	if cfg.Output != nil {
		oc := *cfg.Output
		oc.Recorder.SnapLen = rc.SnapLen
		if oc.Recorder.Interface == "" {
			oc.Recorder.Interface = ifname
		}
		if oc.Recorder.FlushInterval == 0 {
			oc.Recorder.FlushInterval = fileFlushInterval
		}
		if out, err = NewOutput(oc, time.Now(), ring.Stats); err != nil {
			return Result{}, err
		}
	}
	return Run(ctx, ring, out, cfg)
}

// runBatch is how many frames Run takes from the source at a time.
const runBatch = 256

// Run reads src and hands the frames cfg keeps to out (which may be nil)
// and cfg.OnFrame, as Capture describes, then closes out. It ignores
// cfg.Ring, cfg.RingBuffer and cfg.Output. Nothing is allocated per frame.
func Run(ctx context.Context, src Source, out *Output, cfg RunConfig) (res Result, err error) {
	start := time.Now()
	defer func() {
		res.Stats, res.StatsErr = src.Stats()
		if out != nil {
			// Close returns the write error that stopped the Output again.
			if cerr := out.Close(time.Now()); cerr != nil && cerr != err {
				err = errors.Join(err, cerr)
			}
			_, res.Written = out.Frames()
			res.Files = out.Files()
		}
		if errors.Is(err, ErrRotationDone) {
			err = nil
		}
	}()
	if cfg.OnReady != nil {
		if err := cfg.OnReady(); err != nil {
			if out != nil {
				out.discard()
				out = nil
			}
			return res, err
		}
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(cfg.Duration))
		defer cancel()
	}
	frames := make([]Frame, runBatch)
	// buf holds a frame whose VLAN tag the kernel stripped, with the tag
	// put back, for OnFrame (the Recorder puts it back itself).
	var buf []byte
	if cfg.OnFrame != nil {
		buf = make([]byte, 0, MaxSnapLen+4)
	}
	for cfg.Count == 0 || res.Captured < cfg.Count {
		want := len(frames)
		if cfg.Count > 0 {
			want = int(min(uint64(want), cfg.Count-res.Captured))
		}
		got, err := src.ReadBatch(ctx, frames[:want])
		if err != nil {
			if ctx.Err() != nil && !errors.Is(err, ErrInterfaceGone) {
				return res, nil
			}
			return res, err
		}
		batch := frames[:got]
		if cfg.Direction != 0 {
			k := 0
			for i := range batch {
				if batch[i].Info.Dir == cfg.Direction {
					batch[k] = batch[i]
					k++
				}
			}
			batch = batch[:k]
		}
		res.Captured += uint64(len(batch))
		if out != nil && len(batch) > 0 {
			if n, err := out.WriteFrames(batch); err != nil {
				if errors.Is(err, ErrRotationDone) {
					// The frames after the last file are not captured.
					res.Captured -= uint64(len(batch) - n)
				}
				return res, err
			}
		}
		if out != nil && got < want {
			// The ring block is drained: write it out, so that a kill
			// loses no more than the block the kernel still fills.
			if err := out.Flush(); err != nil {
				return res, err
			}
		}
		if cfg.OnFrame != nil {
			for i := range batch {
				data, info := batch[i].Data, batch[i].Info
				if info.VLAN && len(data) <= cap(buf)-4 {
					buf = buf[:len(data)]
					copy(buf, data)
					data = buf[:InsertVLAN(buf[:cap(buf)], len(data), info)]
					info.Length += len(data) - len(batch[i].Data)
				}
				if err := cfg.OnFrame(data, info); err != nil {
					return res, err
				}
			}
		}
	}
	return res, nil
}
