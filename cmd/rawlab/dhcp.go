package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/dhcpopt"
	"github.com/rawlab/rawlab/dhcpclient"
	"github.com/rawlab/rawlab/internal/outfile"
	"github.com/rawlab/rawlab/internal/privdrop"
)

// exitRogue is dhcp's status when only servers outside --expect-server
// answered (discover: when any of them did).
const exitRogue = 3

// dhcpFlags holds the flags of every `rawlab dhcp` verb (unused ones stay
// zero).
type dhcpFlags struct {
	mac, ethSrc, xid, hostname, clientID, vendorClass, requestOptions, giaddr, circuitID, remoteID string
	server, serverMAC, arpCheck, pcap, leaseFile, ip, selection                                    string
	options, expectServer                                                                          []string
	broadcast, noBroadcast, noARPCheck, apply, applyRoutes, releaseOnExit                          bool
	vlan, retries                                                                                  int
	timeout, wait, declineWait                                                                     time.Duration
}

// dhcpPlan is everything validated before a socket opens or a file is made.
type dhcpPlan struct {
	verb     string
	ifi      *net.Interface
	cfg      dhcpclient.Config
	lease    *dhcpclient.Lease // from --lease-file, when read
	ip       netip.Addr
	sel      dhcpclient.Selection
	leaseOut string // --lease-file to write
	apply    *dhcpclient.ApplyOptions
	wait     time.Duration
}

func newDHCPCmd(a *app) *cobra.Command {
	var f dhcpFlags
	cmd := &cobra.Command{
		Use:   "dhcp VERB -i IF [flags]",
		Short: "Acquire, renew, release or inspect a DHCPv4 lease by hand",
		Long: `dhcp runs a DHCPv4 client (RFC 2131) over one raw AF_PACKET socket, on an
interface that needs no IP address. Every message and reply is decoded, and
--pcap records the whole exchange to pcapng with a comment naming each step.

Bad checksums are dropped, options in sname/file (option 52) decoded, wire
strings escaped. No usable lease time (option 51) is taken as one hour, and
inconsistent T1/T2 as 0.5 and 0.875 of the lease; the output says so.
Retransmissions follow RFC 2131 §4.1. Only --apply changes the interface.

Exit status: 0 success; 1 no lease (no reply, DHCPNAK, conflict); 2 bad usage
or environment; 3 only servers outside --expect-server answered (discover: any
of them did).`,
		Example: `  rawlab dhcp lease -i veth1 --lease-file lease.json --pcap dora.pcapng
  rawlab dhcp discover -i veth1 --wait 2s --expect-server 198.18.0.1
  rawlab dhcp renew -i veth1 --lease-file lease.json && rawlab dhcp release -i veth1 --lease-file lease.json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("dhcp: unknown verb %q: use discover, lease, request, renew, rebind, release, decline or inform", args[0])
			}
			return usageErrorf("dhcp: no verb: use discover, lease, request, renew, rebind, release, decline or inform (see rawlab dhcp --help)")
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { // pflag shows strconv's errors: keep flag and value
		msg, _, cut := strings.Cut(err.Error(), ": strconv.")
		return usageErrorf("dhcp: %s%s", msg, map[bool]string{true: ": not a number"}[cut])
	})
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.mac, "mac", "", "client hardware address (chaddr) `MAC`, or random (default: the interface's)")
	pf.StringVar(&f.ethSrc, "eth-src", "", "Ethernet source `MAC` (default: --mac)")
	pf.StringVar(&f.xid, "xid", "", "transaction ID, decimal or 0x hex, 0 allowed (default: random)")
	pf.BoolVar(&f.broadcast, "broadcast", false, "set the BROADCAST flag (default: only when --mac is not the interface's)")
	pf.BoolVar(&f.noBroadcast, "no-broadcast", false, "clear the BROADCAST flag")
	pf.StringVar(&f.hostname, "hostname", "", "host name to send (option 12)")
	pf.StringVar(&f.clientID, "client-id", "", "client identifier (option 61): hex bytes (01:aa:bb:..), hex:/str: value, or mac (type 1 + chaddr)")
	pf.StringVar(&f.vendorClass, "vendor-class", "", "vendor class identifier (option 60)")
	pf.StringVar(&f.requestOptions, "request-options", "", "parameter request list (option 55): codes or names, e.g. 1,3,6,domain-search,121")
	pf.StringArrayVar(&f.options, "option", nil, "send option `CODE=VALUE` (repeatable); VALUE is hex:.., ip:a.b.c.d[,..], str:.., u8:N, u16:N or u32:N")
	pf.StringVar(&f.giaddr, "giaddr", "", "relay agent address field (giaddr) `IP`")
	pf.StringVar(&f.circuitID, "relay-circuit-id", "", "option 82 agent circuit ID, up to 255 bytes (text, or hex:..)")
	pf.StringVar(&f.remoteID, "relay-remote-id", "", "option 82 agent remote ID, up to 255 bytes (text, or hex:..)")
	pf.StringVar(&f.server, "server", "", "send to this server `IP` (unicast) instead of broadcast")
	pf.StringVar(&f.serverMAC, "server-mac", "", "Ethernet destination `MAC` for unicasts to the server (default: lease file, else ARP)")
	pf.IntVar(&f.vlan, "vlan", 0, "tag frames with 802.1Q VLAN `ID` (1-4094)")
	pf.DurationVar(&f.timeout, "timeout", dhcpclient.DefaultTimeout, "first retransmission timeout; doubles for each retry (0: the default)")
	pf.IntVar(&f.retries, "retries", dhcpclient.DefaultTries-1, "retransmissions after the first try (0-99)")
	pf.StringVar(&f.arpCheck, "arp-check", "short", "conflict check before accepting an address: short (1 probe, 200 ms), rfc5227 (RFC 5227 timing) or none")
	pf.BoolVar(&f.noARPCheck, "no-arp-check", false, "skip the ARP conflict check (same as --arp-check none)")
	pf.StringVar(&f.pcap, "pcap", "", "record the exchange to pcapng `FILE`, one comment per step")
	pf.StringVar(&f.leaseFile, "lease-file", "", "lease JSON `FILE`: written by lease, read (and updated) by the other verbs")

	leaseVerb := func(verb, short, long, example string) *cobra.Command {
		c := &cobra.Command{Use: verb + " -i IF (--lease-file F | --ip IP [--server IP])", Short: short, Long: long,
			Example: example, Args: positional(cobra.NoArgs),
			RunE: func(cmd *cobra.Command, args []string) error { return runDHCP(cmd.Context(), a, &f, verb) }}
		c.Flags().StringVar(&f.ip, "ip", "", "the leased (or held) `IP` (default: the lease file's)")
		return c
	}
	discover := leaseVerb("discover", "Send DHCPDISCOVER and print every offer, decoded",
		`discover broadcasts a DHCPDISCOVER and prints each DHCPOFFER: the server's IP
and MAC, how long the offer took, the offered address and every option by
name. It stops at the first offer unless --wait D collects all the offers
that arrive within D. --expect-server names the legitimate servers (IPs and
MACs): an offer is theirs only when its IP source and option 54 are both
listed (and its Ethernet source, when MACs are listed). Any other offer is
named and the exit status is 3 (with no --wait, it waits 2 s).`,
		`  rawlab dhcp discover -i veth1
  rawlab dhcp discover -i veth1 --wait 3s --json
  rawlab dhcp discover -i veth1 --expect-server 198.18.0.1,02:00:00:00:00:01 --mac random`)
	discover.Use = "discover -i IF [--wait D] [--expect-server IP|MAC[,...]]"
	discover.Flags().DurationVar(&f.wait, "wait", 0, "collect every offer that arrives within `D` (default: stop at the first)")
	lease := leaseVerb("lease", "Acquire a lease: DISCOVER, OFFER, REQUEST, ACK, then an ARP conflict check",
		`lease runs the whole acquisition of RFC 2131 §3.1 and prints the lease with
every option. A DHCPNAK restarts it once. The address is probed with ARP first
(RFC 5227 §2.1.1): on a conflict it sends DHCPDECLINE, names the holder's MAC,
waits --decline-wait (RFC 2131 §3.1: 10 s) and starts again once. With
--expect-server, only those servers are requested.

--apply adds the address with the lease's lifetimes and a default route at
metric 1024+ifindex (never replacing one); --apply-routes adds options 121/33
too. --release-on-exit holds the lease (renewing at T1, rebinding at T2) until
interrupted, then releases it and removes exactly what --apply added.`,
		`  rawlab dhcp lease -i veth1 --no-arp-check
  rawlab dhcp lease -i veth1 --select server=198.18.0.1 --lease-file lease.json --pcap dora.pcapng
  rawlab dhcp lease -i veth1 --apply --release-on-exit --hostname lab1`)
	lease.Use = "lease -i IF [--select first|server=IP|ip=IP] [--lease-file F] [--apply] [--release-on-exit]"
	lease.Flags().StringVar(&f.selection, "select", "first", "offer to take: first, server=IP or ip=IP")
	lease.Flags().BoolVar(&f.releaseOnExit, "release-on-exit", false, "hold the lease (renewing it) until interrupted, then release it")
	lease.Flags().DurationVar(&f.declineWait, "decline-wait", dhcpclient.DefaultDeclineWait, "wait after a DHCPDECLINE before starting again")
	request := leaseVerb("request", "Ask for a known address: broadcast DHCPREQUEST in INIT-REBOOT",
		`request asks for an address the client knows (after a reboot, RFC 2131 §3.2):
a broadcast DHCPREQUEST with the address in option 50 and no server
identifier. The server answers DHCPACK, or DHCPNAK when the address is wrong
for the link (exit status 1, the server and its message named). An
acknowledged address goes through the ARP conflict check, as in lease.`,
		`  rawlab dhcp request -i veth1 --ip 198.18.0.100
  rawlab dhcp request -i veth1 --lease-file lease.json --apply --expect-server 198.18.0.1`)
	verbs := []*cobra.Command{discover, lease, request,
		leaseVerb("renew", "Extend a lease: DHCPREQUEST unicast to its server (RENEWING)",
			`renew sends a DHCPREQUEST from the leased address to the server that granted it
(RFC 2131 §4.4.5, RENEWING): unicast, ciaddr set, no option 50 or 54. The
server's MAC comes from --server-mac, the lease file or ARP. A released lease
is refused. The lease file is updated with the new times.`,
			`  rawlab dhcp renew -i veth1 --lease-file lease.json
  rawlab dhcp renew -i veth1 --ip 198.18.0.100 --server 198.18.0.1 --json`),
		leaseVerb("rebind", "Extend a lease from any server: broadcast DHCPREQUEST (REBINDING)",
			`rebind broadcasts a DHCPREQUEST from the leased address to any server (RFC 2131
§4.4.5, REBINDING), as a client does after T2 when its server is silent.`,
			`  rawlab dhcp rebind -i veth1 --lease-file lease.json
  rawlab dhcp rebind -i veth1 --ip 198.18.0.100 --mac 02:00:00:00:00:10`),
		leaseVerb("release", "Give a lease back: DHCPRELEASE unicast to its server",
			`release sends one DHCPRELEASE (RFC 2131 §4.4.6) from the leased address to its
server; no reply comes. With --lease-file it removes exactly what --apply
added and marks the file released, so renew and release refuse it later.`,
			`  rawlab dhcp release -i veth1 --lease-file lease.json
  rawlab dhcp release -i veth1 --ip 198.18.0.100 --server 198.18.0.1`),
		leaseVerb("decline", "Refuse an address: broadcast DHCPDECLINE",
			`decline broadcasts one DHCPDECLINE (RFC 2131 §4.4.1) for an address found in
use: options 50 and 54, ciaddr zero. No reply comes.`,
			`  rawlab dhcp decline -i veth1 --lease-file lease.json
  rawlab dhcp decline -i veth1 --ip 198.18.0.100 --server 198.18.0.1`),
		leaseVerb("inform", "Ask for configuration only: DHCPINFORM for an address already held",
			`inform sends a DHCPINFORM (RFC 2131 §3.4) from an address the client already
holds and prints the DHCPACK's options; no lease is granted.`,
			`  rawlab dhcp inform -i veth1 --ip 198.18.0.50
  rawlab dhcp inform -i veth1 --ip 198.18.0.50 --server 198.18.0.1 --json`),
	}
	for _, v := range verbs {
		switch v.Name() {
		case "discover", "lease", "request":
			v.Flags().StringSliceVar(&f.expectServer, "expect-server", nil, "legitimate servers' `IP`s and MACs; others are never requested (exit 3)")
		}
		switch v.Name() {
		case "lease", "request", "renew", "rebind":
			v.Flags().BoolVar(&f.apply, "apply", false, "add the address (lease lifetimes) and a default route on the interface (netlink)")
			v.Flags().BoolVar(&f.applyRoutes, "apply-routes", false, "with --apply, add the routes of options 121/33 too")
		}
		if v.Name() == "discover" || v.Name() == "lease" {
			v.Flags().MarkHidden("ip")
		}
	}
	cmd.AddCommand(verbs...)
	return cmd
}

// flagOf names the flag behind a dhcpclient.ConfigError field.
var flagOf = map[string]string{
	dhcpclient.FieldCHAddr: "--mac", dhcpclient.FieldEthSrc: "--eth-src", dhcpclient.FieldServerMAC: "--server-mac",
	dhcpclient.FieldTimeout: "--timeout", dhcpclient.FieldTries: "--retries", dhcpclient.FieldVLAN: "--vlan",
	dhcpclient.FieldServer: "--server", dhcpclient.FieldGIAddr: "--giaddr", dhcpclient.FieldClientID: "--client-id",
	dhcpclient.FieldHostname: "--hostname", dhcpclient.FieldVendorClass: "--vendor-class",
	dhcpclient.FieldCircuitID: "--relay-circuit-id", dhcpclient.FieldRemoteID: "--relay-remote-id",
	dhcpclient.FieldOption: "--option", dhcpclient.FieldARPCheck: "--arp-check", dhcpclient.FieldTrusted: "--expect-server",
	dhcpclient.FieldDeclineWait: "--decline-wait", "client address": "--ip", "lease": "--lease-file", "selection": "--select",
}

// dhcpConfigError maps a *dhcpclient.ConfigError to a usage error naming the
// flag; other errors pass unchanged.
func dhcpConfigError(verb string, err error) error {
	var ce *dhcpclient.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	flag := flagOf[ce.Field]
	if flag == "" {
		flag = ce.Field
	}
	if ce.Field == dhcpclient.FieldTries {
		return usageErrorf("dhcp %s: --retries: want 0 to %d", verb, dhcpclient.MaxTries-1)
	}
	if ce.Value == "" {
		return usageErrorf("dhcp %s: %s: %s %s", verb, flag, ce.Field, ce.Reason)
	}
	return usageErrorf("dhcp %s: %s: %s %s: %s", verb, flag, ce.Field, strconv.Quote(ce.Value), ce.Reason)
}

// planDHCP reads and validates every flag, the files and the interface,
// before any socket is opened or file created.
func planDHCP(a *app, f *dhcpFlags, verb string) (*dhcpPlan, error) {
	ifname, err := a.needInterface()
	if err != nil {
		return nil, err
	}
	p := &dhcpPlan{verb: verb, wait: f.wait}
	cfg := &p.cfg
	bad := func(flag string, err error) error { return usageErrorf("dhcp %s: %s: %v", verb, flag, err) }
	parseIP := func(flag, s string) (netip.Addr, error) {
		ip, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil || !ip.Is4() {
			return netip.Addr{}, bad(flag, fmt.Errorf("%q is not an IPv4 address", s))
		}
		return ip, nil
	}
	if f.leaseFile != "" {
		switch verb {
		case "discover":
			return nil, usageErrorf("dhcp discover: --lease-file: discover takes no lease; use lease")
		case "lease":
		default:
			if p.lease, err = dhcpclient.LoadLease(f.leaseFile); err != nil {
				return nil, bad("--lease-file", err)
			}
			if verb == "renew" || verb == "rebind" || verb == "release" {
				if err := p.lease.CheckExtend(); err != nil {
					return nil, bad("--lease-file", err)
				}
			}
		}
		if err := outfile.Check(f.leaseFile); err != nil {
			return nil, bad("--lease-file", err)
		}
		p.leaseOut = f.leaseFile
	}
	if f.pcap != "" {
		if err := outfile.Check(f.pcap); err != nil {
			return nil, bad("--pcap", err)
		}
	}
	for _, x := range []struct {
		flag, s string
		dst     *net.HardwareAddr
	}{{"--mac", f.mac, &cfg.HWAddr}, {"--eth-src", f.ethSrc, &cfg.EthSrc}, {"--server-mac", f.serverMAC, &cfg.ServerMAC}} {
		if x.s == "random" && x.flag == "--mac" {
			cfg.HWAddr = craft.RandomMAC()
		} else if x.s != "" {
			if *x.dst, err = craft.ParseMAC(x.s); err != nil {
				return nil, bad(x.flag, err)
			}
		}
	}
	if cfg.FixedXID = f.xid != ""; cfg.FixedXID {
		if cfg.XID, err = dhcpopt.ParseXID(f.xid); err != nil {
			return nil, bad("--xid", err)
		}
	}
	if f.broadcast && f.noBroadcast {
		return nil, usageErrorf("dhcp %s: --broadcast and --no-broadcast exclude each other", verb)
	}
	cfg.Hostname, cfg.VendorClass = f.hostname, f.vendorClass
	if f.requestOptions != "" {
		if cfg.RequestOptions, err = dhcpopt.ParseCodeList(f.requestOptions); err != nil {
			return nil, bad("--request-options", err)
		}
	}
	if f.clientID != "" {
		if cfg.ClientID, err = dhcpopt.ParseClientID(f.clientID, []byte{2, 0, 0, 0, 0, 1}); err != nil {
			return nil, bad("--client-id", err)
		}
	}
	if _, cfg.Options, err = dhcpopt.Compile(f.options, nil); err != nil {
		return nil, bad("--option", err)
	}
	for _, x := range []struct {
		flag, s string
		dst     *netip.Addr
	}{{"--giaddr", f.giaddr, &cfg.GIAddr}, {"--server", f.server, &cfg.Server}, {"--ip", f.ip, &p.ip}} {
		if x.s != "" {
			if *x.dst, err = parseIP(x.flag, x.s); err != nil {
				return nil, err
			}
		}
	}
	if cfg.CircuitID, err = dhcpclient.ParseAgentID(f.circuitID); err != nil {
		return nil, bad("--relay-circuit-id", err)
	}
	if cfg.RemoteID, err = dhcpclient.ParseAgentID(f.remoteID); err != nil {
		return nil, bad("--relay-remote-id", err)
	}
	if f.vlan != 0 {
		cfg.VLAN = &craft.VLAN{ID: uint16(min(max(f.vlan, 0), 0xffff))}
	}
	cfg.Timeout, cfg.Tries, cfg.DeclineWait = f.timeout, f.retries+1, f.declineWait
	if f.retries < 0 {
		cfg.Tries = f.retries // refused by Validate, not taken as the default
	}
	if cfg.ARPCheck, err = dhcpclient.ParseARPCheck(f.arpCheck); err != nil {
		return nil, bad("--arp-check", fmt.Errorf("%q: want short, rfc5227 or none", f.arpCheck))
	}
	if f.noARPCheck {
		cfg.ARPCheck = dhcpclient.ARPCheckNone
	}
	if f.wait < 0 {
		return nil, bad("--wait", fmt.Errorf("%v is negative", f.wait))
	}
	if cfg.Trusted, cfg.TrustedMACs, err = dhcpclient.ParseTrusted(f.expectServer); err != nil {
		return nil, dhcpConfigError(verb, err)
	}
	if len(f.expectServer) > 0 && p.wait == 0 && verb == "discover" {
		p.wait = 2 * time.Second
	}
	if p.sel, err = dhcpclient.ParseSelection(f.selection); err != nil {
		return nil, dhcpConfigError(verb, err)
	}
	if f.applyRoutes && !f.apply {
		return nil, usageErrorf("dhcp %s: --apply-routes needs --apply", verb)
	}
	if f.apply {
		if privdrop.FileCapsOnly() {
			return nil, usageErrorf("dhcp %s: --apply: refused with file capabilities and a non-root user; run as root", verb)
		}
		p.apply = &dhcpclient.ApplyOptions{Routes: f.applyRoutes}
	}
	if l := p.lease; l != nil {
		if !p.ip.IsValid() {
			p.ip = l.Address
		}
		if f.mac == "" {
			cfg.HWAddr = net.HardwareAddr(l.ClientMAC)
		}
		if f.clientID == "" && len(l.ClientID) > 0 {
			cfg.ClientID = l.ClientID
		}
	}
	if verb != "discover" && verb != "lease" {
		if !p.ip.IsValid() {
			return nil, usageErrorf("dhcp %s: no address: give --ip IP or --lease-file FILE", verb)
		}
		if err := dhcpclient.CheckClientAddr(p.ip); err != nil {
			return nil, dhcpConfigError(verb, err)
		}
	}
	if (verb == "release" || verb == "decline" || verb == "renew") && p.lease == nil && !cfg.Server.IsValid() {
		return nil, usageErrorf("dhcp %s: no server: give --server IP or --lease-file FILE", verb)
	}
	if err := cfg.Validate(); err != nil { // chaddr may still be nil: the interface's
		return nil, dhcpConfigError(verb, err)
	}
	// The interface last: it exists, is up and is Ethernet.
	if p.ifi, err = capture.LookupInterface(ifname); err != nil {
		return nil, usageError(err)
	}
	if cfg.HWAddr == nil {
		cfg.HWAddr = p.ifi.HardwareAddr
	}
	if f.mac == "random" && cfg.EthSrc == nil {
		cfg.EthSrc = cfg.HWAddr
	}
	cfg.Broadcast = !f.noBroadcast && (f.broadcast || f.mac != "" && cfg.HWAddr.String() != p.ifi.HardwareAddr.String())
	if f.clientID != "" { // again for "mac": chaddr is known now
		if cfg.ClientID, err = dhcpopt.ParseClientID(f.clientID, cfg.HWAddr); err != nil {
			return nil, bad("--client-id", err)
		}
	}
	cfg.Interface, cfg.Log = p.ifi.Name, a.log
	if err := cfg.Validate(); err != nil {
		return nil, dhcpConfigError(verb, err)
	}
	return p, nil
}

// leaseForVerb is the lease file's lease with --ip and --server over it.
func (p *dhcpPlan) leaseForVerb() *dhcpclient.Lease {
	return p.lease.With(p.ifi.Name, p.ip, p.cfg.Server, p.cfg.HWAddr)
}

func runDHCP(ctx context.Context, a *app, f *dhcpFlags, verb string) (err error) {
	p, err := planDHCP(a, f, verb)
	if err != nil {
		return err
	}
	o := &dhcpOut{a: a, p: p}
	if a.jsonl && verb == "discover" {
		p.cfg.OnOffer = o.offerLine
	}
	c, err := dhcpclient.DialInterface(p.ifi, p.cfg)
	if err != nil {
		return usageError(dhcpConfigError(verb, err)) // permission and interface errors exit 2 with a hint
	}
	o.c = c
	// Files are created once the socket is open, so that a permission
	// error leaves none behind, and before privileges go.
	var rec *capture.Recorder
	var pcap *os.File
	defer func() {
		// Closing a packet socket waits for an RCU grace period: do it
		// while the output is written.
		closed := make(chan error, 1)
		go func() { closed <- c.Close() }()
		err = errors.Join(err, o.flush())
		cerr := <-closed
		if rec != nil {
			cerr = errors.Join(cerr, rec.Close(), pcap.Close())
		}
		if cerr != nil && err == nil {
			err = failure(fmt.Errorf("dhcp %s: --pcap: %w", verb, cerr))
		}
		if o.leaseFile != nil {
			o.leaseFile.Close()
			if verb == "lease" && o.held == nil {
				os.Remove(f.leaseFile) // created for a lease that never came
			}
		}
	}()
	if f.pcap != "" {
		if pcap, err = outfile.Create(f.pcap, 0); err == nil {
			if rec, err = capture.NewRecorder(pcap, capture.RecorderOptions{Format: capture.FormatPcapng, Interface: p.ifi.Name}); err != nil {
				pcap.Close()
				os.Remove(f.pcap)
			}
		}
		if err != nil {
			return usageError(fmt.Errorf("dhcp %s: --pcap: %w", verb, err))
		}
		c.SetRecorder(rec)
	}
	if p.leaseOut != "" {
		// A lease file read is rewritten at once: never left empty.
		if o.leaseFile, err = outfile.Create(p.leaseOut, 0); err == nil && p.lease != nil {
			err = dhcpclient.WriteLeaseFile(o.leaseFile, p.lease)
		}
		if err != nil {
			return usageError(fmt.Errorf("dhcp %s: --lease-file: %w", verb, err))
		}
	}
	// Root goes now; CAP_NET_ADMIN stays only for --apply or undoing it.
	netAdmin := p.apply != nil || verb == "release" && p.lease != nil && p.lease.Applied != nil
	if err := privdrop.Drop(privdrop.Config{User: a.user, KeepNetAdmin: netAdmin}); err != nil {
		return usageError(err)
	}
	switch verb {
	case "discover":
		offers, err := c.Discover(ctx, p.wait)
		return o.discover(offers, err)
	case "lease":
		l, err := c.Lease(ctx, p.sel)
		if err = o.lease(ctx, f, l, err); err != nil || !f.releaseOnExit {
			return err
		}
		return hold(ctx, a, o, o.held)
	case "request":
		l, err := c.RequestAddress(ctx, p.ip)
		return o.lease(ctx, f, l, err)
	case "renew", "rebind":
		extend := map[string]func(context.Context, *dhcpclient.Lease) (*dhcpclient.Lease, error){"renew": c.Renew, "rebind": c.Rebind}[verb]
		l, err := extend(ctx, p.leaseForVerb())
		return o.lease(ctx, f, l, err)
	case "release", "decline":
		return o.sent(ctx)
	case "inform":
		ack, err := c.Inform(ctx, p.ip)
		return o.finish(&dhcpclient.Result{ACK: ack}, err)
	}
	return usageErrorf("dhcp: unknown verb %q", verb)
}

// outcome maps a client error to an exit status: bad configuration 2, only
// rogue servers 3, other protocol outcomes 1.
func outcome(verb string, err error) error {
	var ce *dhcpclient.ConfigError
	var re *dhcpclient.RogueError
	switch {
	case errors.As(err, &ce):
		return dhcpConfigError(verb, err)
	case errors.As(err, &re):
		return &exitError{code: exitRogue, err: err}
	case errors.Is(err, context.Canceled):
		return failure(fmt.Errorf("dhcp %s: interrupted", verb))
	}
	return failure(err)
}

// hold keeps l until interrupted, then releases it and undoes --apply.
func hold(ctx context.Context, a *app, o *dhcpOut, l *dhcpclient.Lease) error {
	p, c := o.p, o.c
	fmt.Fprintf(a.stderr, "rawlab: holding %s (renewing at T1, rebinding at T2) until interrupted; then releasing it\n", l.Address)
	l, err := c.Hold(ctx, l, func(nl *dhcpclient.Lease) error {
		if err := privdrop.WithNetAdmin(func() error { return dhcpclient.Commit(nl, p.apply, o.leaseFile) }); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "rawlab: %s extended by %s until %s\n", nl.Address, nl.Server, nl.Expiry().Local().Format("15:04:05"))
		return nil
	})
	if err != nil {
		return failure(errors.Join(err, privdrop.WithNetAdmin(func() error { return dhcpclient.Unapply(l) })))
	}
	if err = c.ReleaseAfter(ctx, l); err == nil {
		fmt.Fprintf(a.stderr, "rawlab: released %s to %s\n", l.Address, l.Server)
	}
	return failure(errors.Join(err, privdrop.WithNetAdmin(func() error { return dhcpclient.Retire(l, o.leaseFile) })))
}
