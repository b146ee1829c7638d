package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/rawlab/rawlab/arpscan"
	"github.com/rawlab/rawlab/capture"
)

type arpingFlags struct {
	count    int
	interval time.Duration
	timeout  time.Duration
	probe    bool
	srcMAC   string
	destaddr string
	arpspa   string
	vlan     int
}

func newArpingCmd(a *app) *cobra.Command {
	var f arpingFlags
	cmd := &cobra.Command{
		Use:   "arping -i IF [flags] IP",
		Short: "Resolve one address with ARP requests, printing each reply and its RTT",
		Long: `arping sends --count ARP requests for IP, --interval apart, prints every reply
with its MAC and round-trip time, and waits --timeout after the last request.

--probe sends RFC 5227 probes instead (sender IP 0.0.0.0): a reply means the
address is in use by the MAC shown. The interface needs no address for it.

Exit status: 0 when a reply came, 1 when none did, 2 for bad usage.`,
		Example: `  rawlab arping -i veth0 198.18.0.2
  rawlab arping -i veth0 -c 1 --probe 198.18.0.50
  rawlab arping -i veth0 --vlan 42 --arpspa 198.18.2.1 198.18.2.10`,
		Args: positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runArping(cmd.Context(), a, &f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.IntVarP(&f.count, "count", "c", 3, "send `N` requests")
	fl.DurationVar(&f.interval, "interval", time.Second, "time between requests")
	fl.DurationVarP(&f.timeout, "timeout", "W", time.Second, "wait this long for replies after the last request")
	fl.BoolVar(&f.probe, "probe", false, "send RFC 5227 probes (sender IP 0.0.0.0)")
	fl.StringVarP(&f.srcMAC, "src-mac", "S", "", "Ethernet source and ARP sender `MAC` (default: the interface's)")
	fl.StringVarP(&f.destaddr, "destaddr", "T", "", "Ethernet destination `MAC` (default: broadcast)")
	fl.StringVar(&f.arpspa, "arpspa", "", "ARP sender `IP` (default: the interface's address)")
	fl.IntVarP(&f.vlan, "vlan", "Q", -1, "tag requests with 802.1Q VLAN `ID`")
	return cmd
}

func runArping(ctx context.Context, a *app, f *arpingFlags, target string) error {
	ifname, err := a.needInterface()
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(target)
	if err != nil || !ip.Is4() {
		return usageErrorf("arping: %q is not an IPv4 address", target)
	}
	switch {
	case f.count < 1:
		return usageErrorf("arping: --count %d: want at least 1", f.count)
	case f.interval <= 0 || f.timeout <= 0:
		return usageErrorf("arping: --interval and --timeout must be positive")
	case f.vlan < -1 || f.vlan > 4095:
		return usageErrorf("arping: --vlan %d: want a VLAN ID from 0 to 4095", f.vlan)
	}
	cfg := arpscan.PingConfig{Target: ip, Probe: f.probe, Count: f.count, Interval: f.interval, Timeout: f.timeout}
	if cfg.SrcMAC, err = macFlag("src-mac", f.srcMAC); err != nil {
		return err
	}
	if cfg.DstMAC, err = macFlag("destaddr", f.destaddr); err != nil {
		return err
	}
	if cfg.SenderIP, err = parseIPv4Flag("arping: --arpspa", f.arpspa, netip.Addr{}); err != nil {
		return err
	}
	if f.vlan >= 0 {
		cfg.Tagged, cfg.VLAN = true, uint16(f.vlan)
	}
	ifi, err := capture.LookupInterface(ifname)
	if err != nil {
		return usageError(err)
	}
	if cfg.SrcMAC == nil {
		cfg.SrcMAC = ifi.HardwareAddr
	}
	if !cfg.SenderIP.IsValid() && !f.probe {
		prefixes, err := interfacePrefixes(ifi)
		if err != nil {
			return usageError(fmt.Errorf("arping: addresses of %s: %w", ifname, err))
		}
		cfg.SenderIP = netip.IPv4Unspecified()
		for _, p := range prefixes {
			cfg.SenderIP = p.Addr()
			if p.Contains(ip) {
				break
			}
		}
	}
	conn, err := arpscan.Dial(ifi, arpscan.DialConfig{RecvBuffer: 1 << 20, RingSize: -1})
	if err != nil {
		return usageError(err)
	}
	defer conn.Close()
	from := cfg.SenderIP.String()
	if f.probe {
		from = "0.0.0.0 (RFC 5227 probe)"
	}
	fmt.Fprintf(a.stdout, "ARPING %s from %s %s\n", ip, from, ifname)
	cfg.OnReply = func(r arpscan.PingReply) {
		kind := "Broadcast"
		if r.Unicast {
			kind = "Unicast"
		}
		extra := ""
		if r.EthSrc != nil {
			extra += fmt.Sprintf(" (Ethernet source %s)", r.EthSrc)
		}
		if r.VLAN >= 0 {
			extra += fmt.Sprintf(" (802.1Q VLAN=%d)", r.VLAN)
		}
		fmt.Fprintf(a.stdout, "%s reply from %s [%s]  %.3fms%s\n", kind, ip, r.MAC, float64(r.RTT.Microseconds())/1000, extra)
	}
	res, err := arpscan.Ping(ctx, conn, cfg)
	fmt.Fprintf(a.stdout, "Sent %d probes, received %d response(s)\n", res.Sent, res.Received)
	if len(res.MACs) > 1 {
		fmt.Fprintf(a.stdout, "CONFLICT: %d MACs answered for %s\n", len(res.MACs), ip)
	}
	switch {
	case errors.Is(err, arpscan.ErrNoReply):
		return silent(exitFailed)
	case err != nil:
		return failure(err)
	}
	return nil
}
