package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rawlab/rawlab/capture"
)

// rotation says when a capture moves on to a new file, as tcpdump's -C, -W
// and -G do (tcpdump(8)).
type rotation struct {
	size   int64         // -C: start a new file once this many bytes are written (0: never)
	count  int           // -W: at most this many files (a ring with -C; stop after them with -G alone)
	period time.Duration // -G: start a new file every period; the name goes through strftime
}

func (r rotation) active() bool { return r.size > 0 || r.period > 0 }

// rotatingRecorder writes records to a sequence of capture files.
type rotatingRecorder struct {
	pattern string
	rot     rotation
	opt     capture.RecorderOptions

	rec     *capture.Recorder
	file    *os.File
	cw      *countingWriter
	size    int64 // bytes in the current file, counting what is still buffered
	packets int   // records in the current file
	index   int   // number of the current file within the -C sequence
	files   int   // files opened so far
	started time.Time
	names   []string
}

// errRotationDone ends a capture with -G and -W once its last file is full,
// as tcpdump does.
var errRotationDone = errors.New("capture: last file of the rotation is complete")

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newRotatingRecorder(pattern string, rot rotation, opt capture.RecorderOptions, now time.Time) (*rotatingRecorder, error) {
	r := &rotatingRecorder{pattern: pattern, rot: rot, opt: opt}
	if err := r.open(now); err != nil {
		return nil, err
	}
	return r, nil
}

// name returns the current file's name: strftime on the pattern with -G, and
// a number appended with -C (padded to -W's width in a ring, as tcpdump does).
func (r *rotatingRecorder) name(now time.Time) string {
	name := r.pattern
	if r.rot.period > 0 {
		name = strftime(name, now)
	}
	if r.rot.size > 0 {
		switch {
		case r.rot.count > 0:
			width := len(strconv.Itoa(r.rot.count - 1))
			name += fmt.Sprintf("%0*d", width, r.index)
		case r.index > 0:
			name += strconv.Itoa(r.index)
		}
	}
	return name
}

func (r *rotatingRecorder) open(now time.Time) error {
	name := r.name(now)
	f, err := os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	cw := &countingWriter{w: f}
	rec, err := capture.NewRecorder(cw, r.opt)
	if err == nil {
		err = rec.Flush()
	}
	if err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	r.rec, r.file, r.cw, r.size, r.packets, r.started = rec, f, cw, cw.n, 0, now
	r.files++
	r.names = append(r.names, name)
	return nil
}

func (r *rotatingRecorder) closeCurrent() error {
	err := r.rec.Close()
	return errors.Join(err, r.file.Close())
}

// blockSize is the size on disk of one record: a pcapng Enhanced Packet
// Block (28-byte header, data padded to 4, epb_flags and end of options
// when a direction is known, trailing length) or a pcap record header and
// data.
func (r *rotatingRecorder) blockSize(rec *capture.Record) int64 {
	return r.recordSize(len(rec.Data), rec.Dir, rec.Comment)
}

// recordSize is blockSize for n bytes of frame data.
func (r *rotatingRecorder) recordSize(n int, dir capture.Direction, comment string) int64 {
	size := int64(n)
	if r.opt.Format == capture.FormatPcap {
		return 16 + size
	}
	size = 32 + (size+3)&^3
	if dir != 0 {
		size += 12
	}
	if comment != "" {
		size += 4 + (int64(len(comment))+3)&^3
		if dir == 0 {
			size += 4
		}
	}
	return size
}

// step accounts for one record of bs bytes at t (zero: now), moving to
// the next file first when -C or -G says so. Before the current file is
// closed, or errRotationDone returned, it calls pending, which writes what
// the caller still holds for the current file.
func (r *rotatingRecorder) step(t time.Time, bs int64, pending func() error) error {
	if t.IsZero() {
		t = time.Now()
	}
	next := false
	if r.rot.period > 0 && t.Sub(r.started) >= r.rot.period {
		if r.rot.count > 0 && r.files >= r.rot.count && r.rot.size == 0 {
			if err := pending(); err != nil {
				return err
			}
			return errRotationDone
		}
		next = true
		r.index = 0
	}
	if r.rot.size > 0 && r.packets > 0 && r.size+bs > r.rot.size {
		next = true
		r.index++
		if r.rot.count > 0 && r.index >= r.rot.count {
			r.index = 0
		}
	}
	if next {
		if err := pending(); err != nil {
			return err
		}
		if err := r.closeCurrent(); err != nil {
			return err
		}
		if err := r.open(t); err != nil {
			return err
		}
	}
	r.size += bs
	r.packets++
	return nil
}

func nothingPending() error { return nil }

// Write records one frame, moving to the next file first when -C or -G says so.
func (r *rotatingRecorder) Write(rec capture.Record) error {
	if err := r.step(rec.Time, r.blockSize(&rec), nothingPending); err != nil {
		return err
	}
	return r.rec.Write(rec)
}

// WriteFrames records frames as Recorder.WriteFrames does, moving to the
// next file between two frames when -C or -G says so. It returns how many
// frames it wrote.
func (r *rotatingRecorder) WriteFrames(frames []capture.Frame) (int, error) {
	written, start := 0, 0
	var i int
	pending := func() error {
		n, err := r.rec.WriteFrames(frames[start:i])
		written += n
		start = i
		return err
	}
	snap := r.opt.SnapLen
	if snap <= 0 {
		snap = capture.DefaultSnapLen
	}
	for i = range frames {
		f := &frames[i]
		n := len(f.Data)
		if f.Info.VLAN && n >= 12 {
			n += 4
		}
		if err := r.step(f.Info.Time, r.recordSize(min(n, snap), f.Info.Dir, ""), pending); err != nil {
			return written, err
		}
	}
	i = len(frames)
	err := pending()
	return written, err
}

// WriteStats writes the interface statistics to the current file.
func (r *rotatingRecorder) WriteStats(start, end time.Time, s capture.Stats) error {
	return r.rec.WriteStats(start, end, s)
}

// Close flushes and closes the current file.
func (r *rotatingRecorder) Close() error { return r.closeCurrent() }

// strftime formats t with the conversions of strftime(3) that capture file
// names use: %Y %y %m %d %e %H %M %S %j %s %b %a %F %T %%. Others stay as they are.
func strftime(pattern string, t time.Time) string {
	if !strings.Contains(pattern, "%") {
		return pattern
	}
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' || i+1 == len(pattern) {
			b.WriteByte(c)
			continue
		}
		i++
		switch pattern[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 's':
			fmt.Fprintf(&b, "%d", t.Unix())
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(pattern[i])
		}
	}
	return b.String()
}
