package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// frameRecord is the JSON form of one captured or read frame
// (docs/json.md, "capture and read").
type frameRecord struct {
	Record    string        `json:"record,omitempty"` // "frame", in --jsonl
	Time      *time.Time    `json:"time,omitempty"`
	Direction string        `json:"direction,omitempty"`
	Comment   string        `json:"comment,omitempty"`
	Frame     craft.Summary `json:"frame"`
}

// framePrinter prints frames one per line as `tcpdump -e -n` does, as JSON
// lines (--jsonl), or keeps them for one JSON document at the end (--json).
type framePrinter struct {
	w      io.Writer
	jsonl  bool
	json   bool
	enc    *json.Encoder
	frames []frameRecord // --json
}

// newFramePrinter prints text, or JSON lines when asJSON.
func newFramePrinter(w io.Writer, asJSON bool) *framePrinter {
	return &framePrinter{w: w, jsonl: asJSON, enc: json.NewEncoder(w)}
}

// printerFor prints as the global --json and --jsonl flags ask.
func printerFor(w io.Writer, a *app) *framePrinter {
	return &framePrinter{w: w, json: a.json, jsonl: a.jsonl, enc: json.NewEncoder(w), frames: []frameRecord{}}
}

// Print writes one Ethernet frame captured whole.
func (p *framePrinter) Print(ts time.Time, data []byte, dir capture.Direction, comment string) error {
	return p.PrintFrame(craft.LinkEthernet, ts, data, len(data), dir, comment)
}

// PrintFrame writes one frame of link type lt, wireLen bytes long on the
// wire.
func (p *framePrinter) PrintFrame(lt craft.LinkType, ts time.Time, data []byte, wireLen int, dir capture.Direction, comment string) error {
	s := craft.SummarizeLink(lt, data, wireLen)
	if p.json || p.jsonl {
		l := frameRecord{Comment: comment, Frame: s}
		if !ts.IsZero() {
			u := ts.UTC()
			l.Time = &u
		}
		if dir != 0 {
			l.Direction = dir.String()
		}
		if p.json {
			p.frames = append(p.frames, l)
			return nil
		}
		l.Record = "frame"
		return p.enc.Encode(l)
	}
	stamp := ""
	if !ts.IsZero() {
		stamp = ts.Format("15:04:05.000000") + " "
	}
	d := map[capture.Direction]string{capture.Inbound: "In  ", capture.Outbound: "Out "}[dir]
	if comment != "" {
		comment = "  # " + craft.Escape(comment)
	}
	_, err := fmt.Fprintf(p.w, "%s%s%s%s\n", stamp, d, s, comment)
	return err
}

// Document prints, with --json, the one document: the frames, their count,
// and the fields of extra (a struct whose fields are added at the top).
func (p *framePrinter) Document(extra map[string]any) error {
	if !p.json {
		return nil
	}
	doc := map[string]any{"frames": p.frames, "count": len(p.frames)}
	for k, v := range extra {
		doc[k] = v
	}
	return p.enc.Encode(doc)
}
