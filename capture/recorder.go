package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Format is a capture file format. Its zero value is invalid.
type Format uint8

// File formats.
const (
	FormatPcapng Format = 1 // pcapng (draft-ietf-opsawg-pcapng)
	FormatPcap   Format = 2 // classic pcap (pcap-savefile(5))
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

// TimePrecision is the resolution of the timestamps a Recorder writes. Its
// zero value is invalid; RecorderOptions take it to mean Nanosecond.
type TimePrecision uint8

// Timestamp precisions, as tcpdump's --time-stamp-precision names them.
const (
	// Nanosecond: pcapng if_tsresol 9, classic pcap magic 0xa1b23c4d.
	Nanosecond TimePrecision = 1
	// Microsecond: pcapng if_tsresol 6, classic pcap magic 0xa1b2c3d4,
	// which every pcap reader understands.
	Microsecond TimePrecision = 2
)

// String returns "nano", "micro" or "invalid".
func (p TimePrecision) String() string {
	switch p {
	case Nanosecond:
		return "nano"
	case Microsecond:
		return "micro"
	default:
		return "invalid"
	}
}

// ParseTimePrecision parses "nano" or "micro" (also "nanosecond" and
// "microsecond").
func ParseTimePrecision(s string) (TimePrecision, error) {
	switch s {
	case "nano", "nanosecond":
		return Nanosecond, nil
	case "micro", "microsecond":
		return Microsecond, nil
	default:
		return 0, fmt.Errorf("capture: unknown time stamp precision %q (want micro or nano)", s)
	}
}

// Record is one frame to record or read back.
type Record struct {
	Time    time.Time // zero means time.Now() when recorded
	Data    []byte
	Length  int       // original length; 0 means len(Data)
	Dir     Direction // 0 = unknown (no epb_flags written)
	Comment string    // pcapng opt_comment; ignored by classic pcap

	// Read back only: the link type of the frame (its pcapng interface's,
	// or the pcap file's) and the index of its pcapng interface. The
	// Recorder writes Ethernet.
	LinkType  layers.LinkType
	Interface int
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
	// Precision is the timestamps' resolution; zero means Nanosecond.
	Precision TimePrecision
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
// for concurrent use. Blocks are encoded straight into one buffer; Flush,
// Close, a full buffer and the FlushInterval timer write it out. The
// buffer only ever holds whole blocks and a block is never split between
// two writes to the underlying writer (unless it is larger than the
// buffer), so a file cut short by SIGKILL ends on a block boundary up to
// the last flush.
type Recorder struct {
	mu      sync.Mutex
	w       io.Writer
	buf     []byte // whole blocks not yet written; cap is the buffer size
	format  Format
	micro   bool // Microsecond precision
	snaplen int
	file    *os.File                           // owned, when made by CreateRecorder
	trunc   interface{ Truncate(int64) error } // the file, when it can be cut back after a failed write
	closed  bool
	err     error  // first write error; sticky
	packets uint64 // frames accepted (isb_usrdeliv)

	// What reached the writer: size bytes of whole blocks (the file's
	// length, for a file this Recorder created), holding disk frames.
	// bufFrames frames are in buf. hdr is the length of a classic pcap
	// file header at the start of buf, not yet written.
	size      int64
	disk      uint64
	bufFrames uint64
	hdr       int

	done chan struct{}
	wg   sync.WaitGroup
}

// NewRecorder writes a file header to w (pcapng: a Section Header Block and
// one Interface Description Block with if_name, if_os and if_tsresol 9 or
// 6; pcap: the nanosecond- or microsecond-magic header) and returns a
// Recorder writing to w. Close flushes; it does not close w.
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
	switch opt.Precision {
	case 0:
		opt.Precision = Nanosecond
	case Nanosecond, Microsecond:
	default:
		return fmt.Errorf("capture: invalid time stamp precision %d", opt.Precision)
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
		w:       w,
		buf:     make([]byte, 0, opt.BufferSize),
		format:  opt.Format,
		micro:   opt.Precision == Microsecond,
		snaplen: opt.SnapLen,
		done:    make(chan struct{}),
	}
	switch opt.Format {
	case FormatPcapng:
		r.buf = appendSHB(r.buf, opt.Application)
		r.buf = appendIDB(r.buf, opt.Interface, uint32(opt.SnapLen), r.micro)
	case FormatPcap:
		r.buf = appendPcapHeader(r.buf, uint32(opt.SnapLen), r.micro)
		r.hdr = len(r.buf)
	}
	// The header goes out at once: a capture killed before its first
	// flush is still a valid, empty file.
	if err := r.flush(); err != nil {
		return nil, fmt.Errorf("capture: write %s header: %w", opt.Format, err)
	}
	if opt.FlushInterval > 0 {
		r.wg.Add(1)
		go r.flushLoop(opt.FlushInterval)
	}
	return r, nil
}

// Block types, option codes and constants of pcapng
// (draft-ietf-opsawg-pcapng §4, §3.5) and pcap-savefile(5).
const (
	ngSHB         = 0x0A0D0D0A
	ngIDB         = 0x00000001
	ngISB         = 0x00000005
	ngEPB         = 0x00000006
	ngByteOrder   = 0x1A2B3C4D
	ngEndOfOpt    = 0
	ngComment     = 1
	ngSHBHardware = 2
	ngSHBOS       = 3
	ngSHBUserAppl = 4
	ngIFName      = 2
	ngIFTsresol   = 9
	ngIFOS        = 12
	ngEPBFlags    = 2
	ngISBStart    = 2
	ngISBEnd      = 3
	ngISBIfRecv   = 4
	ngISBIfDrop   = 5
	ngISBUsrDeliv = 8
	linkEthernet  = 1 // LINKTYPE_ETHERNET

	pcapMagicMicro = 0xa1b2c3d4
	pcapMagicNano  = 0xa1b23c4d
)

var le = binary.LittleEndian

// appendOption appends a pcapng option (code, length, value padded to 32
// bits, §3.5).
func appendOption(b []byte, code uint16, value []byte) []byte {
	b = le.AppendUint16(b, code)
	b = le.AppendUint16(b, uint16(len(value)))
	b = append(b, value...)
	return append(b, zeros[:pad4(len(value))]...)
}

// optionLen is the size of an option with an n-byte value.
func optionLen(n int) int { return 4 + n + pad4(n) }

func pad4(n int) int { return (4 - n&3) & 3 }

// appendSHB appends a Section Header Block (§4.1), little endian: type,
// length, byte-order magic, version 1.0, section length -1 (unknown), and
// the options shb_userappl, shb_hardware, shb_os.
func appendSHB(b []byte, app string) []byte {
	total := 28 + optionLen(len(app)) + optionLen(len(runtime.GOARCH)) + optionLen(len(runtime.GOOS)) + 4
	b = le.AppendUint32(b, ngSHB)
	b = le.AppendUint32(b, uint32(total))
	b = le.AppendUint32(b, ngByteOrder)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint64(b, ^uint64(0))
	b = appendOption(b, ngSHBUserAppl, []byte(app))
	b = appendOption(b, ngSHBHardware, []byte(runtime.GOARCH))
	b = appendOption(b, ngSHBOS, []byte(runtime.GOOS))
	b = le.AppendUint32(b, ngEndOfOpt)
	return le.AppendUint32(b, uint32(total))
}

// appendIDB appends an Interface Description Block (§4.2): link type
// Ethernet, snap length, and the options if_name (when not empty), if_os
// and if_tsresol (9: nanoseconds, or 6: microseconds).
func appendIDB(b []byte, name string, snaplen uint32, micro bool) []byte {
	total := 16 + optionLen(len(runtime.GOOS)) + optionLen(1) + 4 + 4
	if name != "" {
		total += optionLen(len(name))
	}
	b = le.AppendUint32(b, ngIDB)
	b = le.AppendUint32(b, uint32(total))
	b = le.AppendUint16(b, linkEthernet)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, snaplen)
	if name != "" {
		b = appendOption(b, ngIFName, []byte(name))
	}
	b = appendOption(b, ngIFOS, []byte(runtime.GOOS))
	tsresol := byte(9)
	if micro {
		tsresol = 6
	}
	b = appendOption(b, ngIFTsresol, []byte{tsresol})
	b = le.AppendUint32(b, ngEndOfOpt)
	return le.AppendUint32(b, uint32(total))
}

// appendPcapHeader appends the classic pcap file header
// (pcap-savefile(5)): magic, version 2.4, thiszone 0, sigfigs 0, snaplen,
// link type.
func appendPcapHeader(b []byte, snaplen uint32, micro bool) []byte {
	magic := uint32(pcapMagicNano)
	if micro {
		magic = pcapMagicMicro
	}
	b = le.AppendUint32(b, magic)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, snaplen)
	return le.AppendUint32(b, linkEthernet)
}

// CreateRecorder creates (or truncates) the file at path, as createFile
// does (no symbolic link followed, mode 0600), and returns a Recorder
// writing to it; Close flushes and closes the file. If the header cannot
// be written the file is removed (unless it is not a regular file, such as
// a FIFO, which is left alone). After a failed write (a full disk) the
// file is cut back to its last whole block.
func CreateRecorder(path string, opt RecorderOptions) (*Recorder, error) {
	return createRecorder(path, opt, fileWriter)
}

// createRecorder lets tests put a failing writer in front of the file.
func createRecorder(path string, opt RecorderOptions, wrap func(*os.File) io.Writer) (*Recorder, error) {
	if err := opt.fill(); err != nil {
		return nil, err
	}
	f, err := createFile(path)
	if err != nil {
		return nil, err
	}
	r, err := newRecorder(wrap(f), opt)
	fi, serr := f.Stat()
	regular := serr == nil && fi.Mode().IsRegular()
	if err != nil {
		f.Close()
		if regular {
			os.Remove(path)
		}
		// newRecorder's error without its "capture: write header" prefix.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return nil, fmt.Errorf("capture: create %s: %w", path, err)
	}
	r.file = f
	if regular {
		r.trunc = f
	}
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
			if !r.closed && r.err == nil && len(r.buf) > 0 {
				r.err = r.flush()
			}
			r.mu.Unlock()
		}
	}
}

// flush writes out the buffer, which holds whole blocks, in one write.
func (r *Recorder) flush() error {
	if len(r.buf) == 0 {
		return nil
	}
	err := r.writeOut(r.buf, r.bufFrames)
	r.buf, r.bufFrames, r.hdr = r.buf[:0], 0, 0
	return err
}

// writeOut writes b, whole blocks holding frames frames, and accounts for
// it. When the write fails part way (ENOSPC, EDQUOT, EFBIG), the blocks
// that went out whole are counted and the file is cut back to the end of
// the last of them, so that it never ends inside a block.
func (r *Recorder) writeOut(b []byte, frames uint64) error {
	n, err := r.w.Write(b)
	if err == nil {
		r.size += int64(len(b))
		r.disk += frames
		return nil
	}
	n = max(0, min(n, len(b)))
	whole, wholeFrames := r.wholeBlocks(b[:n])
	r.size += int64(whole)
	r.disk += wholeFrames
	if whole < n && r.trunc != nil {
		if terr := r.trunc.Truncate(r.size); terr != nil {
			err = errors.Join(err, fmt.Errorf("cut back to %d bytes: %w", r.size, terr))
		}
	}
	return err
}

// wholeBlocks returns the length of the whole blocks (pcapng) or records
// (pcap) at the start of b, and how many frames they hold. b starts on a
// block boundary, after r.hdr bytes of file header.
func (r *Recorder) wholeBlocks(b []byte) (int, uint64) {
	if len(b) < r.hdr {
		return 0, 0
	}
	off, frames := r.hdr, uint64(0)
	for off+16 <= len(b) {
		var n int
		if r.format == FormatPcap {
			n = 16 + int(le.Uint32(b[off+8:]))
		} else {
			n = int(le.Uint32(b[off+4:]))
		}
		if n < 12 || off+n > len(b) {
			break
		}
		if r.format == FormatPcap || le.Uint32(b[off:]) == ngEPB {
			frames++
		}
		off += n
	}
	return off, frames
}

// reserve makes room for a block of n bytes in the buffer, flushing what
// it holds if the block would not fit, so that no block straddles two
// writes.
func (r *Recorder) reserve(n int) error {
	if len(r.buf)+n > cap(r.buf) && len(r.buf) > 0 {
		return r.flush()
	}
	return nil
}

// blockLen is the size in the file of a frame with capLen bytes captured
// (snap length applied), a direction and a comment of commentLen bytes:
// a pcapng Enhanced Packet Block (see writeFrame) or a pcap record.
func (r *Recorder) blockLen(capLen int, dir Direction, commentLen int) int {
	if r.format == FormatPcap {
		return 16 + capLen
	}
	optLen := 0
	if commentLen > 0 {
		optLen += optionLen(min(commentLen, maxComment))
	}
	if dir != 0 {
		optLen += 8
	}
	if optLen > 0 {
		optLen += 4
	}
	return 28 + capLen + pad4(capLen) + optLen + 4
}

// frameLen is the size in the file of a frame read from a Ring.
func (r *Recorder) frameLen(f *Frame) int {
	n := len(f.Data)
	if f.Info.VLAN && n >= 12 {
		n += 4
	}
	return r.blockLen(min(n, r.snaplen), f.Info.Dir, 0)
}

// Size returns the length of the stream so far, in bytes: what was
// written, and what is buffered to be.
func (r *Recorder) Size() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.size + int64(len(r.buf))
}

// Frames returns how many frames the Recorder accepted, and how many of
// them reached the writer in whole blocks (after a failed write, the
// frames the file holds).
func (r *Recorder) Frames() (accepted, written uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.packets, r.disk
}

// Write records one frame, truncated to the snap length. For pcapng it
// writes an Enhanced Packet Block with epb_flags carrying rec.Dir (when not
// zero) and opt_comment carrying rec.Comment (when not empty, at most 65535
// bytes). It allocates nothing.
func (r *Recorder) Write(rec Record) error {
	ts := rec.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	length := max(rec.Length, len(rec.Data))
	r.mu.Lock()
	err := r.check()
	if err == nil {
		err = r.writeFrame(ts.UnixNano(), rec.Data, nil, length, rec.Dir, rec.Comment)
	}
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("capture: write record: %w", err)
	}
	return nil
}

// WriteFrames records frames read from a Ring (ReadBatch) under one lock:
// each with its kernel timestamp, length on the wire and direction, and
// with the 802.1Q/802.1ad tag the kernel stripped put back after the MAC
// addresses, as InsertVLAN does (the length on the wire then counts the
// tag). It returns how many frames it wrote, all of them unless there is
// an error. It allocates nothing.
func (r *Recorder) WriteFrames(frames []Frame) (int, error) {
	return r.WriteFramesWithin(frames, 0)
}

// WriteFramesWithin is WriteFrames for a stream that must stay within
// limit bytes (0: no limit), as a rotating capture's -C asks: it stops
// before the first frame whose block would take Size past limit, and
// returns how many frames it wrote. A stream holding no frame takes one
// frame even when its block alone is over the limit, so that a rotation
// always moves on.
func (r *Recorder) WriteFramesWithin(frames []Frame, limit int64) (int, error) {
	r.mu.Lock()
	err := r.check()
	n := 0
	for ; err == nil && n < len(frames); n++ {
		f := &frames[n]
		if limit > 0 && r.packets > 0 && r.size+int64(len(r.buf))+int64(r.frameLen(f)) > limit {
			break
		}
		length := max(f.Info.Length, len(f.Data))
		if !f.Info.VLAN && r.format == FormatPcapng && r.putEPB(f.Info.Time.UnixNano(), f.Data, length, f.Info.Dir) {
			continue
		}
		if f.Info.VLAN && len(f.Data) >= 12 {
			var tag [4]byte
			binary.BigEndian.PutUint16(tag[0:2], f.Info.VLANTPID)
			binary.BigEndian.PutUint16(tag[2:4], f.Info.VLANTCI)
			err = r.writeFrame(f.Info.Time.UnixNano(), f.Data, &tag, length+4, f.Info.Dir, "")
		} else {
			err = r.writeFrame(f.Info.Time.UnixNano(), f.Data, nil, length, f.Info.Dir, "")
		}
		if err != nil {
			break
		}
	}
	r.mu.Unlock()
	if err != nil {
		return n, fmt.Errorf("capture: write record: %w", err)
	}
	return n, nil
}

// check returns the reason the Recorder cannot write, if any.
func (r *Recorder) check() error {
	if r.closed {
		return os.ErrClosed
	}
	return r.err
}

// appendPayload appends the first n bytes of data with tag (when not nil)
// inserted after its 12 bytes of MAC addresses.
func appendPayload(b, data []byte, tag *[4]byte, n int) []byte {
	if tag == nil {
		return append(b, data[:n]...)
	}
	if n <= 12 {
		return append(b, data[:n]...)
	}
	b = append(b, data[:12]...)
	if n <= 16 {
		return append(b, tag[:n-12]...)
	}
	b = append(b, tag[:]...)
	return append(b, data[12:n-4]...)
}

// writeFrame encodes one frame into the buffer: a pcapng Enhanced Packet
// Block or a pcap record. ns is the time in Unix nanoseconds; data, with
// tag inserted, is cut to the snap length; length is the length on the
// wire. A sticky error is set on failure.
//
// Enhanced Packet Block (pcapng §4.3), little endian as the section
// header says:
//
//	0  block type 0x00000006
//	4  block total length
//	8  interface ID (0)
//	12 timestamp, upper 32 bits (units of if_tsresol)
//	16 timestamp, lower 32 bits
//	20 captured length
//	24 original length
//	28 packet data, padded to 32 bits
//	   options: opt_comment (code 1), epb_flags (code 2, length 4,
//	   direction in bits 0-1), opt_endofopt (0, 0)
//	   block total length again
//
// pcap record (pcap-savefile(5)): ts_sec, ts_usec or ts_nsec, incl_len,
// orig_len, then the data.
func (r *Recorder) writeFrame(ns int64, data []byte, tag *[4]byte, length int, dir Direction, comment string) error {
	capLen := len(data)
	if tag != nil {
		capLen += 4
	}
	capLen = min(capLen, r.snaplen)
	length = max(length, capLen)
	if len(comment) > maxComment {
		comment = comment[:maxComment]
	}
	if r.format == FormatPcap {
		comment = ""
	}
	total := r.blockLen(capLen, dir, len(comment))
	if total > cap(r.buf) {
		// A block larger than the whole buffer (a small BufferSize): it
		// goes out on its own, in one write.
		if err := r.flush(); err != nil {
			r.err = err
			return err
		}
		r.packets++
		if err := r.writeOut(r.appendBlock(make([]byte, 0, total), ns, data, tag, capLen, length, dir, comment, total), 1); err != nil {
			r.err = err
			return err
		}
		return nil
	}
	if err := r.reserve(total); err != nil {
		r.err = err
		return err
	}
	r.buf = r.appendBlock(r.buf, ns, data, tag, capLen, length, dir, comment, total)
	r.packets++
	r.bufFrames++
	return nil
}

// appendBlock appends the block writeFrame describes, total bytes long.
func (r *Recorder) appendBlock(b []byte, ns int64, data []byte, tag *[4]byte, capLen, length int, dir Direction, comment string, total int) []byte {
	if r.format == FormatPcap {
		sec, frac := ns/1e9, ns%1e9
		if frac < 0 {
			sec, frac = sec-1, frac+1e9
		}
		if r.micro {
			frac /= 1000
		}
		b = le.AppendUint32(b, uint32(sec))
		b = le.AppendUint32(b, uint32(frac))
		b = le.AppendUint32(b, uint32(capLen))
		b = le.AppendUint32(b, uint32(length))
		return appendPayload(b, data, tag, capLen)
	}
	ts := uint64(ns)
	if r.micro {
		ts = uint64(ns / 1000)
	}
	b = le.AppendUint32(b, ngEPB)
	b = le.AppendUint32(b, uint32(total))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, uint32(ts>>32))
	b = le.AppendUint32(b, uint32(ts))
	b = le.AppendUint32(b, uint32(capLen))
	b = le.AppendUint32(b, uint32(length))
	b = appendPayload(b, data, tag, capLen)
	b = append(b, zeros[:pad4(capLen)]...)
	if comment != "" {
		b = le.AppendUint16(b, ngComment)
		b = le.AppendUint16(b, uint16(len(comment)))
		b = append(b, comment...)
		b = append(b, zeros[:pad4(len(comment))]...)
	}
	if dir != 0 {
		b = le.AppendUint16(b, ngEPBFlags)
		b = le.AppendUint16(b, 4)
		b = le.AppendUint32(b, uint32(dir)&3)
	}
	if comment != "" || dir != 0 {
		b = le.AppendUint32(b, ngEndOfOpt)
	}
	return le.AppendUint32(b, uint32(total))
}

// putEPB is writeFrame's fast path for the common frame: pcapng, no tag
// to insert, no comment, and room left in the buffer. It fills the block
// in place and reports false, having written nothing, when the frame is
// not such a frame.
func (r *Recorder) putEPB(ns int64, data []byte, length int, dir Direction) bool {
	capLen := min(len(data), r.snaplen)
	total := 32 + (capLen+3)&^3
	if dir != 0 {
		total += 12
	}
	off := len(r.buf)
	if off+total > cap(r.buf) {
		return false
	}
	ts := uint64(ns)
	if r.micro {
		ts = uint64(ns / 1000)
	}
	b := r.buf[off : off+total]
	le.PutUint32(b[0:4], ngEPB)
	le.PutUint32(b[4:8], uint32(total))
	le.PutUint32(b[8:12], 0)
	le.PutUint32(b[12:16], uint32(ts>>32))
	le.PutUint32(b[16:20], uint32(ts))
	le.PutUint32(b[20:24], uint32(capLen))
	le.PutUint32(b[24:28], uint32(max(length, capLen)))
	p := 28 + copy(b[28:], data[:capLen])
	for ; p&3 != 0; p++ {
		b[p] = 0
	}
	if dir != 0 {
		le.PutUint32(b[p:p+4], ngEPBFlags|4<<16) // code 2, length 4
		le.PutUint32(b[p+4:p+8], uint32(dir)&3)
		le.PutUint32(b[p+8:p+12], ngEndOfOpt)
		p += 12
	}
	le.PutUint32(b[p:p+4], uint32(total))
	r.buf = r.buf[:off+total]
	r.packets++
	r.bufFrames++
	return true
}

// zeros pads blocks to 32 bits.
var zeros [4]byte

// maxComment is the longest opt_comment an option's 16-bit length allows.
const maxComment = 65535

// WriteStats writes a pcapng Interface Statistics Block (§4.6) for the
// interface: the time end, isb_starttime (start), isb_endtime (end),
// isb_ifdrop (s.Drops, the kernel's drops), isb_ifrecv (s.Packets, the
// frames the kernel's filter passed, as dumpcap writes them) and
// isb_usrdeliv (the frames this Recorder wrote). Classic pcap has no place
// for it; it returns nil.
func (r *Recorder) WriteStats(start, end time.Time, s Stats) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("capture: write statistics: %w", os.ErrClosed)
	}
	if r.format != FormatPcapng {
		return nil
	}
	if r.err != nil {
		return fmt.Errorf("capture: write statistics: %w", r.err)
	}
	const total = 20 + 5*12 + 4 + 4 // header, five options, end of options, trailer
	if err := r.reserve(total); err != nil {
		r.err = err
		return fmt.Errorf("capture: write statistics: %w", err)
	}
	b := r.buf
	b = le.AppendUint32(b, ngISB)
	b = le.AppendUint32(b, total)
	b = le.AppendUint32(b, 0)
	b = r.appendTime(b, end)
	b = le.AppendUint16(b, ngISBStart)
	b = le.AppendUint16(b, 8)
	b = r.appendTime(b, start)
	b = le.AppendUint16(b, ngISBEnd)
	b = le.AppendUint16(b, 8)
	b = r.appendTime(b, end)
	b = le.AppendUint16(b, ngISBIfDrop)
	b = le.AppendUint16(b, 8)
	b = le.AppendUint64(b, s.Drops)
	b = le.AppendUint16(b, ngISBIfRecv)
	b = le.AppendUint16(b, 8)
	b = le.AppendUint64(b, s.Packets)
	b = le.AppendUint16(b, ngISBUsrDeliv)
	b = le.AppendUint16(b, 8)
	b = le.AppendUint64(b, r.packets)
	b = le.AppendUint32(b, ngEndOfOpt)
	r.buf = le.AppendUint32(b, total)
	return nil
}

// appendTime appends a pcapng timestamp in if_tsresol units, upper 32 bits
// first.
func (r *Recorder) appendTime(b []byte, t time.Time) []byte {
	ts := uint64(t.UnixNano())
	if r.micro {
		ts = uint64(t.UnixNano() / 1000)
	}
	b = le.AppendUint32(b, uint32(ts>>32))
	return le.AppendUint32(b, uint32(ts))
}

// Flush writes out the buffered blocks.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.check(); err != nil {
		return fmt.Errorf("capture: flush: %w", err)
	}
	if err := r.flush(); err != nil {
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
	} else if err := r.flush(); err != nil {
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
