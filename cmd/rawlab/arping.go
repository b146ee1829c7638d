package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
after the last request for --count replies.

--probe sends RFC 5227 probes (sender IP 0.0.0.0): a reply means the address
is in use by the MAC shown. -D does the same with iputils' duplicate address
detection meaning: it stops at the first reply and exits 0 only when none
came (the address is free).

Exit status: 0 when a reply came (with -D: when none did), also after
Ctrl-C; 1 otherwise; 2 for bad usage.`,
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

// pingReplyJSON is one reply in --json and --jsonl (docs/json.md).
type pingReplyJSON struct {
	Record  string  `json:"record,omitempty"`
	Seq     int     `json:"seq"`
	IP      string  `json:"ip"`
	MAC     string  `json:"mac"`
	EthSrc  string  `json:"eth_src_mac,omitempty"`
	VLANs   []any   `json:"vlans,omitempty"`
	RTTms   float64 `json:"rtt_ms"`
	Unicast bool    `json:"unicast"`
	Time    string  `json:"time"`
}

func runArping(ctx context.Context, a *app, f *arpingFlags, target string) error {
	ifname, err := a.needInterface()
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(target)
	if err != nil || !ip.Is4() {
		return usageErrorf("arping: %q is not an IPv4 address", excerptArg(target))
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
	if f.srcMAC != "" {
		if cfg.SrcMAC, err = parseMACFlag("arping: --src-mac", f.srcMAC); err != nil {
			return err
		}
	}
	if f.destaddr != "" {
		if cfg.DstMAC, err = parseMACFlag("arping: --destaddr", f.destaddr); err != nil {
			return err
		}
	}
	if cfg.SenderIP, err = parseIPv4Flag("arping: --arpspa", f.arpspa, netip.Addr{}); err != nil {
		return err
	}
	if early := (arpscan.PingConfig{Target: ip, SrcMAC: withMAC(arpscan.Config{SrcMAC: cfg.SrcMAC}).SrcMAC, DstMAC: cfg.DstMAC,
		Count: cfg.Count, Interval: cfg.Interval, Timeout: cfg.Timeout}); early.Validate() != nil {
		return configError("arping", early.Validate())
	}
	ifi, err := capture.LookupInterface(ifname)
	if err != nil {
		return usageError(err)
	}
	if cfg.SrcMAC == nil {
		cfg.SrcMAC = ifi.HardwareAddr
	}
	if !cfg.SenderIP.IsValid() && !cfg.Probe {
		prefixes, err := interfacePrefixes(ifi)
		if err != nil {
			return usageErrorf("arping: addresses of %s: %v", ifname, err)
		}
		cfg.SenderIP = netip.IPv4Unspecified()
		for _, p := range prefixes {
			cfg.SenderIP = p.Addr()
			if p.Contains(ip) {
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
	var replies []pingReplyJSON
	if !a.json && !a.jsonl {
		from := cfg.SenderIP.String()
		if cfg.Probe {
			from = "0.0.0.0 (RFC 5227 probe)"
		}
		fmt.Fprintf(a.stdout, "ARPING %s from %s %s\n", ip, from, ifname)
	}
	cfg.OnReply = func(r arpscan.PingReply) {
		j := pingReplyJSON{Seq: r.Seq, IP: ip.String(), MAC: r.MAC.String(), RTTms: float64(r.RTT.Microseconds()) / 1000,
			Unicast: r.Unicast, Time: r.Time.UTC().Format(time.RFC3339Nano)}
		if r.EthSrc != nil {
			j.EthSrc = r.EthSrc.String()
		}
		if r.Tagged {
			j.VLANs = []any{map[string]any{"id": r.VLAN.ID, "priority": r.VLAN.Priority, "dei": r.VLAN.DropEligible, "tpid": "0x8100"}}
		}
		switch {
		case a.json:
			replies = append(replies, j)
		case a.jsonl:
			j.Record = "reply"
			b, _ := json.Marshal(j) // a struct of strings and numbers: cannot fail
			fmt.Fprintf(a.stdout, "%s\n", b)
		default:
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
			fmt.Fprintf(a.stdout, "%s reply from %s [%s]  %.3fms%s\n", kind, ip, r.MAC, j.RTTms, extra)
		}
	}
	res, err := arpscan.Ping(ctx, conn, cfg)
	interrupted := ctx.Err() != nil
	if a.json || a.jsonl {
		macs := []string{}
		for _, m := range res.MACs {
			macs = append(macs, m.String())
		}
		sum := map[string]any{"target_ip": ip.String(), "sent": res.Sent, "received": res.Received, "macs": macs,
			"interrupted": interrupted}
		if a.jsonl {
			sum["record"] = "summary"
		} else {
			sum["replies"] = append([]pingReplyJSON{}, replies...)
		}
		b, jerr := json.Marshal(sum)
		if jerr != nil {
			return failure(jerr)
		}
		fmt.Fprintf(a.stdout, "%s\n", b)
	} else {
		fmt.Fprintf(a.stdout, "Sent %d probes, received %d response(s)\n", res.Sent, res.Received)
		if len(res.MACs) > 1 {
			fmt.Fprintf(a.stdout, "CONFLICT: %d MACs answered for %s\n", len(res.MACs), ip)
		}
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
	case err != nil:
		return failure(err)
	}
	return nil
}

// excerptArg cuts an argument for an error message.
func excerptArg(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
