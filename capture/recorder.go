package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Format is a capture file format. Its zero value is invalid.
type Format uint8

// File formats.
const (
	FormatPcapng Format = 1 // pcapng (draft-ietf-opsawg-pcapng)
	FormatPcap   Format = 2 // classic pcap, nanosecond timestamps
)

// String returns "pcapng", "pcap" or "invalid".
func (f Format) String() string {
	switch f {
	case FormatPcapng:
		return "pcapng"
	case FormatPcap:
		return "pcap"
	default:
		return "invalid"
	}
}

// ParseFormat parses "pcapng" or "pcap".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "pcapng":
		return FormatPcapng, nil
	case "pcap":
		return FormatPcap, nil
	default:
		return 0, fmt.Errorf("capture: unknown file format %q (want pcapng or pcap)", s)
	}
}

// Record is one frame to record or read back.
type Record struct {
	Time    time.Time // zero means time.Now() when recorded
	Data    []byte
	Length  int       // original length; 0 means len(Data)
	Dir     Direction // 0 = unknown (no epb_flags written)
	Comment string    // pcapng opt_comment; ignored by classic pcap
}

// Defaults for RecorderOptions.
const (
	DefaultSnapLen       = 262144
	DefaultBufferSize    = 1 << 20
	DefaultFlushInterval = time.Second
)

// RecorderOptions configures a Recorder.
type RecorderOptions struct {
	// Format is FormatPcapng (the default when zero) or FormatPcap.
	Format Format
	// Interface is written as the pcapng if_name.
	Interface string
	// SnapLen truncates the recorded frames; 0 means DefaultSnapLen.
	SnapLen int
	// BufferSize is the size of the write buffer; 0 means
	// DefaultBufferSize (1 MiB).
	BufferSize int
	// FlushInterval is how often a background goroutine flushes the
	// buffer, so that a process killed with SIGKILL leaves at most that
	// much capture unwritten. 0 means DefaultFlushInterval; negative means
	// no timer (flush only when the buffer is full, on Flush and on Close).
	FlushInterval time.Duration
	// Application is written in the pcapng section header (shb_userappl);
	// empty means "rawlab".
	Application string
}

// Recorder writes frames to a pcapng or classic pcap stream. It is safe
// for concurrent use. Writes go to a buffer; Flush, Close, a full buffer
// and the FlushInterval timer write it out. The buffer only ever holds
// whole blocks and a block is never split between two writes to the
// underlying writer (unless it is larger than the buffer), so a file cut
// short by SIGKILL ends on a block boundary up to the last flush.
type Recorder struct {
	mu      sync.Mutex
	bw      *bufio.Writer
	ng      *pcapgo.NgWriter
	pw      *pcapgo.Writer
	format  Format
	snaplen int
	file    *os.File // owned, when made by CreateRecorder
	closed  bool
	err     error // first write error; sticky
	scratch [32]byte

	done chan struct{}
	wg   sync.WaitGroup
}

// NewRecorder writes a file header to w (pcapng: a Section Header Block and
// one Interface Description Block with if_name and if_tsresol 9, i.e.
// nanoseconds; pcap: the nanosecond-magic header) and returns a Recorder
// writing to w. Close flushes; it does not close w.
func NewRecorder(w io.Writer, opt RecorderOptions) (*Recorder, error) {
	if err := opt.fill(); err != nil {
		return nil, err
	}
	return newRecorder(w, opt)
}

func (opt *RecorderOptions) fill() error {
	switch opt.Format {
	case 0:
		opt.Format = FormatPcapng
	case FormatPcapng, FormatPcap:
	default:
		return fmt.Errorf("capture: invalid file format %d", opt.Format)
	}
	if opt.SnapLen < 0 {
		return fmt.Errorf("capture: invalid snap length %d", opt.SnapLen)
	}
	if opt.SnapLen == 0 {
		opt.SnapLen = DefaultSnapLen
	}
	if opt.BufferSize <= 0 {
		opt.BufferSize = DefaultBufferSize
	}
	if opt.BufferSize < 4096 {
		opt.BufferSize = 4096
	}
	if opt.FlushInterval == 0 {
		opt.FlushInterval = DefaultFlushInterval
	}
	if opt.Application == "" {
		opt.Application = "rawlab"
	}
	return nil
}

func newRecorder(w io.Writer, opt RecorderOptions) (*Recorder, error) {
	r := &Recorder{
		bw:      bufio.NewWriterSize(w, opt.BufferSize),
		format:  opt.Format,
		snaplen: opt.SnapLen,
		done:    make(chan struct{}),
	}
	switch opt.Format {
	case FormatPcapng:
		// NgWriter wraps its writer in bufio.NewWriter, which returns r.bw
		// itself since r.bw is at least 4096 bytes: both share one buffer.
		ng, err := pcapgo.NewNgWriterInterface(r.bw, pcapgo.NgInterface{
			Name:                opt.Interface,
			OS:                  runtime.GOOS,
			LinkType:            layers.LinkTypeEthernet,
			SnapLength:          uint32(opt.SnapLen),
			TimestampResolution: 9,
		}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
			Hardware:    runtime.GOARCH,
			OS:          runtime.GOOS,
			Application: opt.Application,
		}})
		if err != nil {
			return nil, fmt.Errorf("capture: write pcapng header: %w", err)
		}
		r.ng = ng
	case FormatPcap:
		r.pw = pcapgo.NewWriterNanos(r.bw)
		if err := r.pw.WriteFileHeader(uint32(opt.SnapLen), layers.LinkTypeEthernet); err != nil {
			return nil, fmt.Errorf("capture: write pcap header: %w", err)
		}
	}
	// The header goes out at once: a capture killed before its first
	// flush is still a valid, empty file.
	if err := r.bw.Flush(); err != nil {
		return nil, fmt.Errorf("capture: write %s header: %w", opt.Format, err)
	}
	if opt.FlushInterval > 0 {
		r.wg.Add(1)
		go r.flushLoop(opt.FlushInterval)
	}
	return r, nil
}

// CreateRecorder creates (or truncates) the file at path and returns a
// Recorder writing to it; Close flushes and closes the file. If the header
// cannot be written the file is removed (unless it is not a regular file,
// such as a device or a FIFO, which is left alone).
func CreateRecorder(path string, opt RecorderOptions) (*Recorder, error) {
	return createRecorder(path, opt, func(f *os.File) io.Writer { return f })
}

// createRecorder lets tests put a failing writer in front of the file.
func createRecorder(path string, opt RecorderOptions, wrap func(*os.File) io.Writer) (*Recorder, error) {
	if err := opt.fill(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	r, err := newRecorder(wrap(f), opt)
	if err != nil {
		fi, serr := f.Stat()
		f.Close()
		if serr == nil && fi.Mode().IsRegular() {
			os.Remove(path)
		}
		return nil, fmt.Errorf("capture: create %s: %w", path, err)
	}
	r.file = f
	return r, nil
}

func (r *Recorder) flushLoop(every time.Duration) {
	defer r.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
			r.mu.Lock()
			if !r.closed && r.err == nil && r.bw.Buffered() > 0 {
				r.err = r.bw.Flush()
			}
			r.mu.Unlock()
		}
	}
}

// reserve makes room for a block of n bytes in the buffer, flushing what
// it holds if the block would not fit, so that no block straddles two
// writes.
func (r *Recorder) reserve(n int) error {
	if r.bw.Available() < n && r.bw.Buffered() > 0 {
		return r.bw.Flush()
	}
	return nil
}

// Write records one frame, truncated to the snap length. For pcapng it
// writes an Enhanced Packet Block with epb_flags carrying rec.Dir (when not
// zero) and opt_comment carrying rec.Comment (when not empty, at most 65535
// bytes). A frame without a comment allocates nothing.
func (r *Recorder) Write(rec Record) error {
	r.mu.Lock()
	err := r.write(&rec)
	r.mu.Unlock()
	return err
}

func (r *Recorder) write(rec *Record) error {
	if r.closed {
		return fmt.Errorf("capture: write record: %w", os.ErrClosed)
	}
	if r.err != nil {
		return fmt.Errorf("capture: write record: %w", r.err)
	}
	data := rec.Data
	if len(data) > r.snaplen {
		data = data[:r.snaplen]
	}
	length := rec.Length
	if length < len(rec.Data) {
		length = len(rec.Data)
	}
	ts := rec.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	var err error
	switch {
	case r.pw != nil:
		if err = r.reserve(16 + len(data)); err == nil {
			err = r.pw.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: length}, data)
		}
	case rec.Comment != "":
		err = r.writeCommented(ts, data, length, rec.Dir, rec.Comment)
	default:
		err = r.writeEPB(ts, data, length, rec.Dir)
	}
	if err != nil {
		r.err = err
		return fmt.Errorf("capture: write record: %w", err)
	}
	return nil
}

// writeEPB writes an Enhanced Packet Block for interface 0 by hand, so that
// the common case allocates nothing (pcapgo builds an option slice per
// packet). Layout (pcapng §4.3), little endian as the section header says:
//
//	0  block type 0x00000006
//	4  block total length
//	8  interface ID
//	12 timestamp, upper 32 bits (units of if_tsresol: nanoseconds)
//	16 timestamp, lower 32 bits
//	20 captured length
//	24 original length
//	28 packet data, padded to 32 bits
//	   options: epb_flags (code 2, length 4, value), opt_endofopt (0, 0)
//	   block total length again
func (r *Recorder) writeEPB(ts time.Time, data []byte, length int, dir Direction) error {
	pad := (4 - len(data)&3) & 3
	total := 28 + len(data) + pad + 4
	if dir != 0 {
		total += 12
	}
	if err := r.reserve(total); err != nil {
		return err
	}
	// reserve made room for the whole block (unless it is larger than the
	// buffer): build it in place and hand it to bufio in one Write.
	b := r.bw.AvailableBuffer()
	if cap(b) < total {
		b = r.scratch[:0]
	}
	nanos := uint64(ts.UnixNano())
	b = binary.LittleEndian.AppendUint32(b, 6)
	b = binary.LittleEndian.AppendUint32(b, uint32(total))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(nanos>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(nanos))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(length))
	if cap(b)-len(b) < total-28 {
		// A block larger than the buffer: header, data and trailer apart.
		if _, err := r.bw.Write(b); err != nil {
			return err
		}
		if _, err := r.bw.Write(data); err != nil {
			return err
		}
		b = r.scratch[:0]
	} else {
		b = append(b, data...)
	}
	b = append(b, zeros[:pad]...)
	if dir != 0 {
		b = binary.LittleEndian.AppendUint16(b, 2) // epb_flags
		b = binary.LittleEndian.AppendUint16(b, 4)
		b = binary.LittleEndian.AppendUint32(b, uint32(dir)&3) // bits 0-1: direction
		b = binary.LittleEndian.AppendUint32(b, 0)             // opt_endofopt
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(total))
	_, err := r.bw.Write(b)
	return err
}

// zeros pads blocks to 32 bits.
var zeros [4]byte

// maxComment is the longest opt_comment an option's 16-bit length allows.
const maxComment = 65535

func (r *Recorder) writeCommented(ts time.Time, data []byte, length int, dir Direction, comment string) error {
	if len(comment) > maxComment {
		comment = comment[:maxComment]
	}
	opts := pcapgo.NgPacketOptions{Comments: []string{comment}}
	optLen := 4 + len(comment) + (4-len(comment)&3)&3 + 4 // comment, opt_endofopt
	if dir != 0 {
		opts.Flags = &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlag(dir) & pcapgo.NgEpbFlagDirectionMask}
		optLen += 8
	}
	if err := r.reserve(28 + len(data) + 3 + optLen + 4); err != nil {
		return err
	}
	ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: length}
	return r.ng.WritePacketWithOptions(ci, data, opts)
}

// WriteStats writes a pcapng Interface Statistics Block for the interface:
// the capture's start and end times, isb_ifrecv (s.Packets) and isb_ifdrop
// (s.Drops). Classic pcap has no place for it; it returns nil.
func (r *Recorder) WriteStats(start, end time.Time, s Stats) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("capture: write statistics: %w", os.ErrClosed)
	}
	if r.ng == nil {
		return nil
	}
	if err := r.reserve(128); err != nil {
		r.err = err
		return fmt.Errorf("capture: write statistics: %w", err)
	}
	err := r.ng.WriteInterfaceStats(0, pcapgo.NgInterfaceStatistics{
		LastUpdate:      end,
		StartTime:       start,
		EndTime:         end,
		PacketsReceived: s.Packets,
		PacketsDropped:  s.Drops,
	})
	if err != nil {
		r.err = err
		return fmt.Errorf("capture: write statistics: %w", err)
	}
	return nil
}

// Flush writes out the buffered blocks.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("capture: flush: %w", os.ErrClosed)
	}
	if r.err != nil {
		return fmt.Errorf("capture: flush: %w", r.err)
	}
	if err := r.bw.Flush(); err != nil {
		r.err = err
		return fmt.Errorf("capture: flush: %w", err)
	}
	return nil
}

// Close stops the flush timer, flushes the buffer and, for a Recorder made
// by CreateRecorder, syncs nothing but closes the file. Calling it again
// returns nil.
func (r *Recorder) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.done)
	r.wg.Wait()

	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	if r.err != nil {
		errs = append(errs, r.err)
	} else if err := r.bw.Flush(); err != nil {
		errs = append(errs, err)
	}
	if r.file != nil {
		if err := r.file.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("capture: close recorder: %w", err)
	}
	return nil
}
