package send

import (
	"cmp"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// Format is how a Printer prints.
type Format uint8

// Printer formats (docs/json.md, "craft").
const (
	Text  Format = iota + 1 // one `tcpdump -e -n` line per frame
	JSON                    // one document at the end: frames, sent, received
	JSONL                   // one {"record":"frame"} object per frame, then a summary
)

// MaxJSONFrames bounds the frames a JSON document lists (it then says
// "frames_truncated"); JSONL streams them all.
const MaxJSONFrames = 1000

// Printer prints the frames a Run sends and receives. Frames from the wire
// are summarized with craft.SummarizeLink, whose text escapes what it
// prints; JSON keeps them exact.
type Printer struct {
	W      io.Writer
	Format Format
	Hex    bool              // Text: a hex dump after each line
	File   *capture.Recorder // if set, every frame is written to it too
	doc    struct {
		Frames      []Frame `json:"frames"`
		Sent        int     `json:"sent"`
		Received    int     `json:"received"`
		Truncated   bool    `json:"frames_truncated,omitempty"`
		Interrupted bool    `json:"interrupted,omitempty"`
	}
}

// Frame is the JSON form of one frame.
type Frame struct {
	Record    string        `json:"record,omitempty"` // "frame" in JSONL
	Time      *time.Time    `json:"time,omitempty"`
	Direction string        `json:"direction,omitempty"`
	Frame     craft.Summary `json:"frame"`
}

// Frame prints one Ethernet frame, length bytes long on the wire (0: as
// long as frame); at is zero for a frame that was only built.
func (p *Printer) Frame(at time.Time, frame []byte, dir capture.Direction, length int) error {
	if p.File != nil {
		if err := p.File.Write(capture.Record{Time: cmp.Or(at, time.Now()), Data: frame, Length: length, Dir: dir}); err != nil {
			return err
		}
	}
	r := Frame{Frame: craft.SummarizeLink(craft.LinkEthernet, frame, length)}
	if !at.IsZero() {
		at = at.UTC()
		r.Time = &at
	}
	if dir != 0 {
		r.Direction = dir.String()
	}
	switch p.Format {
	case JSONL:
		r.Record = "frame"
		return json.NewEncoder(p.W).Encode(r)
	case JSON:
		if p.doc.Truncated = len(p.doc.Frames) == MaxJSONFrames; !p.doc.Truncated {
			p.doc.Frames = append(p.doc.Frames, r)
		}
		return nil
	}
	line := r.Frame.String()
	if !at.IsZero() {
		line = at.Local().Format("15:04:05.000000 ") + dir.Column() + line
	}
	if _, err := fmt.Fprintln(p.W, line); err != nil || !p.Hex {
		return err
	}
	_, err := fmt.Fprint(p.W, hex.Dump(frame))
	return err
}

// End prints the JSON document, or JSONL's summary line when anything was
// sent.
func (p *Printer) End(r Result, interrupted bool) error {
	switch {
	case p.Format == JSONL && r.Sent > 0:
		return json.NewEncoder(p.W).Encode(map[string]any{"record": "summary", "sent": r.Sent, "received": r.Replies})
	case p.Format == JSON:
		p.doc.Sent, p.doc.Received, p.doc.Interrupted = r.Sent, r.Replies, interrupted
		if p.doc.Frames == nil {
			p.doc.Frames = []Frame{}
		}
		return json.NewEncoder(p.W).Encode(p.doc)
	}
	return nil
}
