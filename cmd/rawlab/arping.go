package main

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/rawlab/rawlab/arpscan"
	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/internal/privdrop"
)

type arpingFlags struct {
	count                    int
	interval, timeout        time.Duration
	probe, dad               bool
	srcMAC, destaddr, arpspa string
	vlan                     int
}

func newArpingCmd(a *app) *cobra.Command {
	var f arpingFlags
	cmd := &cobra.Command{
		Use:   "arping -i IF [flags] IP",
		Short: "Resolve one address with ARP requests, printing each reply and its RTT",
		Long: `arping sends --count ARP requests for IP, --interval apart, prints every reply
addressed to it with the MAC and round-trip time, and waits up to --timeout
after the last request for --count replies. --probe sends RFC 5227 probes
(sender 0.0.0.0); -D too, with iputils' meaning: it stops at the first reply
and exits 0 only when none came (the address is free).

Exit status: 0 a reply came (-D: none did), also after Ctrl-C; 1 otherwise;
2 bad usage.`,
		Example: `  rawlab arping -i veth0 198.18.0.2
  rawlab arping -i veth0 -D -c 3 198.18.0.50 && echo free
  rawlab arping -i veth0 --vlan 42 --arpspa 198.18.2.1 --jsonl 198.18.2.10`,
		Args: positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return runArping(cmd.Context(), a, &f, args[0]) },
	}
	fl := cmd.Flags()
	fl.IntVarP(&f.count, "count", "c", 3, "send `N` requests and wait for N replies")
	fl.DurationVar(&f.interval, "interval", time.Second, "time between requests")
	fl.DurationVar(&f.timeout, "timeout", time.Second, "wait this long for replies after the last request")
	fl.BoolVar(&f.probe, "probe", false, "send RFC 5227 probes (sender IP 0.0.0.0)")
	fl.BoolVarP(&f.dad, "dad", "D", false, "duplicate address detection: probes, stop at the first reply, exit 0 if none came")
	fl.StringVarP(&f.srcMAC, "src-mac", "S", "", "Ethernet source and ARP sender `MAC` (default: the interface's)")
	fl.StringVarP(&f.destaddr, "destaddr", "T", "", "Ethernet destination `MAC` (default: broadcast)")
	fl.StringVar(&f.arpspa, "arpspa", "", "ARP sender `IP` (default: the interface's address)")
	fl.IntVar(&f.vlan, "vlan", -1, "tag requests with 802.1Q VLAN `ID`")
	return cmd
}

func runArping(ctx context.Context, a *app, f *arpingFlags, target string) error {
	ifname, err := a.needInterface()
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(target)
	if err != nil || !ip.Is4() {
		return usageErrorf("arping: %.40q is not an IPv4 address", target)
	}
	switch {
	case f.count < 1:
		return usageErrorf("arping: --count %d: want at least 1", f.count)
	case f.interval <= 0 || f.timeout <= 0:
		return usageErrorf("arping: --interval and --timeout must be positive")
	case f.vlan < -1 || f.vlan > 4095:
		return usageErrorf("arping: --vlan %d: want a VLAN ID from 0 to 4095", f.vlan)
	}
	cfg := arpscan.PingConfig{Target: ip, Probe: f.probe || f.dad, StopOnReply: f.dad, Count: f.count,
		Interval: f.interval, Timeout: f.timeout, Tagged: f.vlan >= 0}
	cfg.VLAN.ID = uint16(max(f.vlan, 0))
	if err := macFlags("arping", "src-mac", f.srcMAC, &cfg.SrcMAC, "destaddr", f.destaddr, &cfg.DstMAC); err != nil {
		return err
	}
	if cfg.SenderIP, err = parseIPv4Flag("arping: --arpspa", f.arpspa, netip.Addr{}); err != nil {
		return err
	}
	if err := cfg.CheckValues(); err != nil { // every value, before the interface is looked at
		return configError("arping", err)
	}
	ifi, err := capture.LookupInterface(ifname)
	if err != nil {
		return usageError(err)
	}
	if cfg.SrcMAC == nil {
		cfg.SrcMAC = ifi.HardwareAddr
	}
	if !cfg.SenderIP.IsValid() && !cfg.Probe {
		prefixes, err := arpscan.InterfacePrefixes(ifi)
		if err != nil {
			return usageError(err)
		}
		cfg.SenderIP = netip.IPv4Unspecified()
		for _, p := range prefixes {
			if cfg.SenderIP = p.Addr(); p.Contains(ip) {
				break
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return configError("arping", err)
	}
	conn, err := arpscan.Listen(ifname, arpscan.ListenConfig{RecvBuffer: 1 << 20})
	if err != nil {
		return usageError(err)
	}
	defer conn.Close()
	if err := privdrop.Drop(privdrop.Config{User: a.user}); err != nil {
		return usageError(err)
	}
	mode := arpscan.Table
	switch {
	case a.json:
		mode = arpscan.Document
	case a.jsonl:
		mode = arpscan.JSONLines
	}
	w := arpscan.NewPingWriter(a.stdout, mode, ip)
	w.Header(cfg.SenderIP, cfg.Probe, ifname)
	cfg.OnReply = w.Reply
	res, err := arpscan.Ping(ctx, conn, cfg)
	interrupted := ctx.Err() != nil
	if werr := w.Summary(res, interrupted); werr != nil && err == nil {
		err = werr
	}
	switch {
	case f.dad: // iputils: 0 when the address is free
		if res.Received > 0 || (err != nil && !errors.Is(err, arpscan.ErrNoReply) && !interrupted) {
			return silent(exitFailed)
		}
		return nil
	case res.Received > 0: // also after Ctrl-C, as iputils exits
		return nil
	case errors.Is(err, arpscan.ErrNoReply), interrupted:
		return silent(exitFailed)
	}
	return failure(err)
}
