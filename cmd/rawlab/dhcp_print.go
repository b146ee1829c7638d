package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rawlab/rawlab/craft/dhcpopt"
	"github.com/rawlab/rawlab/dhcpclient"
)

// maxExchangeLines bounds the exchange printed for a person.
const maxExchangeLines = 40

// printExchange prints the transcript: one line per frame, with the time
// since the first one and an arrow for its direction.
func printExchange(a *app, rep dhcpclient.Report) {
	if len(rep.Steps) == 0 {
		return
	}
	w := a.stdout
	fmt.Fprintln(w, "Exchange:")
	first := time.Duration(rep.Steps[0].Elapsed)
	for i, s := range rep.Steps {
		if i == maxExchangeLines {
			fmt.Fprintf(w, "  ... %d more frames (see --pcap or --json)\n", len(rep.Steps)-i)
			break
		}
		arrow := "<-"
		if s.Dir == "sent" {
			arrow = "->"
		}
		text := s.Text
		if s.Ignored != "" {
			text = "ignored (" + s.Ignored + "): " + text
		}
		ms := float64(time.Duration(s.Elapsed)-first) / float64(time.Millisecond)
		fmt.Fprintf(w, "  %10.3f ms  %s %s\n", ms, arrow, text)
	}
	st := rep.Stats
	if n := st.Ignored.Total(); n > 0 {
		fmt.Fprintf(w, "  (%d sent, %d received, %d ignored: %s)\n", st.Sent, st.Received, n, ignoredText(st.Ignored))
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

func ignoredText(i dhcpclient.Ignored) string {
	var parts []string
	for _, x := range []struct {
		n int
		s string
	}{{i.Malformed, "malformed"}, {i.NotReply, "not a reply"}, {i.XID, "wrong xid"}, {i.CHAddr, "wrong chaddr"},
		{i.ServerID, "wrong server id"}, {i.Type, "unexpected type"}, {i.VLAN, "other VLAN"},
		{i.Unexpected, "late"}, {i.Selection, "not selected"}} {
		if x.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.s))
		}
	}
	return strings.Join(parts, ", ")
}

// printFailure prints what happened before an error (the error itself goes
// to stderr as the exit message).
func printFailure(a *app, rep dhcpclient.Report, err error) {
	if a.json {
		_ = writeJSON(a, struct {
			Error  string            `json:"error"`
			Report dhcpclient.Report `json:"report"`
		}{err.Error(), rep})
		return
	}
	printExchange(a, rep)
}

// printReply prints an offer (or an ACK to an INFORM) and its options.
func printReply(a *app, r *dhcpclient.Reply) {
	w := a.stdout
	fmt.Fprintf(w, "%s from %s (%s) in %.3f ms\n", r.Type, r.Server, r.ServerMAC, float64(time.Duration(r.Latency))/float64(time.Millisecond))
	var rows [][2]string
	if r.Address.IsValid() && !r.Address.IsUnspecified() {
		rows = append(rows, [2]string{"offered address", r.Address.String()})
	}
	if r.SrcIP != r.Server {
		rows = append(rows, [2]string{"sent from", r.SrcIP.String()})
	}
	if r.SIAddr.IsValid() {
		rows = append(rows, [2]string{"next server", r.SIAddr.String()})
	}
	if r.SName != "" {
		rows = append(rows, [2]string{"server name", r.SName})
	}
	if r.File != "" {
		rows = append(rows, [2]string{"boot file", r.File})
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

func printLease(a *app, l *dhcpclient.Lease) {
	w := a.stdout
	fmt.Fprintf(w, "Lease %s on %s from %s (%s)", l.Prefix(), l.Interface, l.Server, l.ServerMAC)
	if l.Exchange > 0 {
		fmt.Fprintf(w, ", acquired in %.3f ms", float64(time.Duration(l.Exchange))/float64(time.Millisecond))
	}
	fmt.Fprintln(w)
	join := func(v []string) string {
		if len(v) == 0 {
			return "-"
		}
		return strings.Join(v, ", ")
	}
	var routers, dns []string
	for _, r := range l.Routers {
		routers = append(routers, r.String())
	}
	for _, r := range l.DNS {
		dns = append(dns, r.String())
	}
	mask := "-"
	if o, ok := dhcpopt.Find(l.Options, dhcpopt.SubnetMask); ok {
		mask = o.Text
	}
	domain := l.Domain
	if domain == "" {
		domain = "-"
	}
	rows := [][2]string{
		{"address", l.Address.String()},
		{"mask", mask},
		{"router", join(routers)},
		{"dns", join(dns)},
		{"domain", domain},
	}
	if len(l.Search) > 0 {
		rows = append(rows, [2]string{"search", join(l.Search)})
	}
	at := func(d time.Duration) string { return l.Acquired.Add(d).Local().Format("15:04:05") }
	if l.Infinite() {
		rows = append(rows, [2]string{"lease", "infinite"})
	} else {
		rows = append(rows,
			[2]string{"lease", fmt.Sprintf("%s (%d s), expires %s", dhcpopt.Human(l.LeaseTime), int64(l.LeaseTime/time.Second), at(l.LeaseTime))},
			[2]string{"T1 renew", fmt.Sprintf("%s, at %s", dhcpopt.Human(l.T1), at(l.T1))},
			[2]string{"T2 rebind", fmt.Sprintf("%s, at %s", dhcpopt.Human(l.T2), at(l.T2))})
	}
	rows = append(rows, [2]string{"server", fmt.Sprintf("%s (%s)", l.Server, l.ServerMAC)})
	if l.Relay.IsValid() {
		rows = append(rows, [2]string{"relay", l.Relay.String()})
	}
	printRows(w, rows)
	var other []dhcpopt.Option
	for _, o := range l.Options {
		if !leaseShown[o.Code] {
			other = append(other, o)
		}
	}
	if len(other) > 0 {
		fmt.Fprintln(w, "\nOther options:")
		printOptions(w, other, nil)
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

// printOptions prints an aligned table: code, IANA name, value.
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
		text := o.Text
		if o.Err != "" {
			text += "  [malformed: " + o.Err + "]"
		}
		fmt.Fprintf(w, "  %4d  %-*s  %s\n", o.Code, width, o.Name, text)
	}
}
