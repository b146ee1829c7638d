package dhcpclient

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/dhcpopt"
)

// Escape returns a string from the wire fit for a terminal: as is when it
// is valid UTF-8 made only of printable characters, else quoted by
// craft.Escape, so that no control sequence, line break or bidirectional
// override reaches the screen.
func Escape(s string) string {
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return craft.Escape(s)
	}
	return s
}

// WriteReport prints the transcript for a person: one line per frame, with the time since
// the first one and an arrow for its direction.
func WriteReport(w io.Writer, rep Report) {
	const maxLines = 40
	if len(rep.Steps) == 0 {
		return
	}
	fmt.Fprintln(w, "Exchange:")
	first := time.Duration(rep.Steps[0].Elapsed)
	for i, s := range rep.Steps {
		if i == maxLines {
			fmt.Fprintf(w, "  ... %d more frames (see --pcap or --json)\n", len(rep.Steps)-i)
			break
		}
		arrow, text := "<-", s.Text
		if s.Dir.String() == "out" {
			arrow = "->"
		}
		if s.Ignored != "" {
			text = "ignored (" + s.Ignored + "): " + text
		}
		fmt.Fprintf(w, "  %10.3f ms  %s %s\n", ms(time.Duration(s.Elapsed)-first), arrow, Escape(text))
	}
	st := rep.Stats
	if n := st.Ignored.Total(); n > 0 || st.Dropped > 0 {
		fmt.Fprintf(w, "  (%d sent, %d received, %d ignored%s, %d dropped by the kernel)\n", st.Sent, st.Received, n, st.Ignored, st.Dropped)
	}
	for _, n := range rep.NAKs {
		fmt.Fprintf(w, "  DHCPNAK from %s (%s) for %s", n.Server, n.ServerMAC, n.Requested)
		if n.Message != "" {
			fmt.Fprintf(w, ": %q", n.Message)
		}
		fmt.Fprintln(w)
	}
	for _, c := range rep.Conflicts {
		fmt.Fprintf(w, "  CONFLICT: %s offered by %s is in use by %s; declined\n", c.Address, c.Server, c.Holder)
	}
	fmt.Fprintln(w)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteReply prints an offer (or an ACK to an INFORM) and its options for a
// person, every string from the wire escaped.
func WriteReply(w io.Writer, r *Reply) {
	rogue := ""
	if r.Rogue {
		rogue = "ROGUE "
	}
	fmt.Fprintf(w, "%s%s from %s (%s) in %.3f ms\n", rogue, r.Type, r.Server, r.ServerMAC, ms(time.Duration(r.Latency)))
	var rows [][2]string
	add := func(k, v string) { rows = append(rows, [2]string{k, v}) }
	if r.Address.IsValid() && !r.Address.IsUnspecified() {
		add("offered address", r.Address.String())
	}
	if r.SrcIP != r.Server {
		add("sent from", r.SrcIP.String())
	}
	if r.SIAddr.IsValid() {
		add("next server", r.SIAddr.String())
	}
	if r.SName != "" {
		add("server name", Escape(r.SName))
	}
	if r.File != "" {
		add("boot file", Escape(r.File))
	}
	for _, n := range r.Notes {
		add("note", n)
	}
	printRows(w, rows)
	fmt.Fprintln(w)
	printOptions(w, r.Options, nil)
}

// leaseShown are the options printLease shows in its summary.
var leaseShown = map[dhcpopt.Code]bool{
	dhcpopt.MessageType: true, dhcpopt.SubnetMask: true, dhcpopt.Router: true, dhcpopt.DomainServer: true,
	dhcpopt.DomainName: true, dhcpopt.LeaseTime: true, dhcpopt.RenewalTime: true, dhcpopt.RebindingTime: true,
	dhcpopt.ServerIdentifier: true,
}

// WriteLease prints a lease for a person, with its warnings, every string
// from the wire escaped.
func WriteLease(w io.Writer, l *Lease) {
	fmt.Fprintf(w, "Lease %s on %s from %s (%s)", l.Prefix(), l.Interface, l.Server, l.ServerMAC)
	if l.Exchange > 0 {
		fmt.Fprintf(w, ", acquired in %.3f ms", ms(time.Duration(l.Exchange)))
	}
	fmt.Fprintln(w)
	list := func(v []string) string {
		if len(v) == 0 {
			return "-"
		}
		return Escape(strings.Join(v, ", "))
	}
	text := func(c dhcpopt.Code) string {
		if x, ok := dhcpopt.Find(l.Options, c); ok {
			if x.Err != "" {
				return "MALFORMED " + Escape(x.Raw.String())
			}
			return Escape(x.Text)
		}
		return "-"
	}
	rows := [][2]string{{"address", l.Address.String()}, {"mask", text(dhcpopt.SubnetMask)},
		{"router", text(dhcpopt.Router)}, {"dns", text(dhcpopt.DomainServer)}, {"domain", text(dhcpopt.DomainName)}}
	if len(l.Search) > 0 {
		rows = append(rows, [2]string{"search", list(l.Search)})
	}
	at := func(d time.Duration) string { return l.Acquired.Add(d).Local().Format("15:04:05") }
	if l.Infinite() {
		rows = append(rows, [2]string{"lease", "infinite"})
	} else {
		def := ""
		if l.LeaseTimeDefaulted {
			def = " (DEFAULT: the server gave none usable)"
		}
		rows = append(rows,
			[2]string{"lease", fmt.Sprintf("%s (%d s)%s, expires %s", dhcpopt.Human(l.LeaseTime), int64(l.LeaseTime/time.Second), def, at(l.LeaseTime))},
			[2]string{"T1 renew", fmt.Sprintf("%s, at %s", dhcpopt.Human(l.T1), at(l.T1))},
			[2]string{"T2 rebind", fmt.Sprintf("%s, at %s", dhcpopt.Human(l.T2), at(l.T2))})
	}
	rows = append(rows, [2]string{"server", fmt.Sprintf("%s (%s)", l.Server, l.ServerMAC)})
	if l.Relay.IsValid() {
		rows = append(rows, [2]string{"relay", l.Relay.String()})
	}
	for _, x := range l.Warnings {
		rows = append(rows, [2]string{"WARNING", x})
	}
	printRows(w, rows)
	var other []dhcpopt.Option
	for _, x := range l.Options {
		if !leaseShown[x.Code] {
			other = append(other, x)
		}
	}
	if len(other) > 0 {
		fmt.Fprintln(w, "\nOther options:")
		printOptions(w, other, nil)
	}
	if a := l.Applied; a != nil {
		fmt.Fprintf(w, "\nApplied %s to %s", a.Address, a.Interface)
		for _, r := range a.Routes {
			fmt.Fprintf(w, "; route %s via %s metric %d", r.Dst, r.Gateway, r.Metric)
		}
		fmt.Fprintln(w, ".")
	}
}

func printRows(w io.Writer, rows [][2]string) {
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r[0], r[1])
	}
}

// printOptions prints an aligned table: code, IANA name, value (escaped).
func printOptions(w io.Writer, opts []dhcpopt.Option, skip map[dhcpopt.Code]bool) {
	width := len("Option")
	for _, o := range opts {
		width = max(width, utf8.RuneCountInString(o.Name))
	}
	fmt.Fprintf(w, "  %4s  %-*s  %s\n", "Code", width, "Option", "Value")
	for _, o := range opts {
		if skip[o.Code] {
			continue
		}
		text := Escape(o.Text)
		if o.Err != "" {
			text += "  [malformed: " + Escape(o.Err) + "]"
		}
		fmt.Fprintf(w, "  %4d  %-*s  %s\n", o.Code, width, o.Name, text)
	}
}
