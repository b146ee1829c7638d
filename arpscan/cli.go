package arpscan

import (
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ParseBandwidth parses a bandwidth in bit/s with an optional K, M or G
// (decimal) suffix, as arp-scan's --bandwidth.
func ParseBandwidth(s string) (float64, error) {
	mult, t := 1.0, strings.TrimSpace(s)
	if n := len(t); n > 0 {
		if m, ok := map[byte]float64{'k': 1e3, 'K': 1e3, 'm': 1e6, 'M': 1e6, 'g': 1e9, 'G': 1e9}[t[n-1]]; ok {
			mult, t = m, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fieldErr("Bandwidth", strconv.Quote(excerpt(s)), "is not a positive number of bits per second")
	}
	return v * mult, nil
}

// ParseRate parses a rate in requests/s, or "max" for RateMax.
func ParseRate(s string) (float64, error) {
	if strings.EqualFold(s, "max") {
		return RateMax, nil
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || r <= 0 || math.IsInf(r, 0) || math.IsNaN(r) {
		return 0, fieldErr("Rate", strconv.Quote(excerpt(s)), "is not a positive number of requests per second, or max")
	}
	return r, nil
}

// InterfacePrefixes returns ifi's IPv4 addresses with their prefixes, for
// Config.Networks.
func InterfacePrefixes(ifi *net.Interface) ([]netip.Prefix, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("arpscan: addresses of %s: %w", ifi.Name, err)
	}
	var out []netip.Prefix
	for _, ad := range addrs {
		if ipn, ok := ad.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.Unmap().Is4() {
				ones, _ := ipn.Mask.Size()
				out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
			}
		}
	}
	return out, nil
}

// DrawProgress draws a progress bar for s on w every 200 ms until the
// returned function is called, which clears the line.
func (s *Scanner) DrawProgress(w io.Writer) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				pr := s.Progress()
				fill := 0
				if pr.Targets > 0 {
					fill = pr.Done * 30 / pr.Targets
				}
				fmt.Fprintf(w, "\r[%s%s] %d/%d done, %d answered, %d sent", strings.Repeat("#", fill),
					strings.Repeat(".", 30-fill), pr.Done, pr.Targets, pr.Answered, pr.Sent)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// PingWriter prints Ping's replies and summary as arping(8) does, or as
// JSON lines or one JSON document (docs/json.md).
type PingWriter struct {
	w      io.Writer
	mode   OutputMode // Table, JSONLines or Document
	target netip.Addr
	held   []byte // the document's replies
}

// NewPingWriter returns a PingWriter for replies from target; mode is
// Table, JSONLines, or Document for one JSON document at the end.
func NewPingWriter(w io.Writer, mode OutputMode, target netip.Addr) *PingWriter {
	return &PingWriter{w: w, mode: mode, target: target}
}

// Header prints arping's first line (text only).
func (p *PingWriter) Header(from netip.Addr, probe bool, ifname string) {
	if p.mode == Table {
		f := from.String()
		if probe {
			f = "0.0.0.0 (RFC 5227 probe)"
		}
		fmt.Fprintf(p.w, "ARPING %s from %s %s\n", p.target, f, ifname)
	}
}

// Reply prints one reply.
func (p *PingWriter) Reply(r PingReply) {
	if p.mode == Table {
		kind, extra := "Broadcast", ""
		if r.Unicast {
			kind = "Unicast"
		}
		if r.EthSrc != nil {
			extra += fmt.Sprintf(" (Ethernet source %s)", r.EthSrc)
		}
		if r.Tagged {
			extra += fmt.Sprintf(" (802.1Q VLAN=%d)", r.VLAN.ID)
		}
		fmt.Fprintf(p.w, "%s reply from %s [%s]  %.3fms%s\n", kind, p.target, r.MAC, float64(r.RTT.Microseconds())/1000, extra)
		return
	}
	h := Host{IP: p.target, MAC: r.MAC, EthSrc: r.EthSrc, Tagged: r.Tagged, VLAN: r.VLAN, RTT: r.RTT, Replies: 1, Requests: r.Seq, Seen: r.Time}
	var b []byte
	if p.mode == JSONLines {
		b = append(b, `{"record":"reply",`...)
	} else if len(p.held) > 0 {
		b = append(b, ',')
	}
	b = appendHostJSON(append(b, `"unicast":`+strconv.FormatBool(r.Unicast)+`,`...), &h, false)
	if p.mode == JSONLines {
		p.w.Write(append(b, "}\n"...))
		return
	}
	p.held = append(append(p.held, '{'), append(b, '}')...)
}

// Summary prints the end: arping's counts, the summary record or the
// whole document.
func (p *PingWriter) Summary(res PingResult, interrupted bool) error {
	if p.mode == Table {
		_, err := fmt.Fprintf(p.w, "Sent %d probes, received %d response(s)\n", res.Sent, res.Received)
		if len(res.MACs) > 1 && err == nil {
			_, err = fmt.Fprintf(p.w, "CONFLICT: %d MACs answered for %s\n", len(res.MACs), p.target)
		}
		return err
	}
	b := []byte(`{`)
	if p.mode == JSONLines {
		b = append(b, `"record":"summary",`...)
	}
	b = fmt.Appendf(b, `"target_ip":"%s","sent":%d,"received":%d,"interrupted":%t,"macs":[`, p.target, res.Sent, res.Received, interrupted)
	for i, m := range res.MACs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendMAC(append(b, '"'), m), '"')
	}
	b = append(b, ']')
	if p.mode != JSONLines {
		b = append(append(append(b, `,"replies":[`...), p.held...), ']')
	}
	_, err := p.w.Write(append(b, "}\n"...))
	return err
}
