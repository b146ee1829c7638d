package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rawlab/rawlab/arpscan"
	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/internal/oui"
	"github.com/rawlab/rawlab/internal/outfile"
	"github.com/rawlab/rawlab/internal/privdrop"
)

// exitInterrupted is the status of a scan ended by SIGINT or SIGTERM, as a
// shell reports a process killed by SIGINT (128+2).
const exitInterrupted = 130

// arpscanFlags holds rawlab arpscan's flags; names follow arp-scan(1).
type arpscanFlags struct {
	file, rate, bandwidth, srcMAC, arpsha, arptha, destaddr, arpspa string
	ouifile, macfile, format, pcap, progress                        string
	exclude                                                         []string
	localnet, force, fast, random, passive, quiet                   bool
	retry, timeoutMS, vlan, limit                                   int
	backoff                                                         float64
	minTO, duration                                                 time.Duration
	seed                                                            uint64
}

// configFlags names the flag behind each arpscan.Config/PingConfig field.
var configFlags = map[string]string{"SrcMAC": "--src-mac", "DstMAC": "--destaddr", "SenderMAC": "--arpsha",
	"TargetMAC": "--arptha", "SenderIP": "--arpspa", "VLAN": "--vlan", "Rate": "--rate", "Bandwidth": "--bandwidth",
	"Retry": "--retry", "Timeout": "--timeout", "Backoff": "--backoff", "MinTimeout": "--min-timeout",
	"Limit": "--limit", "Count": "--count", "Interval": "--interval", "Target": "the target"}

// configError maps a package's *arpscan.FieldError to its flag (exit 2).
func configError(cmd string, err error) error {
	var fe *arpscan.FieldError
	if errors.As(err, &fe) && configFlags[fe.Field] != "" {
		return usageErrorf("%s: %s %v: %s", cmd, configFlags[fe.Field], fe.Value, fe.Reason)
	}
	return usageError(err)
}

func newArpscanCmd(a *app) *cobra.Command {
	var f arpscanFlags
	cmd := &cobra.Command{
		Use:   "arpscan -i IF [flags] [TARGET...]",
		Short: "Find every host on a subnet with ARP requests (like arp-scan)",
		Long: `arpscan asks each target with an ARP request and prints each host the moment
it answers: IP, MAC, vendor and flags (DUP: answered more than asked,
CONFLICT: one IP, several MACs, MISMATCH: Ethernet source in brackets), the
flags learnt later on lines of their own. Only replies addressed to this scan
count; gratuitous and other replies are listed apart, never as hosts.

Targets: addresses, prefixes, ranges (a-b), network:mask, --file (- for
stdin) or --localnet (each network of the interface, asked from its own
address there), minus --exclude; more than 65,536 need --force. Timing is
arp-scan's (--bandwidth, --retry, --timeout, --backoff); --fast shortens the
waits to the round-trip times seen, and misses hosts slower than the others
(proxy ARP answers up to 0.8 s late): the summary says when it gave up early.

Exit status: 0; 1 fewer than --limit answered; 2 bad usage; 130 interrupted.`,
		Example: `  rawlab arpscan -i veth0 198.18.0.0/24
  rawlab arpscan -i veth0 --localnet --rate max --jsonl
  rawlab arpscan -i veth0 --format '${ip}\t${mac}\t${vendor}' 198.18.1.0/24 --pcap scan.pcapng`,
		RunE: func(cmd *cobra.Command, args []string) error { return runArpscan(cmd.Context(), a, &f, args) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "read targets from `FILE`, one per line (- for stdin)")
	fl.BoolVarP(&f.localnet, "localnet", "l", false, "scan every address of the interface's IPv4 networks")
	fl.StringSliceVar(&f.exclude, "exclude", nil, "leave out these `TARGETS` (repeatable, comma-separated)")
	fl.BoolVar(&f.force, "force", false, "allow more than 65,536 targets")
	fl.StringVar(&f.rate, "rate", "", "send `PPS` requests per second, or max (default from --bandwidth)")
	fl.StringVarP(&f.bandwidth, "bandwidth", "B", "", "outgoing `BITS` per second, K/M/G suffixes allowed (default 256000)")
	fl.IntVarP(&f.retry, "retry", "r", arpscan.DefaultRetry, "total tries per host (1-255)")
	fl.IntVarP(&f.timeoutMS, "timeout", "t", int(arpscan.DefaultTimeout/time.Millisecond), "wait after the first try, in `MS` (1-3600000)")
	fl.Float64VarP(&f.backoff, "backoff", "b", arpscan.DefaultBackoff, "multiply the wait by `F` for each further try (1-100)")
	fl.BoolVar(&f.fast, "fast", false, "shorten waits to the measured round-trip times (misses slow hosts)")
	fl.DurationVar(&f.minTO, "min-timeout", arpscan.DefaultMinTimeout, "floor of --fast's wait")
	fl.BoolVarP(&f.random, "random", "R", false, "send to the targets in random order")
	fl.Uint64Var(&f.seed, "seed", 0, "seed for --random (0: a random seed)")
	fl.StringVarP(&f.srcMAC, "src-mac", "S", "", "Ethernet source `MAC` (default: the interface's)")
	fl.StringVar(&f.arpsha, "arpsha", "", "ARP sender hardware address `MAC` (default: --src-mac)")
	fl.StringVar(&f.arptha, "arptha", "", "ARP target hardware address `MAC` (default: zeros)")
	fl.StringVarP(&f.destaddr, "destaddr", "T", "", "Ethernet destination `MAC` (default: broadcast)")
	fl.StringVar(&f.arpspa, "arpspa", "", "ARP sender `IP` (default: the interface's address on the target's network; 0.0.0.0 for RFC 5227 probes)")
	fl.IntVar(&f.vlan, "vlan", -1, "tag requests with 802.1Q VLAN `ID` (0-4095)")
	fl.StringVar(&f.ouifile, "ouifile", "", "IEEE OUI `FILE` (arp-scan's ieee-oui.txt format) instead of the built-in table")
	fl.StringVar(&f.macfile, "macfile", "", "add vendor names from `FILE` (arp-scan's mac-vendor.txt format)")
	fl.StringVar(&f.format, "format", "", "print each host as `FMT`: arp-scan's ${ip} ${mac} ${vendor} ${hdrmac} ${rtt} ${vlan} ${dup} (${field;width}, \\t \\n escapes), or a Go template ({{.IP}} {{.MAC}} {{.Vendor}} {{.RTT}} {{.Flags}} {{.VLAN}} {{.Replies}} {{.EthSrc}})")
	fl.StringVar(&f.pcap, "pcap", "", "record every request and reply to pcapng `FILE`")
	fl.IntVarP(&f.limit, "limit", "M", 0, "stop after `N` hosts answered; exit 1 if fewer did")
	fl.BoolVar(&f.passive, "passive", false, "send nothing: list the hosts seen in ARP requests and replies")
	fl.DurationVar(&f.duration, "duration", 0, "with --passive, watch for `D` (default: until interrupted)")
	fl.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (a terminal and a scan over 1 s), always, never")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only IP and MAC")
	return cmd
}

// parseTargetFlags builds the target set from ranges, specs, --exclude and
// --force, shuffled with --random.
func parseTargetFlags(f *arpscanFlags, ranges []arpscan.Range, specs []string) (*arpscan.Targets, error) {
	excl := []string{}
	for _, e := range f.exclude {
		excl = append(excl, strings.Split(e, ",")...)
	}
	ts, err := arpscan.ParseTargetsWith(ranges, specs, excl, arpscan.TargetOptions{Force: f.force})
	if err != nil {
		return nil, usageError(errors.New(strings.NewReplacer("without force", "without --force", "even when forced", "even with --force").Replace(err.Error())))
	}
	if f.random {
		seed := f.seed
		if seed == 0 {
			seed = uint64(time.Now().UnixNano())
		}
		ts.Shuffle(seed)
	}
	return ts, nil
}

// macFlags parses MAC flags given as (name, value, destination) triples.
func macFlags(cmd string, triples ...any) (err error) {
	for i := 0; i+2 < len(triples); i += 3 {
		if v := triples[i+1].(string); v != "" {
			if *triples[i+2].(*net.HardwareAddr), err = parseMACFlag(cmd+": --"+triples[i].(string), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// planArpscan turns the flags into a writer, a Config and the targets,
// checking everything before a socket opens.
func planArpscan(a *app, f *arpscanFlags, args []string) (cfg arpscan.Config, ts *arpscan.Targets, w *arpscan.Writer, err error) {
	ifname, err := a.needInterface()
	fail := func(err error) (arpscan.Config, *arpscan.Targets, *arpscan.Writer, error) { return cfg, nil, nil, err }
	if err != nil {
		return fail(err)
	}
	switch {
	case (a.json || a.jsonl) && f.format != "":
		return fail(usageErrorf("arpscan: choose one of --json, --jsonl and --format"))
	case f.rate != "" && f.bandwidth != "":
		return fail(usageErrorf("arpscan: give --rate or --bandwidth, not both"))
	case f.retry < 1 || f.retry > arpscan.MaxRetry:
		return fail(usageErrorf("arpscan: --retry %d: want 1 to %d tries", f.retry, arpscan.MaxRetry))
	case f.timeoutMS < 1 || f.timeoutMS > int(arpscan.MaxTimeout/time.Millisecond):
		return fail(usageErrorf("arpscan: --timeout %d: want 1 to %d ms", f.timeoutMS, arpscan.MaxTimeout/time.Millisecond))
	case f.minTO <= 0:
		return fail(usageErrorf("arpscan: --min-timeout %v: want a positive duration", f.minTO))
	case f.duration < 0 || (f.duration > 0 && !f.passive):
		return fail(usageErrorf("arpscan: --duration applies to --passive only, and is positive"))
	case f.localnet && (len(args) > 0 || f.file != ""):
		return fail(usageErrorf("arpscan: --localnet takes no other targets"))
	case f.passive && (len(args) > 0 || f.file != "" || f.localnet):
		return fail(usageErrorf("arpscan: --passive scans nothing: give no targets"))
	case !f.passive && len(args) == 0 && f.file == "" && !f.localnet:
		return fail(usageErrorf("arpscan: no targets: give addresses, ranges or prefixes, --file or --localnet"))
	case f.progress != "auto" && f.progress != "always" && f.progress != "never":
		return fail(usageErrorf("arpscan: --progress %q: want auto, always or never", f.progress))
	case f.vlan < -1 || f.vlan > 4095:
		return fail(usageErrorf("arpscan: --vlan %d: want a VLAN ID from 0 to 4095", f.vlan))
	}
	cfg = arpscan.Config{Retry: f.retry, Timeout: time.Duration(f.timeoutMS) * time.Millisecond, Backoff: f.backoff,
		Fast: f.fast, MinTimeout: f.minTO, Limit: f.limit, Tagged: f.vlan >= 0}
	cfg.VLAN.ID = uint16(max(f.vlan, 0))
	if f.rate != "" {
		if cfg.Rate, err = arpscan.ParseRate(f.rate); err != nil {
			return fail(configError("arpscan", err))
		}
	}
	if f.bandwidth != "" {
		if cfg.Bandwidth, err = arpscan.ParseBandwidth(f.bandwidth); err != nil {
			return fail(configError("arpscan", err))
		}
	}
	if err := macFlags("arpscan", "src-mac", f.srcMAC, &cfg.SrcMAC, "arpsha", f.arpsha, &cfg.SenderMAC,
		"arptha", f.arptha, &cfg.TargetMAC, "destaddr", f.destaddr, &cfg.DstMAC); err != nil {
		return fail(err)
	}
	spa, err := parseIPv4Flag("arpscan: --arpspa", f.arpspa, netip.Addr{})
	if err != nil {
		return fail(err)
	}
	if err := cfg.CheckValues(); err != nil { // every value, before the interface is looked at
		return fail(configError("arpscan", err))
	}
	mode, format := arpscan.Table, (*arpscan.Format)(nil)
	switch {
	case f.format != "":
		if format, err = arpscan.ParseFormat(f.format); err != nil {
			return fail(usageErrorf("arpscan: --format: %v", strings.TrimPrefix(err.Error(), "arpscan: format: ")))
		}
		mode = arpscan.Formatted
	case a.json:
		mode = arpscan.Document
	case a.jsonl:
		mode = arpscan.JSONLines
	case f.quiet:
		mode = arpscan.Quiet
	}
	if f.pcap != "" {
		if err := outfile.Check(f.pcap); err != nil {
			return fail(usageErrorf("arpscan: --pcap: %v", err))
		}
	}
	vendors := oui.Default()
	if f.ouifile != "" {
		if vendors, err = oui.ParseFile(f.ouifile); err != nil {
			return fail(usageErrorf("arpscan: --ouifile: %v", err))
		}
	}
	chain := oui.Chain{vendors}
	if f.macfile != "" {
		local, err := oui.ParseFile(f.macfile)
		if err != nil {
			return fail(usageErrorf("arpscan: --macfile: %v", err))
		}
		chain = oui.Chain{local, vendors}
	}
	cfg.Vendor = chain.Cached()
	var ranges []arpscan.Range
	if f.file != "" {
		if ranges, err = arpscan.ReadTargetPath(f.file, a.stdin); err != nil {
			return fail(usageErrorf("arpscan: --file: %v", strings.TrimPrefix(err.Error(), "arpscan: ")))
		}
	}
	if !f.passive && !f.localnet {
		if ts, err = parseTargetFlags(f, ranges, args); err != nil {
			return fail(err)
		}
	}
	ifi, err := capture.LookupInterface(ifname)
	if err != nil {
		return fail(usageError(err))
	}
	if cfg.SrcMAC == nil {
		cfg.SrcMAC = ifi.HardwareAddr
	}
	prefixes, err := arpscan.InterfacePrefixes(ifi)
	if err != nil {
		return fail(usageError(err))
	}
	if f.localnet {
		if len(prefixes) == 0 {
			return fail(usageErrorf("arpscan: --localnet: interface %s has no IPv4 address", ifname))
		}
		for _, pf := range prefixes {
			args = append(args, pf.Masked().String())
		}
		if ts, err = parseTargetFlags(f, ranges, args); err != nil {
			return fail(err)
		}
	}
	// Sender IP: --arpspa everywhere, else the interface's own address on
	// each target's network, else 0.0.0.0 with a warning.
	switch {
	case spa.IsValid():
		cfg.SenderIP = spa
	case len(prefixes) > 0:
		cfg.Networks, cfg.SenderIP = prefixes, prefixes[0].Addr()
	default:
		cfg.SenderIP = netip.IPv4Unspecified() // warned about once the sockets are open
	}
	if err := cfg.Validate(); err != nil && !f.passive {
		return fail(configError("arpscan", err))
	}
	w = arpscan.NewWriter(a.stdout, mode, format)
	w.Warn, w.Passive, w.Interface = a.stderr, f.passive, ifname
	return cfg, ts, w, nil
}

func runArpscan(ctx context.Context, a *app, f *arpscanFlags, args []string) error {
	cfg, ts, w, err := planArpscan(a, f, args)
	if err != nil {
		return err
	}
	lc := arpscan.ListenConfig{Passive: true, Promiscuous: true}
	if !f.passive {
		lc = cfg.ListenConfig(ts.Len())
	}
	conn, err := arpscan.Listen(a.iface, lc)
	if err != nil {
		return usageError(err)
	}
	defer conn.Close()
	if !f.passive && f.arpspa == "" && cfg.Networks == nil {
		fmt.Fprintf(a.stderr, "rawlab: warning: arpscan: %s has no IPv4 address: sending with sender IP 0.0.0.0 (set it with --arpspa)\n", a.iface)
	}
	var trace *arpscan.TraceWriter
	if f.pcap != "" { // opened now that the sockets are, never removed afterwards
		if trace, err = arpscan.CreateTrace(f.pcap, a.iface); err != nil {
			return usageErrorf("arpscan: --pcap: %v", strings.TrimPrefix(err.Error(), "arpscan: "))
		}
		cfg.Trace = trace.Trace
	}
	if err := privdrop.Drop(privdrop.Config{User: a.user}); err != nil {
		return usageError(err)
	}
	cfg.Sink = w
	var rep *arpscan.Report
	if f.passive {
		fmt.Fprintf(a.stderr, "rawlab: watching ARP on %s (sending nothing)\n", a.iface)
		rep, err = arpscan.Watch(ctx, conn, arpscan.PassiveConfig{Duration: f.duration, Vendor: cfg.Vendor, Sink: cfg.Sink, Trace: cfg.Trace})
	} else {
		s, serr := arpscan.NewScanner(conn, ts, cfg)
		if serr != nil {
			return configError("arpscan", serr)
		}
		stop := func() {}
		if f.progress == "always" || (f.progress == "auto" && arpscan.IsTerminal(a.stderr) && cfg.Estimate(ts.Len()) > time.Second) {
			stop = s.DrawProgress(a.stderr)
		}
		rep, err = s.Run(ctx)
		stop()
	}
	// Release the sockets while the report is printed (an RCU grace period).
	closed := make(chan struct{})
	go func() { conn.Close(); close(closed) }()
	defer func() { <-closed }()
	if trace != nil {
		if cerr := trace.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("arpscan: --pcap: %w", cerr)
		}
	}
	if rep == nil {
		return failure(err)
	}
	if rep.Dropped > 0 {
		fmt.Fprintf(a.stderr, "rawlab: warning: the kernel dropped %d frames before they were read; answers may be missing\n", rep.Dropped)
	}
	werr := w.Finish(rep)
	switch {
	case rep.Interrupted && !f.passive: // Ctrl-C is how a watch normally ends
		return silent(exitInterrupted)
	case err != nil:
		return failure(err)
	case werr != nil:
		return failure(werr)
	case f.limit > 0 && rep.Responded < f.limit:
		return silent(exitFailed)
	}
	return nil
}
