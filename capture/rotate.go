package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rawlab/rawlab/internal/outfile"
)

// Rotation says when a capture moves on to a new file, as tcpdump's -C, -G
// and -W do (tcpdump(8)):
//
//   - Period (-G) starts a new file, named by strftime(3) on the pattern at
//     the time it starts, at the first frame once Period has passed.
//   - Size (-C) starts a new file within the current one's period once the
//     next frame would take it past Size bytes; the file's number (1, 2,
//     ...; with Count, 0 to Count-1 padded to Count-1's width) is appended
//     to the name. The number starts again at 0 in each Period's file.
//   - Count (-W) with Size keeps a ring of Count files per name, the oldest
//     overwritten; with Period alone the capture ends once Count files are
//     complete.
type Rotation struct {
	Size   int64
	Period time.Duration
	Count  int
}

// Active reports whether r rotates at all.
func (r Rotation) Active() bool { return r.Size > 0 || r.Period > 0 }

// Validate checks r.
func (r Rotation) Validate() error {
	switch {
	case r.Size < 0:
		return &ConfigError{Field: "Rotation.Size", Value: strconv.FormatInt(r.Size, 10), Reason: "must not be negative"}
	case r.Period < 0:
		return &ConfigError{Field: "Rotation.Period", Value: r.Period.String(), Reason: "must not be negative"}
	case r.Count < 0:
		return &ConfigError{Field: "Rotation.Count", Value: strconv.Itoa(r.Count), Reason: "must not be negative"}
	case r.Count > 0 && !r.Active():
		return &ConfigError{Field: "Rotation.Count", Value: strconv.Itoa(r.Count), Reason: "needs a size or a period to rotate on"}
	case r.Period > 0 && r.Period < time.Second:
		return &ConfigError{Field: "Rotation.Period", Value: r.Period.String(), Reason: "must be at least one second"}
	}
	return nil
}

// ParseSize parses a file size as tcpdump's -C takes it: millions of bytes
// ("1.5"), or a number with a k, m or g suffix (powers of 1024). "" is 0.
func ParseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult, num := int64(1000000), s
	if m, ok := map[string]int64{"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[strings.ToLower(s[len(s)-1:])]; ok {
		mult, num = m, s[:len(s)-1]
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || !(n > 0) || n*float64(mult) > 1<<62 {
		return 0, &ConfigError{Field: "Rotation.Size", Value: strconv.Quote(s), Reason: "want a positive number of millions of bytes, or one with a k, m or g suffix"}
	}
	return max(1, int64(n*float64(mult))), nil
}

// ConfigError is a bad value in a configuration. Field names the field
// (RunConfig.SnapLen, Rotation.Size, ...), so that a command can name its
// own flag.
type ConfigError struct {
	Field  string
	Value  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("capture: %s %s: %s", e.Field, e.Value, e.Reason)
}

// ErrRotationDone ends a capture whose rotation made its last file (a
// Period with a Count and no Size), as tcpdump exits then.
var ErrRotationDone = errors.New("capture: the last file of the rotation is complete")

// IsDiskFull reports whether err is a write that failed for want of space:
// ENOSPC, EDQUOT or EFBIG.
func IsDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG)
}

// OutputConfig configures an Output.
type OutputConfig struct {
	// Path is the file, or with a Rotation the pattern of the files' names.
	Path string
	// Stream, when not nil, is written instead of a file (standard
	// output); Path then only names it, and Rotation must be zero.
	Stream io.Writer
	// Rotation says when to start a new file; zero: never.
	Rotation Rotation
	// Recorder configures each file's Recorder.
	Recorder RecorderOptions
}

// Validate checks c without creating anything.
func (c *OutputConfig) Validate() error {
	if c.Path == "" && c.Stream == nil {
		return &ConfigError{Field: "Output.Path", Value: `""`, Reason: "no file to write"}
	}
	if err := c.Rotation.Validate(); err != nil {
		return err
	}
	if c.Stream != nil && c.Rotation.Active() {
		return &ConfigError{Field: "Rotation", Value: "on a stream", Reason: "only files rotate"}
	}
	opt := c.Recorder
	return opt.fill()
}

// Output writes a capture to one file, a stream, or a rotation of files.
// Each file is a complete capture file: its own header, and (pcapng) its
// own Interface Statistics Block counting that file. One goroutine writes;
// Flush and Close may not run concurrently with WriteFrames.
type Output struct {
	cfg   OutputConfig
	stats func() (Stats, error) // kernel counters, for each file's statistics block

	rec      *Recorder
	name     string
	started  time.Time // when the current period's file began
	opened   time.Time // when the current file began
	base     Stats     // kernel counters when the current file began
	index    int       // -C number of the current file within its period
	periods  int       // -G files begun
	files    []string  // every file begun, in order (a ring's names repeat)
	accepted uint64    // frames accepted by closed files
	written  uint64    // frames closed files hold
	err      error     // sticky: the write that failed
}

// NewOutput creates the first file (or starts writing the stream) at now.
// stats, when not nil, gives the kernel's cumulative counters; each file's
// statistics block counts what changed while it was written.
func NewOutput(cfg OutputConfig, now time.Time, stats func() (Stats, error)) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Output{cfg: cfg, stats: stats, started: now}
	if cfg.Stream != nil {
		rec, err := NewRecorder(cfg.Stream, cfg.Recorder)
		if err != nil {
			return nil, err
		}
		o.rec, o.name, o.opened = rec, cfg.Path, now
		o.base, _ = o.kernelStats()
		return o, nil
	}
	if err := o.open(now); err != nil {
		return nil, err
	}
	o.periods = 1
	return o, nil
}

func (o *Output) kernelStats() (Stats, error) {
	if o.stats == nil {
		return Stats{}, errors.New("no statistics")
	}
	return o.stats()
}

// fileName is the current file's name: strftime on the pattern at the
// start of the period when there is one, and with a size the file's number
// appended as tcpdump's MakeFilename does.
func (o *Output) fileName() string {
	rot := o.cfg.Rotation
	name := o.cfg.Path
	if rot.Period > 0 {
		name = Strftime(name, o.started)
	}
	if rot.Size > 0 {
		width := 0
		if rot.Count > 0 {
			width = len(strconv.Itoa(rot.Count - 1))
			if rot.Count == 1 {
				width = 0
			}
		}
		if o.index > 0 || width > 0 {
			name += fmt.Sprintf("%0*d", width, o.index)
		}
	}
	return name
}

func (o *Output) open(now time.Time) error {
	name := o.fileName()
	rec, err := CreateRecorder(name, o.cfg.Recorder)
	if err != nil {
		return err
	}
	o.rec, o.name, o.opened = rec, name, now
	o.files = append(o.files, name)
	o.base, _ = o.kernelStats()
	return nil
}

// closeCurrent ends the current file at end: its statistics block, then
// Close.
func (o *Output) closeCurrent(end time.Time) error {
	var err error
	if o.rec.format == FormatPcapng {
		if s, serr := o.kernelStats(); serr == nil {
			d := Stats{Packets: s.Packets - o.base.Packets, Drops: s.Drops - o.base.Drops}
			err = o.rec.WriteStats(o.opened, end, d)
		}
	}
	err = errors.Join(err, o.rec.Close())
	acc, wr := o.rec.Frames()
	o.accepted += acc
	o.written += wr
	o.rec = nil
	return err
}

// rotate moves to the next file at t: a new period's file when period is
// set, else the next number within the period.
func (o *Output) rotate(t time.Time, period bool) error {
	rot := o.cfg.Rotation
	if err := o.closeCurrent(t); err != nil {
		o.err = err
		return err
	}
	if period {
		if rot.Size == 0 && rot.Count > 0 && o.periods >= rot.Count {
			o.err = ErrRotationDone
			return ErrRotationDone
		}
		o.periods++
		o.started, o.index = t, 0
	} else {
		o.index++
		if rot.Count > 0 && o.index >= rot.Count {
			o.index = 0
		}
	}
	if err := o.open(t); err != nil {
		o.err = err
		return err
	}
	return nil
}

// WriteFrames records frames, moving to the next file between two frames
// when the rotation says so: at the first frame stamped Period or more
// after the current period's file began, and before the first frame whose
// block would take the file past Size (as the Recorder measures it). It
// returns how many frames it took. After an error (a full disk, a file
// that cannot be created) or ErrRotationDone, it writes nothing more and
// returns the same error.
func (o *Output) WriteFrames(frames []Frame) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	rot := o.cfg.Rotation
	done := 0
	for done < len(frames) {
		batch := frames[done:]
		if rot.Period > 0 {
			// The frames of the current period.
			end := o.started.Add(rot.Period)
			k := 0
			for k < len(batch) && batch[k].Info.Time.Before(end) {
				k++
			}
			if k == 0 {
				if err := o.rotate(batch[0].Info.Time, true); err != nil {
					return done, err
				}
				continue
			}
			batch = batch[:k]
		}
		n, err := o.rec.WriteFramesWithin(batch, rot.Size)
		done += n
		if err != nil {
			o.err = err
			return done, err
		}
		if n < len(batch) {
			// The next frame would take the file past Size.
			if err := o.rotate(batch[n].Info.Time, false); err != nil {
				return done, err
			}
		}
	}
	return done, nil
}

// Flush writes out what the current file's Recorder holds.
func (o *Output) Flush() error {
	if o.err != nil || o.rec == nil {
		return o.err
	}
	if err := o.rec.Flush(); err != nil {
		o.err = err
		return err
	}
	return nil
}

// Close ends the current file at end (its statistics block, unless a write
// failed) and closes it. It returns the write error that stopped the
// Output, if any, other than ErrRotationDone.
func (o *Output) Close(end time.Time) error {
	var err error
	if o.rec != nil {
		if o.err == nil {
			err = o.closeCurrent(end)
		} else {
			// The Recorder's error is sticky: Close only closes.
			o.rec.Close()
			acc, wr := o.rec.Frames()
			o.accepted += acc
			o.written += wr
			o.rec = nil
		}
	}
	if o.err != nil && !errors.Is(o.err, ErrRotationDone) {
		return o.err
	}
	return err
}

// discard closes the Output and removes the files it created, for a run
// that failed before it began (a stream is only left alone).
func (o *Output) discard() {
	if o.rec != nil {
		o.rec.Close()
		o.rec = nil
	}
	if o.cfg.Stream == nil {
		for _, name := range o.files {
			os.Remove(name)
		}
	}
	o.files = nil
}

// Frames returns how many frames the Output accepted and how many reached
// the files (after Close: all of them, or fewer after a failed write, what
// a full disk cut short).
func (o *Output) Frames() (accepted, written uint64) {
	accepted, written = o.accepted, o.written
	if o.rec != nil {
		a, w := o.rec.Frames()
		accepted += a
		written += w
	}
	return accepted, written
}

// Files returns the names of the files begun, in order.
func (o *Output) Files() []string { return o.files }

// Name returns the current file's name.
func (o *Output) Name() string { return o.name }

// createFile creates the file at path for writing, truncating it, through
// outfile.Create: no symbolic link followed at the last component, only a
// regular file or a FIFO, mode 0600, owned by the sudo user.
func createFile(path string) (*os.File, error) {
	f, err := outfile.Create(path, 0)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	return f, nil
}

// Strftime formats t with the conversions of strftime(3) that capture file
// names use: %Y %y %m %d %e %H %M %S %j %s %b %a %F %T %%. Others stay as
// they are.
func Strftime(pattern string, t time.Time) string {
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
