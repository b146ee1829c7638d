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
	w           io.Writer
	json, jsonl bool
	enc         *json.Encoder
	frames      []frameRecord // --json, the first maxDocFrames
	count, max  int           // --json: every frame; the most kept
}

// maxDocFrames bounds the frames one --json document holds (memory);
// "count" still counts them all, and --jsonl streams any number.
const maxDocFrames = 100000

// printerFor prints as the global --json and --jsonl flags ask.
func printerFor(w io.Writer, a *app) *framePrinter {
	return &framePrinter{w: w, json: a.json, jsonl: a.jsonl, enc: json.NewEncoder(w), frames: []frameRecord{}, max: maxDocFrames}
}

// PrintFrame writes one frame of link type lt, wireLen bytes long on the
// wire.
func (p *framePrinter) PrintFrame(lt craft.LinkType, ts time.Time, data []byte, wireLen int, dir capture.Direction, comment string) error {
	s := craft.SummarizeLink(lt, data, wireLen)
	if p.json || p.jsonl {
		l := frameRecord{Comment: comment, Frame: s}
		if u := ts.UTC(); !ts.IsZero() {
			l.Time = &u
		}
		if dir != 0 {
			l.Direction = dir.String()
		}
		if p.json {
			if p.count++; p.count <= p.max {
				p.frames = append(p.frames, l)
			}
			return nil
		}
		l.Record = "frame"
		return p.enc.Encode(l)
	}
	stamp := ""
	if !ts.IsZero() {
		stamp = ts.Format("15:04:05.000000") + " "
	}
	d := dir.Column()
	if comment != "" {
		comment = "  # " + craft.Escape(comment)
	}
	_, err := fmt.Fprintf(p.w, "%s%s%s%s\n", stamp, d, s, comment)
	return err
}

// End prints, with --json, the one document: the frames, their count and
// the fields of summary; with --jsonl, summary (when not nil) as the last
// line, a "summary" record.
func (p *framePrinter) End(summary map[string]any) error {
	switch {
	case p.json:
		doc := map[string]any{"frames": p.frames, "count": p.count, "frames_truncated": p.count > p.max}
		for k, v := range summary {
			doc[k] = v
		}
		return p.enc.Encode(doc)
	case p.jsonl && summary != nil:
		summary["record"] = "summary"
		return p.enc.Encode(summary)
	}
	return nil
}
