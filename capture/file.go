package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// File magic numbers (pcap-savefile(5), pcapng §4.1 Section Header Block).
const (
	magicPcapMicro = 0xa1b2c3d4
	magicPcapNano  = 0xa1b23c4d
	magicPcapng    = 0x0a0d0d0a
)

// FileReader reads the records of a pcap or pcapng file.
type FileReader struct {
	f    *os.File
	name string
	ng   *pcapgo.NgReader
	pr   *pcapgo.Reader
	fmt  Format
}

// OpenFile opens a classic pcap (either byte order, micro- or nanosecond)
// or pcapng file. A file that is neither, or too short to tell, returns an
// error wrapping ErrNotPcap.
func OpenFile(path string) (*FileReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	r, err := newFileReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("capture: %s: %w", path, err)
	}
	r.f = f
	r.name = path
	return r, nil
}

// NewFileReader reads a pcap or pcapng stream from r, as OpenFile does.
func NewFileReader(r io.Reader) (*FileReader, error) {
	fr, err := newFileReader(r)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	return fr, nil
}

func newFileReader(r io.Reader) (*FileReader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrNotPcap
		}
		return nil, err
	}
	fr := &FileReader{name: "stream"}
	le, be := binary.LittleEndian.Uint32(magic), binary.BigEndian.Uint32(magic)
	switch {
	case le == magicPcapng: // the same in both byte orders
		fr.fmt = FormatPcapng
		// Every interface's packets, each with its own link type.
		fr.ng, err = pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{SkipUnknownVersion: true, WantMixedLinkType: true})
	case le == magicPcapMicro, le == magicPcapNano, be == magicPcapMicro, be == magicPcapNano:
		fr.fmt = FormatPcap
		fr.pr, err = pcapgo.NewReader(br)
	default:
		return nil, ErrNotPcap
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%w: bad %s header: %w", ErrNotPcap, fr.fmt, err)
	}
	return fr, nil
}

// Format returns the file's format.
func (r *FileReader) Format() Format { return r.fmt }

// LinkType returns the link type of a classic pcap file, or of a pcapng
// file's first interface (0 if none was read yet); rawlab writes
// layers.LinkTypeEthernet. Each Record carries its own.
func (r *FileReader) LinkType() layers.LinkType {
	if r.ng != nil {
		if i, err := r.ng.Interface(0); err == nil {
			return i.LinkType
		}
		return 0
	}
	return r.pr.LinkType()
}

// Next returns the next record, with a Data slice of its own. It returns
// io.EOF at the end of the file, and an error wrapping
// io.ErrUnexpectedEOF when the file ends inside a block.
func (r *FileReader) Next() (rec Record, err error) {
	defer func() {
		// pcapgo is not ours: a malformed file must not crash the caller.
		if p := recover(); p != nil {
			rec, err = Record{}, fmt.Errorf("capture: read %s: malformed file (%v)", r.name, p)
		}
	}()
	var (
		data []byte
		ci   gopacket.CaptureInfo
	)
	if r.ng != nil {
		var opts pcapgo.NgPacketOptions
		data, ci, opts, err = r.ng.ReadPacketDataWithOptions()
		if err == nil {
			if opts.Flags != nil {
				switch opts.Flags.Direction & pcapgo.NgEpbFlagDirectionMask {
				case pcapgo.NgEpbFlagDirectionInbound:
					rec.Dir = Inbound
				case pcapgo.NgEpbFlagDirectionOutbound:
					rec.Dir = Outbound
				}
			}
			rec.Comment = strings.Join(opts.Comments, "\n")
			// The link type of the interface this packet came from.
			var intf pcapgo.NgInterface
			if intf, err = r.ng.Interface(ci.InterfaceIndex); err != nil {
				err = fmt.Errorf("packet of interface %d: %w", ci.InterfaceIndex, err)
			}
			rec.LinkType = intf.LinkType
			rec.Interface = ci.InterfaceIndex
		}
	} else {
		data, ci, err = r.pr.ReadPacketData()
		rec.LinkType = r.pr.LinkType()
		if err == io.EOF && ci.CaptureLength > 0 {
			// The record header was read, its data is missing.
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil {
		if err == io.EOF {
			return Record{}, io.EOF
		}
		return Record{}, fmt.Errorf("capture: read %s: %w", r.name, err)
	}
	rec.Time = ci.Timestamp
	rec.Data = data
	rec.Length = ci.Length
	return rec, nil
}

// Close closes the file (nothing for a reader made by NewFileReader).
func (r *FileReader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
