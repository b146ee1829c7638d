package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// frameLine is the JSON form of one captured or read frame.
type frameLine struct {
	Time    *time.Time    `json:"time,omitempty"`
	Dir     string        `json:"dir,omitempty"`
	Comment string        `json:"comment,omitempty"`
	Frame   craft.Summary `json:"frame"`
}

// framePrinter prints frames one per line, as `tcpdump -e -n` does, or as
// JSON lines.
type framePrinter struct {
	w    io.Writer
	json bool
	enc  *json.Encoder
}

func newFramePrinter(w io.Writer, asJSON bool) *framePrinter {
	p := &framePrinter{w: w, json: asJSON}
	if asJSON {
		p.enc = json.NewEncoder(w)
	}
	return p
}

// Print writes one frame.
func (p *framePrinter) Print(ts time.Time, data []byte, dir capture.Direction, comment string) error {
	s := craft.Summarize(data)
	if p.json {
		l := frameLine{Comment: comment, Frame: s}
		if !ts.IsZero() {
			l.Time = &ts
		}
		if dir != 0 {
			l.Dir = dir.String()
		}
		return p.enc.Encode(l)
	}
	stamp := ""
	if !ts.IsZero() {
		stamp = ts.Format("15:04:05.000000") + " "
	}
	d := ""
	switch dir {
	case capture.Inbound:
		d = "In  "
	case capture.Outbound:
		d = "Out "
	}
	if comment != "" {
		_, err := fmt.Fprintf(p.w, "%s%s%s  # %s\n", stamp, d, s, comment)
		return err
	}
	_, err := fmt.Fprintf(p.w, "%s%s%s\n", stamp, d, s)
	return err
}
