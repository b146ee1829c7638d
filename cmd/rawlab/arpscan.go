package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/rawlab/rawlab/arpscan"
	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/internal/oui"
)

// arpscanFlags holds rawlab arpscan's flags; names follow arp-scan(1).
type arpscanFlags struct {
	file      string
	localnet  bool
	exclude   []string
	force     bool
	rate      string
	bandwidth string
	retry     int
	timeoutMS int
	backoff   float64
	fixed     bool
	minTO     time.Duration
	random    bool
	seed      uint64
	srcMAC    string
	arpsha    string
	arptha    string
	destaddr  string
	arpspa    string
	vlan      int
	ouifile   string
	macfile   string
	jsonl     bool
	format    string
	pcap      string
	limit     int
	passive   bool
	duration  time.Duration
	progress  string
	quiet     bool
}

func newArpscanCmd(a *app) *cobra.Command {
	var f arpscanFlags
	cmd := &cobra.Command{
		Use:   "arpscan -i IF [flags] [TARGET...]",
		Short: "Find every host on a subnet with ARP requests (like arp-scan)",
		Long: `arpscan sends an ARP request to each target and lists who answered: IP, MAC,
vendor (from the IEEE OUI table built into rawlab) and flags:

  DUP       the same MAC answered more often than it was asked
  CONFLICT  one IP answered from two or more MACs (each is listed)
  MISMATCH  the Ethernet source differs from the ARP sender MAC (shown in brackets)

Targets: addresses, CIDR prefixes (198.18.0.0/24, network and broadcast
included), ranges (198.18.0.10-198.18.0.99), network:mask, --file FILE (- for
stdin) or --localnet (every address of the interface's IPv4 networks), minus
--exclude. More than 65,536 targets need --force.

Pacing is arp-scan's: --bandwidth (default 256000 bit/s, each request costed
at 64 bytes, so 500 requests/s) or --rate PPS, or --rate max. --retry is the
total tries per host, --timeout the wait in ms after the first (times
--backoff for each further try). By default the wait adapts to the round-trip
times seen in the scan (RFC 6298, floor --min-timeout, ceiling --timeout);
--fixed-timeout keeps arp-scan's fixed waits. The scan ends as soon as every
host answered or gave up.

--passive sends nothing and lists the hosts seen in ARP traffic.
Exit status: 0, or 1 when fewer than --limit hosts answered, 2 for bad usage.`,
		Example: `  rawlab arpscan -i veth0 198.18.0.0/24
  rawlab arpscan -i veth0 --localnet --rate max --json
  rawlab arpscan -i veth0 --arpspa 0.0.0.0 --vlan 42 --retry 3 198.18.1.0/24 --pcap scan.pcapng
  rawlab arpscan -i veth0 --passive --duration 30s`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runArpscan(cmd.Context(), a, &f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "read targets from `FILE`, one per line (- for stdin)")
	fl.BoolVarP(&f.localnet, "localnet", "l", false, "scan every address of the interface's IPv4 networks")
	fl.StringSliceVar(&f.exclude, "exclude", nil, "leave out these `TARGETS` (repeatable, comma-separated)")
	fl.BoolVar(&f.force, "force", false, "allow more than 65,536 targets")
	fl.StringVar(&f.rate, "rate", "", "send `PPS` requests per second, or max (default from --bandwidth)")
	fl.StringVarP(&f.bandwidth, "bandwidth", "B", "", "outgoing `BITS` per second, K/M/G suffixes allowed (default 256000)")
	fl.IntVarP(&f.retry, "retry", "r", arpscan.DefaultRetry, "total tries per host")
	fl.IntVarP(&f.timeoutMS, "timeout", "t", int(arpscan.DefaultTimeout/time.Millisecond), "wait after the first try, in `MS` (the adaptive ceiling)")
	fl.Float64VarP(&f.backoff, "backoff", "b", arpscan.DefaultBackoff, "multiply the wait by `F` for each further try")
	fl.BoolVar(&f.fixed, "fixed-timeout", false, "use arp-scan's fixed waits instead of adapting them to measured RTTs")
	fl.DurationVar(&f.minTO, "min-timeout", arpscan.DefaultMinTimeout, "floor of the adaptive wait")
	fl.BoolVarP(&f.random, "random", "R", false, "send to the targets in random order")
	fl.Uint64Var(&f.seed, "seed", 0, "seed for --random (0: a random seed)")
	fl.StringVarP(&f.srcMAC, "src-mac", "S", "", "Ethernet source `MAC` (default: the interface's)")
	fl.StringVar(&f.arpsha, "arpsha", "", "ARP sender hardware address `MAC` (default: --src-mac)")
	fl.StringVar(&f.arptha, "arptha", "", "ARP target hardware address `MAC` (default: 00:00:00:00:00:00)")
	fl.StringVarP(&f.destaddr, "destaddr", "T", "", "Ethernet destination `MAC` (default: broadcast)")
	fl.StringVar(&f.arpspa, "arpspa", "", "ARP sender `IP` (default: the interface's address; 0.0.0.0 for RFC 5227 probes)")
	fl.IntVarP(&f.vlan, "vlan", "Q", -1, "tag requests with 802.1Q VLAN `ID` (0-4095)")
	fl.StringVar(&f.ouifile, "ouifile", "", "use this IEEE OUI `FILE` (arp-scan's ieee-oui.txt format) instead of the built-in table")
	fl.StringVar(&f.macfile, "macfile", "", "add local vendor names from `FILE` (arp-scan's mac-vendor.txt format)")
	fl.BoolVar(&f.jsonl, "jsonl", false, "print one JSON object per host")
	fl.StringVar(&f.format, "format", "", "print each host with this Go text/template (fields .IP .MAC .Vendor .RTT .Flags .VLAN .Replies .EthSrc)")
	fl.StringVar(&f.pcap, "pcap", "", "record every request and reply to pcapng `FILE`")
	fl.IntVarP(&f.limit, "limit", "M", 0, "stop after `N` hosts answered; exit 1 if fewer did")
	fl.BoolVar(&f.passive, "passive", false, "send nothing: list the hosts seen in ARP requests and replies")
	fl.DurationVar(&f.duration, "duration", 0, "with --passive, watch for `D` (default: until interrupted)")
	fl.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (when a terminal and the scan takes > 1 s), always, never")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only IP and MAC")
	return cmd
}

// scanPlan is everything validated before a socket opens.
type scanPlan struct {
	ifi     *net.Interface
	targets *arpscan.Targets
	cfg     arpscan.Config
	vendor  oui.Chain
	tmpl    *template.Template
	warn    []string
}

// parseBits parses a bandwidth with an optional K, M or G (decimal) suffix.
func parseBits(s string) (float64, error) {
	mult := 1.0
	t := strings.TrimSpace(s)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k', 'K':
			mult, t = 1e3, t[:n-1]
		case 'm', 'M':
			mult, t = 1e6, t[:n-1]
		case 'g', 'G':
			mult, t = 1e9, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a positive number of bits per second", s)
	}
	return v * mult, nil
}

func macFlag(name, s string) (net.HardwareAddr, error) {
	if s == "" {
		return nil, nil
	}
	return parseMACFlag("arpscan: --"+name, s)
}

// planArpscan validates every flag, the interface and the targets. It opens
// no socket and sends nothing.
func planArpscan(a *app, f *arpscanFlags, args []string) (*scanPlan, error) {
	ifname, err := a.needInterface()
	if err != nil {
		return nil, err
	}
	p := &scanPlan{}
	outputs := 0
	for _, b := range []bool{a.json, f.jsonl, f.format != ""} {
		if b {
			outputs++
		}
	}
	switch {
	case outputs > 1:
		return nil, usageErrorf("arpscan: choose one of --json, --jsonl and --format")
	case f.rate != "" && f.bandwidth != "":
		return nil, usageErrorf("arpscan: give --rate or --bandwidth, not both")
	case f.retry < 1 || f.retry > 255:
		return nil, usageErrorf("arpscan: --retry %d: want 1 to 255 tries", f.retry)
	case f.timeoutMS < 1:
		return nil, usageErrorf("arpscan: --timeout %d: want a positive number of milliseconds", f.timeoutMS)
	case f.backoff < 1 || math.IsNaN(f.backoff) || math.IsInf(f.backoff, 0):
		return nil, usageErrorf("arpscan: --backoff %v: want a factor of at least 1", f.backoff)
	case f.minTO <= 0:
		return nil, usageErrorf("arpscan: --min-timeout must be positive")
	case f.vlan < -1 || f.vlan > 4095:
		return nil, usageErrorf("arpscan: --vlan %d: want a VLAN ID from 0 to 4095", f.vlan)
	case f.limit < 0:
		return nil, usageErrorf("arpscan: --limit must not be negative")
	case f.duration < 0:
		return nil, usageErrorf("arpscan: --duration must not be negative")
	case f.duration > 0 && !f.passive:
		return nil, usageErrorf("arpscan: --duration applies to --passive only")
	case f.localnet && (len(args) > 0 || f.file != ""):
		return nil, usageErrorf("arpscan: --localnet takes no other targets")
	case f.passive && (len(args) > 0 || f.file != "" || f.localnet):
		return nil, usageErrorf("arpscan: --passive scans nothing: give no targets")
	case !f.passive && len(args) == 0 && f.file == "" && !f.localnet:
		return nil, usageErrorf("arpscan: no targets: give addresses, ranges or prefixes, --file or --localnet")
	case f.progress != "auto" && f.progress != "always" && f.progress != "never":
		return nil, usageErrorf("arpscan: --progress %q: want auto, always or never", f.progress)
	}
	cfg := arpscan.Config{Retry: f.retry, Timeout: time.Duration(f.timeoutMS) * time.Millisecond,
		Backoff: f.backoff, Fixed: f.fixed, MinTimeout: f.minTO, Limit: f.limit}
	if f.rate != "" {
		if strings.EqualFold(f.rate, "max") {
			cfg.Rate = arpscan.RateMax
		} else {
			r, err := strconv.ParseFloat(f.rate, 64)
			if err != nil || r <= 0 || math.IsInf(r, 0) || math.IsNaN(r) {
				return nil, usageErrorf("arpscan: --rate %q: want a positive number of requests per second, or max", f.rate)
			}
			cfg.Rate = r
		}
	}
	if f.bandwidth != "" {
		bw, err := parseBits(f.bandwidth)
		if err != nil {
			return nil, usageErrorf("arpscan: --bandwidth %v", err)
		}
		cfg.Bandwidth = bw
	}
	if cfg.SrcMAC, err = macFlag("src-mac", f.srcMAC); err != nil {
		return nil, err
	}
	if cfg.SenderMAC, err = macFlag("arpsha", f.arpsha); err != nil {
		return nil, err
	}
	if cfg.TargetMAC, err = macFlag("arptha", f.arptha); err != nil {
		return nil, err
	}
	if cfg.DstMAC, err = macFlag("destaddr", f.destaddr); err != nil {
		return nil, err
	}
	spa, err := parseIPv4Flag("arpscan: --arpspa", f.arpspa, netip.Addr{})
	if err != nil {
		return nil, err
	}
	if f.vlan >= 0 {
		cfg.Tagged, cfg.VLAN = true, uint16(f.vlan)
	}
	if f.format != "" {
		t, err := template.New("format").Parse(f.format)
		if err != nil {
			return nil, usageErrorf("arpscan: --format: %v", err)
		}
		p.tmpl = t
	}
	if f.pcap != "" {
		if err := outputPathCheck(f.pcap); err != nil {
			return nil, usageErrorf("arpscan: --pcap %s: %v", f.pcap, err)
		}
	}
	// Vendor tables.
	base := oui.Default()
	if f.ouifile != "" {
		if base, err = oui.ParseFile(f.ouifile); err != nil {
			return nil, usageError(fmt.Errorf("arpscan: --ouifile: %w", err))
		}
	}
	if f.macfile != "" {
		local, err := oui.ParseFile(f.macfile)
		if err != nil {
			return nil, usageError(fmt.Errorf("arpscan: --macfile: %w", err))
		}
		p.vendor = append(p.vendor, local)
	}
	p.vendor = append(p.vendor, base)

	// Targets.
	specs := args
	if f.file != "" {
		var r io.Reader
		if f.file == "-" {
			r = a.stdin
		} else {
			fh, err := os.Open(f.file)
			if err != nil {
				return nil, usageError(fmt.Errorf("arpscan: --file: %w", err))
			}
			defer fh.Close()
			r = fh
		}
		fs, err := arpscan.ReadTargetFile(r)
		if err != nil {
			return nil, usageError(err)
		}
		specs = append(specs, fs...)
	}
	var ts *arpscan.Targets
	if !f.localnet && !f.passive {
		if ts, err = parseTargetFlags(f, specs); err != nil {
			return nil, err
		}
	}
	// Interface: exists, up, Ethernet.
	ifi, err := capture.LookupInterface(ifname)
	if err != nil {
		return nil, usageError(err)
	}
	p.ifi = ifi
	if cfg.SrcMAC == nil {
		if len(ifi.HardwareAddr) != 6 {
			return nil, usageErrorf("arpscan: interface %s has no Ethernet address; give --src-mac", ifname)
		}
		cfg.SrcMAC = ifi.HardwareAddr
	}
	if f.passive {
		p.cfg = cfg
		return p, nil
	}

	ifPrefixes, err := interfacePrefixes(ifi)
	if err != nil {
		return nil, usageError(fmt.Errorf("arpscan: addresses of %s: %w", ifname, err))
	}
	if f.localnet {
		if len(ifPrefixes) == 0 {
			return nil, usageErrorf("arpscan: --localnet: interface %s has no IPv4 address", ifname)
		}
		for _, pf := range ifPrefixes {
			specs = append(specs, pf.Masked().String())
		}
		if ts, err = parseTargetFlags(f, specs); err != nil {
			return nil, err
		}
	}
	if f.random {
		seed := f.seed
		if seed == 0 {
			seed = uint64(time.Now().UnixNano())
		}
		ts.Shuffle(seed)
	}
	p.targets = ts

	// Sender IP: --arpspa, else the interface's address on the targets'
	// network, else its first IPv4 address, else 0.0.0.0 with a warning.
	switch {
	case spa.IsValid():
		cfg.SenderIP = spa
	case len(ifPrefixes) > 0:
		cfg.SenderIP = ifPrefixes[0].Addr()
		first := ts.Addr(0)
		for _, pf := range ifPrefixes {
			if pf.Contains(first) {
				cfg.SenderIP = pf.Addr()
				break
			}
		}
	default:
		cfg.SenderIP = netip.IPv4Unspecified()
		p.warn = append(p.warn, fmt.Sprintf("arpscan: %s has no IPv4 address: sending with sender IP 0.0.0.0 (set it with --arpspa)", ifname))
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageError(err)
	}
	p.cfg = cfg
	return p, nil
}

// parseTargetFlags builds the target set from specs and --exclude/--force.
func parseTargetFlags(f *arpscanFlags, specs []string) (*arpscan.Targets, error) {
	var excl []string
	for _, e := range f.exclude {
		for _, x := range strings.Split(e, ",") {
			if x = strings.TrimSpace(x); x != "" {
				excl = append(excl, x)
			}
		}
	}
	ts, err := arpscan.ParseTargets(specs, excl, arpscan.TargetOptions{Force: f.force})
	if err != nil {
		return nil, usageError(err)
	}
	return ts, nil
}

// interfacePrefixes returns the interface's IPv4 addresses with their prefixes.
func interfacePrefixes(ifi *net.Interface) ([]netip.Prefix, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, ad := range addrs {
		ipn, ok := ad.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if !ip.Is4() {
			continue
		}
		ones, _ := ipn.Mask.Size()
		out = append(out, netip.PrefixFrom(ip, ones))
	}
	return out, nil
}

func runArpscan(ctx context.Context, a *app, f *arpscanFlags, args []string) (err error) {
	p, err := planArpscan(a, f, args)
	if err != nil {
		return err
	}
	// A receive ring where many replies come fast (no syscall per frame);
	// plain recvmmsg otherwise, where a frame is handed over the moment it
	// lands and closing costs one RCU grace period, not two (tearing a ring
	// down waits for one more, ~12 ms).
	dc := arpscan.DialConfig{Passive: f.passive, Promiscuous: f.passive, RingSize: -1}
	if !f.passive && p.cfg.Rate > 20000 && p.targets.Len() >= 4096 {
		// A reply takes 128 bytes of ring, and the ring's pages count in
		// the resident size from the start: room for one reply per target
		// (the reader drains it meanwhile), between 1 and 16 MiB.
		dc.RingSize = min(16<<20, max(1<<20, 128*p.targets.Len()))
	}
	conn, err := arpscan.Dial(p.ifi, dc)
	if err != nil {
		return usageError(err)
	}
	defer conn.Close()
	for _, w := range p.warn {
		fmt.Fprintln(a.stderr, "rawlab: warning:", w)
	}

	var rec *capture.Recorder
	var recMu sync.Mutex
	var recErr error
	var trace func(arpscan.Direction, []byte, int, time.Time)
	if f.pcap != "" {
		rec, err = capture.CreateRecorder(f.pcap, capture.RecorderOptions{Format: capture.FormatPcapng, Interface: p.ifi.Name})
		if err != nil {
			return usageError(err)
		}
		defer removeOnError(f.pcap, &err)
		trace = func(d arpscan.Direction, frame []byte, vlan int, t time.Time) {
			dir := capture.Inbound
			if d == arpscan.Sent {
				dir = capture.Outbound
			}
			data := frame
			if vlan >= 0 {
				data = withVLAN(frame, vlan)
			}
			recMu.Lock()
			if e := rec.Write(capture.Record{Time: t, Data: data, Dir: dir}); e != nil && recErr == nil {
				recErr = e
			}
			recMu.Unlock()
		}
	}
	// Hosts often share a MAC (proxy ARP, a router answering for a range):
	// remember each MAC's vendor rather than search the table again.
	cache := map[string]string{}
	vendor := func(m net.HardwareAddr) string {
		if v, ok := cache[string(m)]; ok {
			return v
		}
		v := p.vendor.Lookup(m)
		cache[string(m)] = v
		return v
	}

	var rep *arpscan.Report
	var runErr error
	if f.passive {
		fmt.Fprintf(a.stderr, "rawlab: watching ARP on %s (sending nothing)\n", p.ifi.Name)
		rep, runErr = arpscan.Watch(ctx, conn, arpscan.PassiveConfig{Duration: f.duration, Vendor: vendor, Trace: trace})
		if errors.Is(runErr, context.Canceled) {
			runErr = nil // Ctrl-C ends a passive watch normally
		}
	} else {
		cfg := p.cfg
		cfg.Vendor = vendor
		cfg.Trace = trace
		s, err := arpscan.NewScanner(conn, p.targets, cfg)
		if err != nil {
			return usageError(err)
		}
		stopBar := startProgress(a.stderr, f.progress, s, cfg.Estimate(p.targets.Len()))
		rep, runErr = s.Run(ctx)
		stopBar()
	}
	// Tear the socket down while the report is printed: releasing a packet
	// socket waits for one or two RCU grace periods (10-40 ms).
	closed := make(chan struct{})
	go func() {
		conn.Close()
		close(closed)
	}()
	defer func() { <-closed }()
	if rec != nil {
		recMu.Lock()
		cerr := errors.Join(recErr, rec.Close())
		recMu.Unlock()
		if cerr != nil && runErr == nil {
			runErr = fmt.Errorf("arpscan: --pcap: %w", cerr)
		}
	}
	if rep != nil && rep.Dropped > 0 {
		fmt.Fprintf(a.stderr, "rawlab: warning: the kernel dropped %d frames before they were read; answers may be missing\n", rep.Dropped)
	}
	if rep != nil {
		if werr := printReport(a, f, p, rep); werr != nil && runErr == nil {
			runErr = werr
		}
	}
	if runErr != nil {
		return failure(runErr)
	}
	if f.limit > 0 && rep.Responded < f.limit {
		return silent(exitFailed)
	}
	return nil
}

// withVLAN returns frame with an 802.1Q tag for vlan inserted after the MAC
// addresses, as it crossed the wire before the kernel stripped it.
func withVLAN(frame []byte, vlan int) []byte {
	if len(frame) < 12 {
		return frame
	}
	out := make([]byte, 0, len(frame)+4)
	out = append(out, frame[:12]...)
	out = append(out, 0x81, 0x00, byte(vlan>>8)&0x0f, byte(vlan))
	return append(out, frame[12:]...)
}

// startProgress draws a progress bar on w while the scan runs, when w is a
// terminal and the scan may take more than a second (or always/never).
func startProgress(w io.Writer, mode string, s *arpscan.Scanner, estimate time.Duration) func() {
	if mode == "never" || (mode == "auto" && (!isTerminal(w) || estimate <= time.Second)) {
		return func() {}
	}
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
				const width = 30
				fill := 0
				if pr.Targets > 0 {
					fill = pr.Done * width / pr.Targets
				}
				fmt.Fprintf(w, "\r[%s%s] %d/%d done, %d answered, %d sent", strings.Repeat("#", fill),
					strings.Repeat(".", width-fill), pr.Done, pr.Targets, pr.Answered, pr.Sent)
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// vendorText is arp-scan's vendor column: the name, or why there is none.
func vendorText(h arpscan.Host) string {
	switch {
	case h.Vendor != "":
		return h.Vendor
	case len(h.MAC) > 0 && h.MAC[0]&2 != 0:
		return "(Unknown: locally administered)"
	}
	return "(Unknown)"
}

func printReport(a *app, f *arpscanFlags, p *scanPlan, rep *arpscan.Report) error {
	w := a.stdout
	switch {
	case a.json:
		// The same object json.Marshal would give, written host by host so
		// that a /16's report is never held twice in memory.
		bw := bufio.NewWriterSize(w, 64<<10)
		head, err := json.Marshal(struct {
			Interface string  `json:"interface"`
			Passive   bool    `json:"passive,omitempty"`
			Targets   int     `json:"targets"`
			Sent      int     `json:"sent"`
			Responded int     `json:"responded"`
			ElapsedS  float64 `json:"elapsed_s"`
			Dropped   int     `json:"kernel_drops"`
		}{p.ifi.Name, f.passive, rep.Targets, rep.Sent, rep.Responded, rep.Elapsed.Seconds(), rep.Dropped})
		if err != nil {
			return fmt.Errorf("arpscan: %w", err)
		}
		bw.Write(head[:len(head)-1])
		for _, part := range []struct {
			name  string
			hosts []arpscan.Host
		}{{"hosts", rep.Hosts}, {"unexpected", rep.Unexpected}} {
			fmt.Fprintf(bw, ",%q:[", part.name)
			for i, h := range part.hosts {
				raw, err := json.Marshal(h)
				if err != nil {
					return fmt.Errorf("arpscan: %w", err)
				}
				if i > 0 {
					bw.WriteByte(',')
				}
				bw.Write(raw)
			}
			bw.WriteByte(']')
		}
		bw.WriteString("}\n")
		return bw.Flush()
	case f.jsonl:
		bw := bufio.NewWriterSize(w, 64<<10)
		for _, hs := range []struct {
			hosts    []arpscan.Host
			targeted bool
		}{{rep.Hosts, true}, {rep.Unexpected, false}} {
			for _, h := range hs.hosts {
				raw, err := json.Marshal(h)
				if err != nil {
					return fmt.Errorf("arpscan: %w", err)
				}
				// Host's object plus whether it was scanned (passive
				// watches list every host as targeted).
				raw = append(raw[:len(raw)-1], `,"targeted":`...)
				raw = strconv.AppendBool(raw, hs.targeted || f.passive)
				raw = append(raw, '}', '\n')
				if _, err := bw.Write(raw); err != nil {
					return err
				}
			}
		}
		return bw.Flush()
	case p.tmpl != nil:
		for _, hs := range [][]arpscan.Host{rep.Hosts, rep.Unexpected} {
			for _, h := range hs {
				var sb strings.Builder
				if err := p.tmpl.Execute(&sb, h); err != nil {
					return fmt.Errorf("arpscan: --format: %w", err)
				}
				s := sb.String()
				if !strings.HasSuffix(s, "\n") {
					s += "\n"
				}
				if _, err := io.WriteString(w, s); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// Lines are appended to one buffer, without fmt, flushed as they fill:
	// a /16 prints 65,536 of them.
	bw := bufio.NewWriterSize(w, 64<<10)
	buf := make([]byte, 0, 256)
	line := func(h arpscan.Host) error {
		buf = h.IP.AppendTo(buf[:0])
		buf = append(buf, '\t')
		buf = appendMAC(buf, h.MAC)
		if h.EthSrc != nil {
			buf = append(buf, " ("...)
			buf = appendMAC(buf, h.EthSrc)
			buf = append(buf, ')')
		}
		if !f.quiet {
			buf = append(buf, '\t')
			buf = append(buf, vendorText(h)...)
			if h.VLAN >= 0 {
				buf = append(buf, " (802.1Q VLAN="...)
				buf = strconv.AppendInt(buf, int64(h.VLAN), 10)
				buf = append(buf, ')')
			}
			if h.Flags != 0 {
				buf = append(buf, '\t')
				buf = append(buf, h.Flags.String()...)
				if h.Flags&arpscan.FlagDup != 0 {
					buf = append(buf, " ("...)
					buf = strconv.AppendInt(buf, int64(h.Replies), 10)
					buf = append(buf, " replies)"...)
				}
			}
		}
		buf = append(buf, '\n')
		_, err := bw.Write(buf)
		return err
	}
	for _, h := range rep.Hosts {
		if err := line(h); err != nil {
			return err
		}
	}
	if len(rep.Unexpected) > 0 {
		fmt.Fprintf(bw, "\n# %d replies from addresses that were not scanned:\n", len(rep.Unexpected))
		for _, h := range rep.Unexpected {
			if err := line(h); err != nil {
				return err
			}
		}
	}
	if f.passive {
		fmt.Fprintf(bw, "\n%d hosts seen in %.3f s, %d ARP frames\n", rep.Responded, rep.Elapsed.Seconds(), rep.Received)
	} else {
		fmt.Fprintf(bw, "\n%d hosts scanned in %.3f s, %d responded\n", rep.Targets, rep.Elapsed.Seconds(), rep.Responded)
	}
	return bw.Flush()
}

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
