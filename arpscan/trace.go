package arpscan

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/internal/outfile"
)

// Tracer sees every frame a scan sends (dir capture.Outbound, info.Time the
// moment it was handed to the kernel) and receives (capture.Inbound, with
// what the kernel said about it, a stripped tag included). It runs on the
// sending and receiving goroutines and must not keep frame.
type Tracer func(dir capture.Direction, frame []byte, info capture.FrameInfo)

// TraceWriter turns a scan's trace into records in time order. The frames
// sent and the frames received come from two goroutines, each in time
// order of its own; TraceWriter merges the two streams, holding a record
// back until the other stream has reached its time (or until too many are
// held), so that a pcap's records never go back in time.
type TraceWriter struct {
	mu    sync.Mutex
	write func(capture.Record) error
	q     [2][]capture.Record // 0: sent, 1: received
	last  [2]time.Time        // latest time pushed on each stream
	err   error
	close func() error
}

// CreateTrace creates a pcapng file at path (through outfile.Create: no
// symlink followed, mode 0600, owned by the sudo user) and returns a
// TraceWriter recording to it; Close flushes and closes the file, which is
// never removed.
func CreateTrace(path, ifname string) (*TraceWriter, error) {
	f, err := outfile.Create(path, 0)
	if err != nil {
		return nil, fmt.Errorf("arpscan: %w", err)
	}
	rec, err := capture.NewRecorder(f, capture.RecorderOptions{Format: capture.FormatPcapng, Interface: ifname})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("arpscan: %w", err)
	}
	w := NewTraceWriter(rec.Write)
	w.close = func() error { return errors.Join(rec.Close(), f.Close()) }
	return w, nil
}

// maxHeld bounds the records held back per stream.
const maxHeld = 1 << 16

// NewTraceWriter returns a TraceWriter that hands records to write (a
// capture.Recorder's Write, for one), a tag the kernel stripped put back.
func NewTraceWriter(write func(capture.Record) error) *TraceWriter {
	return &TraceWriter{write: write}
}

// Trace is the Tracer to give a scan.
func (w *TraceWriter) Trace(dir capture.Direction, frame []byte, info capture.FrameInfo) {
	buf := make([]byte, len(frame), len(frame)+4)
	copy(buf, frame)
	buf = buf[:capture.InsertVLAN(buf, len(buf), info)]
	s := 1
	if dir == capture.Outbound {
		s = 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.q[s] = append(w.q[s], capture.Record{Time: info.Time, Data: buf, Dir: dir})
	if info.Time.After(w.last[s]) {
		w.last[s] = info.Time
	}
	w.flush(false)
}

// flush writes the records that can no longer be preceded by one to come,
// or every record when all is set. Called with mu held.
func (w *TraceWriter) flush(all bool) {
	for {
		a, b := &w.q[0], &w.q[1]
		var from *[]capture.Record
		switch {
		case len(*a) > 0 && len(*b) > 0:
			from = a
			if (*b)[0].Time.Before((*a)[0].Time) {
				from = b
			}
		case len(*a) > 0 && (all || len(*a) > maxHeld || !(*a)[0].Time.After(w.last[1])):
			from = a
		case len(*b) > 0 && (all || len(*b) > maxHeld || !(*b)[0].Time.After(w.last[0])):
			from = b
		default:
			return
		}
		if err := w.write((*from)[0]); err != nil && w.err == nil {
			w.err = err
		}
		(*from)[0] = capture.Record{}
		*from = (*from)[1:]
	}
}

// Close writes the records held, closes the file of CreateTrace, and
// returns the first error.
func (w *TraceWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flush(true)
	if w.close != nil {
		err := w.close()
		w.close = nil
		return errors.Join(w.err, err)
	}
	return w.err
}
