package arpscan

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"
)

// OutputMode chooses what a Writer prints.
type OutputMode uint8

// Output modes.
const (
	// Table is arp-scan(1)'s table: IP, MAC, vendor, flags, one host a
	// line as it answers, DUP and CONFLICT lines when learnt, then the
	// replies that answered nothing and a summary line.
	Table OutputMode = iota + 1
	// Quiet is Table with IP and MAC only (arp-scan -q).
	Quiet
	// JSONLines prints one object per line, "record" naming its kind
	// (host, flag, unsolicited, cap), the summary last (docs/json.md).
	JSONLines
	// Formatted prints each host through a Format.
	Formatted
	// Document prints one JSON document at the end (docs/json.md).
	Document
)

// String returns the mode's name.
func (m OutputMode) String() string {
	switch m {
	case Table:
		return "table"
	case Quiet:
		return "quiet"
	case JSONLines:
		return "jsonl"
	case Formatted:
		return "format"
	case Document:
		return "json"
	}
	return "invalid"
}

// Writer prints a scan's results as they come (it is a Sink) and its
// summary at the end. It appends into one reused buffer, without fmt or
// encoding/json per host, so that printing a /16 costs little.
type Writer struct {
	mode   OutputMode
	w      *bufio.Writer
	format *Format
	// Warn receives announcements (a bound reached); nil means none.
	Warn io.Writer
	// Passive words the summary for a watch.
	Passive bool
	// Interface is named in the JSON summary.
	Interface string
	buf       []byte
	err       error
}

// NewWriter returns a Writer printing in mode to w; format is used by
// Formatted only.
func NewWriter(w io.Writer, mode OutputMode, format *Format) *Writer {
	return &Writer{mode: mode, w: bufio.NewWriterSize(w, 64<<10), format: format, buf: make([]byte, 0, 512)}
}

// Event prints e (in Document mode, only a bound's announcement).
func (w *Writer) Event(e *Event) {
	b := w.buf[:0]
	switch e.Kind {
	case EventCap:
		if w.Warn != nil {
			what := "unsolicited replies"
			if e.Flag == FlagConflict {
				what = "extra MACs for scanned addresses"
			}
			if w.Passive {
				what = "hosts"
			}
			fmt.Fprintf(w.Warn, "rawlab: warning: more than %d %s: the rest are counted, not listed\n", e.Limit, what)
		}
		if w.mode == JSONLines {
			b = append(b, `{"record":"cap","limit":`...)
			b = strconv.AppendInt(b, int64(e.Limit), 10)
			b = append(b, `,"kind":`...)
			if e.Flag == FlagConflict {
				b = append(b, `"conflict"}`+"\n"...)
			} else {
				b = append(b, `"unsolicited"}`+"\n"...)
			}
		}
	case EventHost:
		switch w.mode {
		case JSONLines:
			b = appendHostJSON(append(b, `{"record":"host",`...), &e.Host, false)
			b = append(b, "}\n"...)
		case Formatted:
			b = w.format.append(b, &e.Host)
		case Table, Quiet:
			b = w.appendLine(b, &e.Host, e.Host.Flags)
		}
	case EventFlag:
		switch w.mode {
		case JSONLines:
			b = append(b, `{"record":"flag","ip":"`...)
			b = e.Host.IP.AppendTo(b)
			b = append(b, `","mac":"`...)
			b = appendMAC(b, e.Host.MAC)
			b = append(b, `","flags":["`...)
			b = append(b, e.Flag.String()...)
			b = append(b, `"],"replies":`...)
			b = strconv.AppendInt(b, int64(e.Host.Replies), 10)
			b = append(b, "}\n"...)
		case Table, Quiet:
			b = w.appendLine(b, &e.Host, e.Flag)
		}
	case EventUnsolicited:
		if w.mode == JSONLines {
			b = appendHostJSON(append(b, `{"record":"unsolicited",`...), &e.Host, true)
			b = append(b, "}\n"...)
		}
	}
	w.buf = b
	if len(b) > 0 && w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

// Flush writes what is buffered.
func (w *Writer) Flush() error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// appendLine appends h as a table line with flags f.
func (w *Writer) appendLine(b []byte, h *Host, f Flags) []byte {
	b = h.IP.AppendTo(b)
	b = append(b, '\t')
	b = appendMAC(b, h.MAC)
	if h.EthSrc != nil {
		b = append(b, " ("...)
		b = appendMAC(b, h.EthSrc)
		b = append(b, ')')
	}
	if w.mode != Quiet {
		b = append(b, '\t')
		b = appendVendor(b, h)
		if h.Tagged {
			b = append(b, " (802.1Q VLAN="...)
			b = strconv.AppendInt(b, int64(h.VLAN.ID), 10)
			b = append(b, ')')
		}
		if f != 0 {
			b = append(b, '\t')
			b = append(b, f.String()...)
			if f&FlagDup != 0 {
				b = append(b, " ("...)
				b = strconv.AppendInt(b, int64(h.Replies), 10)
				b = append(b, " replies)"...)
			}
		}
	}
	return append(b, '\n')
}

// Summary prints the end of the output: for Table and Quiet the replies
// that answered nothing and the summary line, for JSONLines the summary
// record. It flushes.
func (w *Writer) Summary(r *Report) error {
	b := w.buf[:0]
	switch w.mode {
	case JSONLines:
		b = append(b, `{"record":"summary",`...)
		b = w.appendSummaryJSON(b, r)
		b = append(b, "}\n"...)
	case Table, Quiet:
		if len(r.Unsolicited) > 0 {
			b = fmt.Appendf(b, "\n# %d replies answered no request (gratuitous, for another host, or from an address not scanned):\n", len(r.Unsolicited))
			for i := range r.Unsolicited {
				b = w.appendLine(b, &r.Unsolicited[i], r.Unsolicited[i].Flags)
			}
		}
		b = append(b, '\n')
		b = appendSummaryText(b, r, w.Passive)
	}
	w.buf = b
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
	return w.Flush()
}

// appendSummaryText is the human summary line.
func appendSummaryText(b []byte, r *Report, passive bool) []byte {
	if passive {
		b = fmt.Appendf(b, "%d hosts seen in %.3f s, %d ARP frames", r.Responded, r.Elapsed.Seconds(), r.Received)
	} else {
		if r.Asked < r.Targets {
			b = fmt.Appendf(b, "%d of %d hosts scanned", r.Asked, r.Targets)
		} else {
			b = fmt.Appendf(b, "%d hosts scanned", r.Targets)
		}
		b = fmt.Appendf(b, " in %.3f s (%d requests), %d responded", r.Elapsed.Seconds(), r.Sent, r.Responded)
	}
	if r.UnsolicitedUnlisted > 0 || r.ConflictsUnlisted > 0 {
		b = fmt.Appendf(b, "; %d replies past the listing bounds counted, not listed", r.UnsolicitedUnlisted+r.ConflictsUnlisted)
	}
	switch {
	case r.Interrupted:
		b = append(b, "; interrupted"...)
	case r.LimitReached:
		b = append(b, "; stopped at the limit"...)
	}
	if r.Fast && r.GaveUpEarly > 0 {
		b = fmt.Appendf(b, "; ended early (fast): gave up on %d hosts sooner than the %v wait", r.GaveUpEarly, r.Timeout)
	}
	return append(b, '\n')
}

func (w *Writer) appendSummaryJSON(b []byte, r *Report) []byte {
	b = append(b, `"interface":`...)
	b = appendJSONString(b, w.Interface)
	b = append(b, `,"passive":`...)
	b = strconv.AppendBool(b, w.Passive)
	for _, kv := range []struct {
		k string
		v int
	}{{"targets", r.Targets}, {"asked", r.Asked}, {"sent", r.Sent}, {"responded", r.Responded},
		{"received", r.Received}, {"ignored", r.Ignored}, {"dropped", r.Dropped},
		{"unsolicited_count", len(r.Unsolicited)}, {"unlisted_count", r.UnsolicitedUnlisted + r.ConflictsUnlisted},
		{"gave_up_early_count", r.GaveUpEarly}} {
		b = append(b, `,"`...)
		b = append(b, kv.k...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, int64(kv.v), 10)
	}
	b = append(b, `,"elapsed_s":`...)
	b = strconv.AppendFloat(b, r.Elapsed.Seconds(), 'f', 6, 64)
	b = append(b, `,"timeout_ms":`...)
	b = strconv.AppendFloat(b, float64(r.Timeout.Microseconds())/1000, 'f', -1, 64)
	b = append(b, `,"fast":`...)
	b = strconv.AppendBool(b, r.Fast)
	b = append(b, `,"interrupted":`...)
	b = strconv.AppendBool(b, r.Interrupted)
	b = append(b, `,"limit_reached":`...)
	b = strconv.AppendBool(b, r.LimitReached)
	return b
}

// Finish prints the end of the output: r as one JSON document in Document
// mode, else the summary.
func (w *Writer) Finish(r *Report) error {
	if w.mode == Document {
		return w.WriteJSON(r)
	}
	return w.Summary(r)
}

// WriteJSON prints r as one JSON document (docs/json.md): the summary's
// fields, then "hosts" and "unsolicited".
func (w *Writer) WriteJSON(r *Report) error {
	b := append(w.buf[:0], '{')
	b = w.appendSummaryJSON(b, r)
	for _, part := range []struct {
		name  string
		hosts []Host
		unsol bool
	}{{"hosts", r.Hosts, false}, {"unsolicited", r.Unsolicited, true}} {
		b = append(b, `,"`...)
		b = append(b, part.name...)
		b = append(b, `":[`...)
		for i := range part.hosts {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendHostJSON(append(b, '{'), &part.hosts[i], part.unsol)
			b = append(b, '}')
			if len(b) > 32<<10 && w.err == nil {
				_, w.err = w.w.Write(b)
				b = b[:0]
			}
		}
		b = append(b, ']')
	}
	b = append(b, "}\n"...)
	w.buf = b[:0]
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
	return w.Flush()
}

// appendHostJSON appends h's fields (without braces).
func appendHostJSON(b []byte, h *Host, unsol bool) []byte {
	b = append(b, `"ip":"`...)
	b = h.IP.AppendTo(b)
	b = append(b, `","mac":"`...)
	b = appendMAC(b, h.MAC)
	b = append(b, '"')
	if h.EthSrc != nil {
		b = append(b, `,"eth_src_mac":"`...)
		b = appendMAC(b, h.EthSrc)
		b = append(b, '"')
	}
	b = append(b, `,"vendor":`...)
	b = appendJSONString(b, h.Vendor)
	if h.Tagged {
		b = append(b, `,"vlans":[{"id":`...)
		b = strconv.AppendInt(b, int64(h.VLAN.ID), 10)
		b = append(b, `,"priority":`...)
		b = strconv.AppendInt(b, int64(h.VLAN.Priority), 10)
		b = append(b, `,"dei":`...)
		b = strconv.AppendBool(b, h.VLAN.DEI)
		tpid := uint16(h.VLAN.TPID)
		if tpid == 0 {
			tpid = 0x8100
		}
		b = append(b, `,"tpid":"0x`...)
		b = append(b, hexDigits[tpid>>12], hexDigits[tpid>>8&15], hexDigits[tpid>>4&15], hexDigits[tpid&15], '"', '}', ']')
	}
	if h.RTT >= 0 && !unsol {
		b = append(b, `,"rtt_ms":`...)
		b = strconv.AppendFloat(b, float64(h.RTT.Microseconds())/1000, 'f', -1, 64)
	}
	b = append(b, `,"replies":`...)
	b = strconv.AppendInt(b, int64(h.Replies), 10)
	if !unsol {
		b = append(b, `,"requests":`...)
		b = strconv.AppendInt(b, int64(h.Requests), 10)
	}
	b = append(b, `,"flags":[`...)
	for i, n := range flagNames {
		if h.Flags&(1<<i) != 0 {
			if b[len(b)-1] != '[' {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, n...)
			b = append(b, '"')
		}
	}
	b = append(b, ']')
	if unsol {
		b = append(b, `,"target_ip":"`...)
		b = h.TargetIP.AppendTo(b)
		b = append(b, `","target_mac":"`...)
		b = appendMAC(b, h.TargetMAC)
		b = append(b, `","gratuitous":`...)
		b = strconv.AppendBool(b, h.Gratuitous())
	}
	if !h.Seen.IsZero() {
		b = append(b, `,"time":"`...)
		b = h.Seen.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendMAC appends mac as aa:bb:cc:dd:ee:ff.
func appendMAC(b []byte, mac net.HardwareAddr) []byte {
	const hexd = "0123456789abcdef"
	for i, x := range mac {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexd[x>>4], hexd[x&15])
	}
	return b
}

// appendJSONString appends s as a JSON string (RFC 8259 §7), exact: only
// quotes, backslashes, control characters and invalid UTF-8 are escaped.
func appendJSONString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15])
		}
		i++
	}
	return append(b, '"')
}

// appendEscaped appends s for a terminal: printable text as it is, the
// rest as strconv.Quote escapes it, without the quotes.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf || c == '\\' {
			q := strconv.Quote(s)
			return append(b, q[1:len(q)-1]...)
		}
	}
	return append(b, s...)
}

// appendVendor appends arp-scan's vendor column: the name, escaped, or why
// there is none.
func appendVendor(b []byte, h *Host) []byte {
	switch {
	case h.Vendor != "":
		return appendEscaped(b, h.Vendor)
	case len(h.MAC) > 0 && h.MAC[0]&2 != 0:
		return append(b, "(Unknown: locally administered)"...)
	}
	return append(b, "(Unknown)"...)
}

// Format prints a host through arp-scan's --format syntax (${ip} ${mac}
// ${vendor}, ${field;width}) or a Go text/template.
type Format struct {
	tmpl   *template.Template
	pieces []piece
}

type piece struct {
	lit   string
	field string
	width int
}

// formatFields are the ${...} fields, as arp-scan(1) names them (case
// does not matter). Padding, Framing and Proto are always empty: rawlab
// decodes only Ethernet II frames of Ethernet/IPv4 ARP, and keeps no
// padding. "flags" and "replies" are rawlab's.
var formatFields = map[string]bool{"ip": true, "mac": true, "hdrmac": true, "vendor": true, "vlan": true, "vlan_id": true,
	"rtt": true, "dup": true, "padding": true, "framing": true, "proto": true, "flags": true, "replies": true}

// unescape applies arp-scan's format escapes: \n, \r, \t, and \ before
// any other character for that character.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// FormatHost is what a Go template sees: a Host's fields as text, wire and
// file strings escaped.
type FormatHost struct {
	IP, MAC, EthSrc, Vendor, Flags, RTT string
	VLAN, Replies                       int
}

// ParseFormat compiles s: a Go template when it holds "{{", else arp-scan's
// ${field} syntax. It tries the result on a sample host, so that a bad
// field is an error now rather than when the first host answers.
func ParseFormat(s string) (*Format, error) {
	f := &Format{}
	if strings.Contains(s, "{{") {
		t, err := template.New("format").Option("missingkey=error").Parse(s)
		if err != nil {
			return nil, fmt.Errorf("arpscan: format: %w", err)
		}
		f.tmpl = t
	} else {
		rest := s
		for rest != "" {
			i := strings.Index(rest, "${")
			if i < 0 {
				f.pieces = append(f.pieces, piece{lit: unescape(rest)})
				break
			}
			if i > 0 {
				f.pieces = append(f.pieces, piece{lit: unescape(rest[:i])})
			}
			j := strings.IndexByte(rest[i:], '}')
			if j < 0 {
				return nil, fmt.Errorf("arpscan: format: %q has no closing brace", excerpt(rest[i:]))
			}
			name, width, _ := strings.Cut(rest[i+2:i+j], ";")
			name = strings.ToLower(name)
			p := piece{field: name}
			if name == "name" {
				return nil, errors.New("arpscan: format: field \"name\" needs host names, and rawlab resolves none")
			}
			if !formatFields[name] {
				return nil, fmt.Errorf("arpscan: format: unknown field %q (known: ip, mac, hdrmac, vendor, vlan, rtt, dup, padding, framing, proto, flags, replies)", excerpt(name))
			}
			if width != "" {
				w, err := strconv.Atoi(width)
				if err != nil || w < -256 || w > 256 {
					return nil, fmt.Errorf("arpscan: format: field width %q is not a number from -256 to 256", excerpt(width))
				}
				p.width = w
			}
			f.pieces = append(f.pieces, p)
			rest = rest[i+j+1:]
		}
	}
	sample := Host{IP: addr4(0xc6120001), MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, RTT: time.Millisecond, Replies: 1}
	if f.tmpl != nil {
		if err := f.tmpl.Execute(io.Discard, f.view(&sample)); err != nil {
			return nil, fmt.Errorf("arpscan: format: %w", err)
		}
	}
	return f, nil
}

func excerpt(s string) string {
	if len(s) > maxExcerpt {
		return s[:maxExcerpt] + "..."
	}
	return s
}

func (f *Format) view(h *Host) FormatHost {
	v := FormatHost{IP: h.IP.String(), MAC: h.MAC.String(), Vendor: string(appendVendor(nil, h)), Flags: h.Flags.String(),
		VLAN: -1, Replies: h.Replies}
	if h.EthSrc != nil {
		v.EthSrc = h.EthSrc.String()
	}
	if h.Tagged {
		v.VLAN = int(h.VLAN.ID)
	}
	if h.RTT >= 0 {
		v.RTT = strconv.FormatFloat(float64(h.RTT.Microseconds())/1000, 'f', 3, 64) + " ms"
	}
	return v
}

// append appends h formatted, ending with a newline.
func (f *Format) append(b []byte, h *Host) []byte {
	if f.tmpl != nil {
		var sb strings.Builder
		if err := f.tmpl.Execute(&sb, f.view(h)); err != nil {
			sb.WriteString("(format error)")
		}
		b = append(b, sb.String()...)
	} else {
		for _, p := range f.pieces {
			if p.field == "" {
				b = append(b, p.lit...)
				continue
			}
			start := len(b)
			switch p.field {
			case "ip":
				b = h.IP.AppendTo(b)
			case "mac":
				b = appendMAC(b, h.MAC)
			case "hdrmac": // the Ethernet source, if it differs
				b = appendMAC(b, h.EthSrc)
			case "vendor":
				b = appendVendor(b, h)
			case "vlan", "vlan_id":
				if h.Tagged {
					b = strconv.AppendInt(b, int64(h.VLAN.ID), 10)
				}
			case "rtt":
				if h.RTT >= 0 {
					b = strconv.AppendFloat(b, float64(h.RTT.Microseconds())/1000, 'f', 3, 64)
				}
			case "dup": // the reply count, for a duplicate (> 1)
				if h.Replies > 1 {
					b = strconv.AppendInt(b, int64(h.Replies), 10)
				}
			case "flags":
				b = append(b, h.Flags.String()...)
			case "replies":
				b = strconv.AppendInt(b, int64(h.Replies), 10)
			}
			b = pad(b, start, p.width)
		}
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return b
}

// pad pads b[start:] with spaces to |width| characters: on the left for a
// positive width, on the right for a negative one.
func pad(b []byte, start, width int) []byte {
	n := utf8.RuneCount(b[start:])
	w := width
	if w < 0 {
		w = -w
	}
	if n >= w {
		return b
	}
	fill := strings.Repeat(" ", w-n)
	if width < 0 {
		return append(b, fill...)
	}
	field := string(b[start:])
	return append(append(b[:start], fill...), field...)
}
