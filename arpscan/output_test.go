package arpscan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/internal/jsoncheck"
)

// recordingSink keeps the events it is told, as JSON lines and kinds.
type recordingSink struct {
	w     *Writer
	kinds []EventKind
}

func (s *recordingSink) Event(e *Event) { s.kinds = append(s.kinds, e.Kind); s.w.Event(e) }
func (s *recordingSink) Flush() error   { return s.w.Flush() }

func testHosts() *Report {
	mac := net.HardwareAddr{0x02, 0xaa, 0, 0, 0, 1}
	r := &Report{Targets: 2, Asked: 2, Sent: 3, Responded: 1, Elapsed: 1500 * time.Millisecond, Timeout: DefaultTimeout,
		Hosts: []Host{{IP: mustAddr("198.18.0.5"), MAC: mac, EthSrc: net.HardwareAddr{0x02, 0xbb, 0, 0, 0, 2},
			Vendor: "Evil \x1b[2J\"Vendor\"\n", Tagged: true, VLAN: craft.VLAN{ID: 42}, RTT: 1234 * time.Microsecond,
			Replies: 2, Requests: 1, Flags: FlagDup | FlagMismatch, Seen: time.Unix(1700000000, 5)}},
		Unsolicited: []Host{{IP: mustAddr("198.18.0.9"), MAC: mac, RTT: -1, Replies: 20, TargetIP: mustAddr("198.18.0.9"),
			TargetMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}}}
	return r
}

// TestWriterJSON: --jsonl lines and the --json document follow
// docs/json.md, keep wire strings exact, and the summary comes last.
func TestWriterJSON(t *testing.T) {
	r := testHosts()
	var buf bytes.Buffer
	w := NewWriter(&buf, JSONLines, nil)
	w.Interface = "eth0"
	w.Event(&Event{Kind: EventHost, Host: r.Hosts[0]})
	w.Event(&Event{Kind: EventFlag, Host: r.Hosts[0], Flag: FlagDup})
	w.Event(&Event{Kind: EventUnsolicited, Host: r.Unsolicited[0]})
	w.Event(&Event{Kind: EventCap, Limit: 4096})
	if err := w.Summary(r); err != nil {
		t.Fatal(err)
	}
	if err := jsoncheck.Lines(buf.Bytes()); err != nil {
		t.Errorf("--jsonl: %v\n%s", err, buf.String())
	}
	if !strings.Contains(buf.String(), `"vendor":"Evil \u001b[2J\"Vendor\"\n"`) {
		t.Errorf("vendor not exact in JSON:\n%s", buf.String())
	}
	buf.Reset()
	if err := w.WriteJSON(r); err != nil {
		t.Fatal(err)
	}
	if err := jsoncheck.Document(buf.Bytes()); err != nil {
		t.Errorf("--json: %v\n%s", err, buf.String())
	}
}

// TestWriterTable: arp-scan's columns, the vendor escaped, DUP on a line
// of its own, unsolicited replies apart, an honest summary.
func TestWriterTable(t *testing.T) {
	r := testHosts()
	r.Interrupted = true
	var buf bytes.Buffer
	w := NewWriter(&buf, Table, nil)
	w.Event(&Event{Kind: EventHost, Host: r.Hosts[0]})
	w.Event(&Event{Kind: EventFlag, Host: r.Hosts[0], Flag: FlagDup})
	if err := w.Summary(r); err != nil {
		t.Fatal(err)
	}
	want := "198.18.0.5\t02:aa:00:00:00:01 (02:bb:00:00:00:02)\tEvil \\x1b[2J\\\"Vendor\\\"\\n (802.1Q VLAN=42)\tDUP,MISMATCH (2 replies)\n" +
		"198.18.0.5\t02:aa:00:00:00:01 (02:bb:00:00:00:02)\tEvil \\x1b[2J\\\"Vendor\\\"\\n (802.1Q VLAN=42)\tDUP (2 replies)\n" +
		"\n# 1 replies answered no request (gratuitous, for another host, or from an address not scanned):\n" +
		"198.18.0.9\t02:aa:00:00:00:01\t(Unknown: locally administered)\n" +
		"\n2 hosts scanned in 1.500 s (3 requests), 1 responded; interrupted\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

func TestFormat(t *testing.T) {
	h := testHosts().Hosts[0]
	tests := []struct{ format, want string }{
		{"${ip}\t${mac}\t${vendor}", "198.18.0.5\t02:aa:00:00:00:01\tEvil \\x1b[2J\\\"Vendor\\\"\\n\n"},
		{`${IP}\t${Mac}\\${proto}\n`, "198.18.0.5\t02:aa:00:00:00:01\\\n"},
		{"${ip;-12}|${replies;4}|${hdrmac} ${vlan} ${dup}", "198.18.0.5  |   2|02:bb:00:00:00:02 42 2\n"},
		{"{{.IP}} {{.MAC}} {{.Replies}} {{.VLAN}}\n", "198.18.0.5 02:aa:00:00:00:01 2 42\n"},
	}
	for _, tt := range tests {
		f, err := ParseFormat(tt.format)
		if err != nil {
			t.Fatalf("ParseFormat(%q): %v", tt.format, err)
		}
		if got := string(f.append(nil, &h)); got != tt.want {
			t.Errorf("format %q = %q, want %q", tt.format, got, tt.want)
		}
	}
	for _, bad := range []string{"${name}", "${Name}", "${ip", "{{.Nope}}", "{{.IP", "${ip;x}", "${nope}"} {
		if _, err := ParseFormat(bad); err == nil {
			t.Errorf("ParseFormat(%q) accepted", bad)
		}
	}
}

// TestTraceWriterOrders: records pushed out of order by the two streams
// come out in time order.
func TestTraceWriterOrders(t *testing.T) {
	var got []time.Time
	w := NewTraceWriter(func(r capture.Record) error { got = append(got, r.Time); return nil })
	base := time.Unix(1000, 0)
	at := func(ms int) capture.FrameInfo {
		return capture.FrameInfo{Time: base.Add(time.Duration(ms) * time.Millisecond)}
	}
	w.Trace(capture.Outbound, make([]byte, 60), at(1))
	w.Trace(capture.Outbound, make([]byte, 60), at(5))
	w.Trace(capture.Inbound, make([]byte, 60), at(2)) // read late
	w.Trace(capture.Outbound, make([]byte, 60), at(7))
	w.Trace(capture.Inbound, make([]byte, 60), at(6))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := []time.Time{at(1).Time, at(2).Time, at(5).Time, at(6).Time, at(7).Time}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("record times (-want +got):\n%s", diff)
	}
}

// TestScanOnlyAnswersCount: replies not addressed to the scanner (a
// gratuitous storm, an answer to another host) make no host, and a reply
// before any request has no RTT.
func TestScanOnlyAnswersCount(t *testing.T) {
	c := newFakeConn()
	c.add("198.18.0.5", &fakeHost{mac: macN(5)})
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	var storm [][]byte
	for i := 0; i < 2000; i++ {
		ip := [4]byte{198, 18, 0, byte(100 + i%100)}
		storm = append(storm, AppendFrame(nil, &Packet{EthDst: bcast, EthSrc: macN(i % 100), Op: opReply, SHA: macN(i % 100), SPA: ip, THA: bcast, TPA: ip}))
	}
	// An answer to someone else, and an early answer addressed to us.
	storm = append(storm, AppendFrame(nil, &Packet{EthDst: macN(999), EthSrc: macN(7), Op: opReply, SHA: macN(7),
		SPA: [4]byte{198, 18, 0, 7}, THA: macN(999), TPA: [4]byte{198, 18, 0, 99}}))
	storm = append(storm, AppendFrame(nil, &Packet{EthDst: [6]byte(scannerMAC), EthSrc: macN(8), Op: opReply, SHA: macN(8),
		SPA: [4]byte{198, 18, 0, 8}, THA: [6]byte(scannerMAC), TPA: [4]byte{198, 18, 0, 1}}))
	c.inject(storm...)
	var buf bytes.Buffer
	sink := &recordingSink{w: NewWriter(&buf, JSONLines, nil)}
	r := runScan(t, c, mustTargets(t, "198.18.0.0/24"), Config{Rate: RateMax, Timeout: 50 * time.Millisecond, Limit: 2, Sink: sink})
	got := map[string]time.Duration{}
	for _, h := range r.Hosts {
		got[h.IP.String()] = h.RTT
	}
	if len(got) != 2 || got["198.18.0.8"] != -1 || got["198.18.0.5"] < 0 {
		t.Errorf("hosts %v: want .5 with an RTT and .8 (answered before asked) without", got)
	}
	if len(r.Unsolicited) != 101 || r.Responded != 2 {
		t.Errorf("%d unsolicited, %d responded; want 101 and 2", len(r.Unsolicited), r.Responded)
	}
	if err := jsoncheck.Lines(append(buf.Bytes(), `{"record":"summary"}`+"\n"...)); err != nil {
		t.Errorf("streamed records: %v", err)
	}
}

// TestScanNetworks: each target is asked from the scanner's address on its
// network; targets outside every network from SenderIP.
func TestScanNetworks(t *testing.T) {
	c := newFakeConn()
	cfg := Config{Rate: RateMax, Retry: 1, Timeout: 5 * time.Millisecond, SenderIP: mustAddr("198.18.0.1"),
		Networks: []netipPrefix{mustPrefix("198.18.0.1/24"), mustPrefix("198.18.1.1/24")}}
	runScan(t, c, mustTargets(t, "198.18.0.9", "198.18.1.9", "198.18.2.9"), cfg)
	want := map[string]string{"198.18.0.9": "198.18.0.1", "198.18.1.9": "198.18.1.1", "198.18.2.9": "198.18.0.1"}
	got := map[string]string{}
	for _, s := range c.sent {
		var p Packet
		if err := DecodeFrame(s.frame, &p); err != nil {
			t.Fatal(err)
		}
		got[p.TargetIP().String()] = p.SenderIP().String()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sender IP per target (-want +got):\n%s", diff)
	}
}

// TestScanManyMACsLinear: 50,000 replies for one address from 50,000 MACs
// cost a map lookup each (arp-scan takes 0.2 s of CPU for them); past the
// bound they are counted, and the bound is announced once.
func TestScanManyMACsLinear(t *testing.T) {
	s, err := NewScanner(nopConn{}, mustTargets(t, "198.18.0.5"), Config{SrcMAC: scannerMAC, SenderIP: mustAddr("198.18.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	var caps int
	s.cfg.Sink = sinkFunc(func(e *Event) {
		if e.Kind == EventCap {
			caps++
		}
	})
	var p Packet
	m := Msg{Buf: make([]byte, 128)}
	start := time.Now()
	for i := 0; i < 50000; i++ {
		r := Packet{EthDst: [6]byte(scannerMAC), EthSrc: macN(i), Op: opReply, SHA: macN(i), SPA: [4]byte{198, 18, 0, 5},
			THA: [6]byte(scannerMAC), TPA: [4]byte{198, 18, 0, 1}}
		m.N = len(AppendFrame(m.Buf[:0], &r))
		m.Info.Time = time.Now()
		s.handle(&m, &p)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("50,000 replies took %v", d)
	}
	r := s.report(0)
	if len(r.Hosts) != 1+DefaultMaxConflicts || r.ConflictsUnlisted != 50000-1-DefaultMaxConflicts || caps != 1 {
		t.Errorf("%d hosts, %d unlisted, %d announcements; want %d, %d, 1", len(r.Hosts), r.ConflictsUnlisted, caps,
			1+DefaultMaxConflicts, 50000-1-DefaultMaxConflicts)
	}
}

type sinkFunc func(*Event)

func (f sinkFunc) Event(e *Event) { f(e) }
func (f sinkFunc) Flush() error   { return nil }

// TestConfigRefusesOutOfRange: bad values are refused, never replaced.
func TestConfigRefusesOutOfRange(t *testing.T) {
	for _, tt := range []struct {
		cfg   Config
		field string
	}{
		{Config{SrcMAC: scannerMAC, Backoff: 1e308}, "Backoff"},
		{Config{SrcMAC: scannerMAC, Timeout: 2 * time.Hour}, "Timeout"},
		{Config{SrcMAC: scannerMAC, Retry: 255, Backoff: 99}, "Backoff"},
		{Config{SrcMAC: net.HardwareAddr{0x01, 0, 0x5e, 0, 0, 1}}, "SrcMAC"},
		{Config{SrcMAC: scannerMAC, MinTimeout: time.Second, Fast: true}, "MinTimeout"},
	} {
		err := tt.cfg.Validate()
		var fe *FieldError
		if !errorsAs(err, &fe) || fe.Field != tt.field {
			t.Errorf("Validate(%+v) = %v, want a FieldError for %s", tt.cfg, err, tt.field)
		}
	}
}

// BenchmarkWriter measures printing one host as it answers, per mode: the
// JSON lines must cost little more than the table.
func BenchmarkWriter(b *testing.B) {
	h := testHosts().Hosts[0]
	h.EthSrc, h.Tagged, h.Flags, h.Vendor = nil, false, 0, "Xerox Corporation"
	for _, mode := range []OutputMode{Table, Quiet, JSONLines} {
		b.Run(fmt.Sprint(mode), func(b *testing.B) {
			w := NewWriter(io.Discard, mode, nil)
			e := &Event{Kind: EventHost, Host: h}
			b.ReportAllocs()
			for b.Loop() {
				w.Event(e)
			}
		})
	}
}

// FuzzParseFormat: no format panics, in parsing or in printing a host.
func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"${ip}\t${mac}\t${vendor}", "${ip;-15}${rtt;8}", "{{.IP}} {{.Vendor}}", "${", "${ip;", "}{", "{{", "${dup}${flags}"} {
		f.Add(s)
	}
	h := testHosts().Hosts[0]
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := ParseFormat(s)
		if err != nil {
			return
		}
		if out := fm.append(nil, &h); len(out) == 0 || out[len(out)-1] != '\n' {
			t.Fatalf("format %q printed %q, not a line", s, out)
		}
	})
}

// TestScanUnsolicitedCap: past MaxUnsolicited pairs, replies are counted,
// and the bound is announced once.
func TestScanUnsolicitedCap(t *testing.T) {
	c := newFakeConn()
	var frames [][]byte
	for i := 0; i < 50; i++ {
		ip := [4]byte{198, 18, 1, byte(i)}
		frames = append(frames, AppendFrame(nil, &Packet{EthDst: [6]byte(scannerMAC), EthSrc: macN(i), Op: opReply, SHA: macN(i),
			SPA: ip, THA: [6]byte(scannerMAC), TPA: [4]byte{198, 18, 0, 1}}))
	}
	c.inject(frames...)
	var caps []int
	sink := sinkFunc(func(e *Event) {
		if e.Kind == EventCap {
			caps = append(caps, e.Limit)
		}
	})
	r := runScan(t, c, mustTargets(t, "198.18.0.9"), Config{Rate: RateMax, Retry: 1, Timeout: 30 * time.Millisecond, MaxUnsolicited: 10, Sink: sink})
	if len(r.Unsolicited) != 10 || r.UnsolicitedUnlisted != 40 || !cmp.Equal(caps, []int{10}) {
		t.Errorf("%d listed, %d unlisted, announcements %v; want 10, 40, [10]", len(r.Unsolicited), r.UnsolicitedUnlisted, caps)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf, Table, nil)
	if err := w.Summary(r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "40 replies past the listing bounds counted, not listed") {
		t.Errorf("summary does not announce the bound:\n%s", buf.String())
	}
}

// TestWatchStreams: a passive watch tells its sink of each host as it is
// seen, CONFLICT as a flag of the first MAC when a second claims it.
func TestWatchStreams(t *testing.T) {
	conn := newFakeConn()
	conn.inject(arpFrame(opRequest, macN(1), macN(1), [4]byte{198, 18, 0, 1}, [4]byte{198, 18, 0, 2}),
		arpFrame(opRequest, macN(2), macN(2), [4]byte{198, 18, 0, 1}, [4]byte{198, 18, 0, 3}))
	var got []string
	sink := sinkFunc(func(e *Event) { got = append(got, fmt.Sprintf("%v %v %v %v", e.Kind, e.Host.IP, e.Host.MAC, e.Flag)) })
	if _, err := Watch(context.Background(), conn, PassiveConfig{Duration: 30 * time.Millisecond, Sink: sink}); err != nil {
		t.Fatal(err)
	}
	want := []string{"host 198.18.0.1 02:aa:00:00:00:01 ", "flag 198.18.0.1 02:aa:00:00:00:01 CONFLICT", "host 198.18.0.1 02:aa:00:00:00:02 "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
