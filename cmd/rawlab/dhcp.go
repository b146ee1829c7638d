package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/dhcpopt"
	"github.com/rawlab/rawlab/dhcpclient"
)

// dhcpFlags holds the flags every `rawlab dhcp` verb shares, and the
// verb-specific ones (unused ones stay zero).
type dhcpFlags struct {
	mac, ethSrc    string
	xid            string
	broadcast      bool
	noBroadcast    bool
	hostname       string
	clientID       string
	vendorClass    string
	requestOptions string
	options        []string
	giaddr         string
	circuitID      string
	remoteID       string
	server         string
	serverMAC      string
	vlan           int
	timeout        time.Duration
	retries        int
	arpCheck       string
	noARPCheck     bool
	pcap           string
	leaseFile      string
	ip             string
	wait           time.Duration
	expectServer   []string
	selection      string
	apply          bool
	releaseOnExit  bool
}

// dhcpPlan is everything validated before the socket opens.
type dhcpPlan struct {
	ifi      *net.Interface
	cfg      dhcpclient.Config
	lease    *dhcpclient.Lease // from --lease-file, when read
	ip       netip.Addr
	sel      dhcpclient.Selection
	expect   []netip.Addr
	leaseOut string // --lease-file to write
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

Verbs:
  discover  send DHCPDISCOVER, print every offer (--wait D collects them all)
  lease     the whole DISCOVER, OFFER, REQUEST, ACK exchange, then an ARP check
  request   DHCPREQUEST for --ip or the lease file's address (INIT-REBOOT)
  renew     unicast DHCPREQUEST to the server from the leased address (RENEWING)
  rebind    broadcast DHCPREQUEST from the leased address (REBINDING)
  release   DHCPRELEASE, unicast to the server from the leased address
  decline   DHCPDECLINE for --ip (or the lease's address)
  inform    DHCPINFORM for --ip: configuration without an address

Messages are retransmitted after --timeout, doubling each time (RFC 2131 §4.1,
with up to ±1 s of jitter), --retries times. Nothing is configured on the
interface unless --apply is given.

Exit status: 0 success, 1 no lease (no reply, DHCPNAK, conflict, a stranger
with --expect-server), 2 bad usage or environment.`,
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
	pf.StringVar(&f.circuitID, "relay-circuit-id", "", "option 82 agent circuit ID (text, or hex:..)")
	pf.StringVar(&f.remoteID, "relay-remote-id", "", "option 82 agent remote ID (text, or hex:..)")
	pf.StringVar(&f.server, "server", "", "send to this server `IP` (unicast) instead of broadcast")
	pf.StringVar(&f.serverMAC, "server-mac", "", "Ethernet destination `MAC` for unicasts to the server (default: lease file, else ARP)")
	pf.IntVar(&f.vlan, "vlan", 0, "tag frames with 802.1Q VLAN `ID` (1-4094)")
	pf.DurationVar(&f.timeout, "timeout", dhcpclient.DefaultTimeout, "first retransmission timeout; doubles for each retry")
	pf.IntVar(&f.retries, "retries", dhcpclient.DefaultTries-1, "retransmissions after the first try")
	pf.StringVar(&f.arpCheck, "arp-check", "short", "conflict check before accepting an address: short (1 probe, 200 ms), rfc5227 (RFC 5227 timing) or none")
	pf.BoolVar(&f.noARPCheck, "no-arp-check", false, "skip the ARP conflict check (same as --arp-check none)")
	pf.StringVar(&f.pcap, "pcap", "", "record the exchange to pcapng `FILE`, one comment per step")
	pf.StringVar(&f.leaseFile, "lease-file", "", "lease JSON `FILE`: written by lease, read (and updated) by the other verbs")

	cmd.AddCommand(
		newDHCPDiscoverCmd(a, &f),
		newDHCPLeaseCmd(a, &f),
		newDHCPRequestCmd(a, &f),
		newDHCPLeaseVerbCmd(a, &f, "renew", "Extend a lease: DHCPREQUEST unicast to its server (RENEWING)",
			`  rawlab dhcp renew -i veth1 --lease-file lease.json
  rawlab dhcp renew -i veth1 --ip 198.18.0.100 --server 198.18.0.1 --json`),
		newDHCPLeaseVerbCmd(a, &f, "rebind", "Extend a lease from any server: broadcast DHCPREQUEST (REBINDING)",
			`  rawlab dhcp rebind -i veth1 --lease-file lease.json
  rawlab dhcp rebind -i veth1 --ip 198.18.0.100 --mac 02:00:00:00:00:10`),
		newDHCPLeaseVerbCmd(a, &f, "release", "Give a lease back: DHCPRELEASE unicast to its server",
			`  rawlab dhcp release -i veth1 --lease-file lease.json
  rawlab dhcp release -i veth1 --ip 198.18.0.100 --server 198.18.0.1`),
		newDHCPLeaseVerbCmd(a, &f, "decline", "Refuse an address: broadcast DHCPDECLINE",
			`  rawlab dhcp decline -i veth1 --lease-file lease.json
  rawlab dhcp decline -i veth1 --ip 198.18.0.100 --server 198.18.0.1`),
		newDHCPLeaseVerbCmd(a, &f, "inform", "Ask for configuration only: DHCPINFORM for an address already held",
			`  rawlab dhcp inform -i veth1 --ip 198.18.0.50
  rawlab dhcp inform -i veth1 --ip 198.18.0.50 --server 198.18.0.1 --json`),
	)
	return cmd
}

func newDHCPDiscoverCmd(a *app, f *dhcpFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "discover -i IF [--wait D] [--expect-server IP[,IP]]",
		Short: "Send DHCPDISCOVER and print every offer, decoded",
		Long: `discover broadcasts a DHCPDISCOVER and prints each DHCPOFFER: the server's IP
and MAC, how long the offer took, the offered address and every option by
name. It stops at the first offer unless --wait D collects all the offers
that arrive within D. --expect-server names the legitimate servers: any other
that offers is named and the exit status is 1 (with no --wait, it waits 2 s).`,
		Example: `  rawlab dhcp discover -i veth1
  rawlab dhcp discover -i veth1 --wait 3s --json
  rawlab dhcp discover -i veth1 --expect-server 198.18.0.1 --mac random`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDHCP(cmd.Context(), a, f, "discover")
		},
	}
	cmd.Flags().DurationVar(&f.wait, "wait", 0, "collect every offer that arrives within `D` (default: stop at the first)")
	cmd.Flags().StringSliceVar(&f.expectServer, "expect-server", nil, "legitimate server `IP`s; exit 1 naming any other that offers")
	return cmd
}

func newDHCPLeaseCmd(a *app, f *dhcpFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lease -i IF [--select first|server=IP|ip=IP] [--lease-file F] [--apply] [--release-on-exit]",
		Short: "Acquire a lease: DISCOVER, OFFER, REQUEST, ACK, then an ARP conflict check",
		Long: `lease runs the whole acquisition of RFC 2131 §3.1 and prints the lease: address,
mask, router, DNS, domain, lease time, T1, T2, server, and every other option.
A DHCPNAK restarts it once. Before the address is accepted it is probed with
ARP (RFC 5227 §2.1.1): on a conflict the client sends DHCPDECLINE, names the
MAC that holds the address, and starts again once.

--apply configures the address (with the lease's lifetimes) and the routes on
the interface through netlink. --release-on-exit holds the lease until
interrupted, renewing it at T1 and rebinding it at T2 as RFC 2131 §4.4.5
says, then releases it (and removes it from the interface with --apply).`,
		Example: `  rawlab dhcp lease -i veth1 --no-arp-check
  rawlab dhcp lease -i veth1 --select server=198.18.0.1 --lease-file lease.json --pcap dora.pcapng
  rawlab dhcp lease -i veth1 --apply --release-on-exit --hostname lab1`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDHCP(cmd.Context(), a, f, "lease")
		},
	}
	cmd.Flags().StringVar(&f.selection, "select", "first", "offer to take: first, server=IP or ip=IP")
	cmd.Flags().BoolVar(&f.apply, "apply", false, "configure the address and routes on the interface (netlink)")
	cmd.Flags().BoolVar(&f.releaseOnExit, "release-on-exit", false, "hold the lease (renewing it) until interrupted, then release it")
	return cmd
}

func newDHCPRequestCmd(a *app, f *dhcpFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "request -i IF (--ip IP | --lease-file F)",
		Short: "Ask for a known address: broadcast DHCPREQUEST in INIT-REBOOT",
		Long: `request asks for an address the client knows (after a reboot, RFC 2131 §3.2):
a broadcast DHCPREQUEST with the address in option 50 and no server
identifier. The server answers DHCPACK, or DHCPNAK when the address is wrong
for the link (exit status 1, the server and its message named). An
acknowledged address goes through the ARP conflict check, as in lease.`,
		Example: `  rawlab dhcp request -i veth1 --ip 198.18.0.100
  rawlab dhcp request -i veth1 --lease-file lease.json --apply`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDHCP(cmd.Context(), a, f, "request")
		},
	}
	cmd.Flags().StringVar(&f.ip, "ip", "", "address to request (default: the lease file's)")
	cmd.Flags().BoolVar(&f.apply, "apply", false, "configure the address and routes on the interface (netlink)")
	return cmd
}

func newDHCPLeaseVerbCmd(a *app, f *dhcpFlags, verb, short, example string) *cobra.Command {
	cmd := &cobra.Command{
		Use:     verb + " -i IF (--lease-file F | --ip IP [--server IP])",
		Short:   short,
		Example: example,
		Args:    positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDHCP(cmd.Context(), a, f, verb)
		},
	}
	cmd.Flags().StringVar(&f.ip, "ip", "", "the leased (or held) address (default: the lease file's)")
	if verb == "renew" || verb == "rebind" {
		cmd.Flags().BoolVar(&f.apply, "apply", false, "configure the renewed address and routes on the interface (netlink)")
	}
	return cmd
}

// parseDHCPBytes parses a text value that may carry a dhcpopt type prefix.
func parseDHCPBytes(s string) ([]byte, error) {
	if i := strings.IndexByte(s, ':'); i > 0 {
		switch strings.ToLower(s[:i]) {
		case "hex", "str", "ip", "u8", "u16", "u32":
			return dhcpopt.ParseValue(s)
		}
	}
	return []byte(s), nil
}

// planDHCP validates every flag, the interface and the files, before any
// socket is opened.
func planDHCP(a *app, f *dhcpFlags, verb string) (*dhcpPlan, error) {
	ifname, err := a.needInterface()
	if err != nil {
		return nil, err
	}
	p := &dhcpPlan{wait: f.wait}
	cfg := &p.cfg
	bad := func(flag string, err error) error { return usageErrorf("dhcp %s: --%s: %v", verb, flag, err) }

	if f.leaseFile != "" && verb != "lease" && verb != "discover" {
		l, err := dhcpclient.LoadLease(f.leaseFile)
		if err != nil {
			return nil, usageErrorf("dhcp %s: --lease-file: %v", verb, err)
		}
		p.lease = l
	}
	if f.leaseFile != "" && (verb == "lease" || p.lease != nil) {
		if err := outputPathCheck(f.leaseFile); err != nil {
			return nil, bad("lease-file", err)
		}
		p.leaseOut = f.leaseFile
	}
	if err := outputPathCheck(f.pcap); err != nil {
		return nil, bad("pcap", err)
	}

	if f.mac != "" && f.mac != "random" {
		if cfg.HWAddr, err = craft.ParseMAC(f.mac); err != nil {
			return nil, bad("mac", err)
		}
	}
	if f.mac == "random" {
		cfg.HWAddr = craft.RandomMAC()
	}
	if f.ethSrc != "" {
		if cfg.EthSrc, err = craft.ParseMAC(f.ethSrc); err != nil {
			return nil, bad("eth-src", err)
		}
	}
	if f.xid != "" {
		x, err := strconv.ParseUint(f.xid, 0, 32)
		if err != nil {
			return nil, bad("xid", fmt.Errorf("%q is not a 32-bit number", f.xid))
		}
		cfg.XID, cfg.FixedXID = uint32(x), true
	}
	if f.broadcast && f.noBroadcast {
		return nil, usageErrorf("dhcp %s: --broadcast and --no-broadcast exclude each other", verb)
	}
	cfg.Hostname, cfg.VendorClass = f.hostname, f.vendorClass
	if f.clientID != "" && f.clientID != "mac" {
		lower := strings.ToLower(f.clientID)
		if strings.HasPrefix(lower, "hex:") || strings.HasPrefix(lower, "str:") {
			if cfg.ClientID, err = dhcpopt.ParseValue(f.clientID); err != nil {
				return nil, bad("client-id", err)
			}
		} else if cfg.ClientID, err = hex.DecodeString(strings.NewReplacer(":", "", "-", "").Replace(f.clientID)); err != nil {
			return nil, bad("client-id", fmt.Errorf("%q: want hex bytes such as 01:02:00:00:00:00:10, hex:.., str:.. or mac", f.clientID))
		}
		if len(cfg.ClientID) < 2 || len(cfg.ClientID) > 255 {
			return nil, bad("client-id", fmt.Errorf("%q: want 2 to 255 bytes (a type byte, then the identifier)", f.clientID))
		}
	}
	if f.requestOptions != "" {
		if cfg.RequestOptions, err = dhcpopt.ParseCodeList(f.requestOptions); err != nil {
			return nil, bad("request-options", err)
		}
	}
	for _, o := range f.options {
		s, err := dhcpopt.ParseSetting(o)
		if err != nil {
			return nil, bad("option", err)
		}
		cfg.Options = append(cfg.Options, s)
	}
	parseIP := func(flag, s string) (netip.Addr, error) {
		ip, err := netip.ParseAddr(s)
		if err != nil || !ip.Is4() {
			return netip.Addr{}, bad(flag, fmt.Errorf("%q is not an IPv4 address", s))
		}
		return ip, nil
	}
	if f.giaddr != "" {
		if cfg.GIAddr, err = parseIP("giaddr", f.giaddr); err != nil {
			return nil, err
		}
	}
	if f.circuitID != "" {
		if cfg.CircuitID, err = parseDHCPBytes(f.circuitID); err != nil {
			return nil, bad("relay-circuit-id", err)
		}
	}
	if f.remoteID != "" {
		if cfg.RemoteID, err = parseDHCPBytes(f.remoteID); err != nil {
			return nil, bad("relay-remote-id", err)
		}
	}
	if f.server != "" {
		if cfg.Server, err = parseIP("server", f.server); err != nil {
			return nil, err
		}
	}
	if f.serverMAC != "" {
		if cfg.ServerMAC, err = craft.ParseMAC(f.serverMAC); err != nil {
			return nil, bad("server-mac", err)
		}
	}
	if f.vlan != 0 {
		if f.vlan < 1 || f.vlan > 4094 {
			return nil, bad("vlan", fmt.Errorf("%d is not a VLAN ID from 1 to 4094", f.vlan))
		}
		cfg.VLAN = &craft.VLAN{ID: uint16(f.vlan)}
	}
	if f.timeout <= 0 {
		return nil, bad("timeout", fmt.Errorf("%v is not a positive duration", f.timeout))
	}
	if f.retries < 0 || f.retries > 100 {
		return nil, bad("retries", fmt.Errorf("%d is not from 0 to 100", f.retries))
	}
	cfg.Timeout, cfg.Tries = f.timeout, f.retries+1
	if cfg.ARPCheck, err = dhcpclient.ParseARPCheck(f.arpCheck); err != nil {
		return nil, bad("arp-check", fmt.Errorf("%q: want short, rfc5227 or none", f.arpCheck))
	}
	if f.noARPCheck {
		cfg.ARPCheck = dhcpclient.ARPCheckNone
	}
	if f.wait < 0 {
		return nil, bad("wait", fmt.Errorf("%v is negative", f.wait))
	}
	for _, s := range f.expectServer {
		ip, err := parseIP("expect-server", strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		p.expect = append(p.expect, ip)
	}
	if len(p.expect) > 0 && p.wait == 0 {
		p.wait = 2 * time.Second
	}
	if verb == "lease" {
		switch sel := f.selection; {
		case sel == "first" || sel == "":
		case strings.HasPrefix(sel, "server="):
			if p.sel.Server, err = parseIP("select", strings.TrimPrefix(sel, "server=")); err != nil {
				return nil, err
			}
		case strings.HasPrefix(sel, "ip="):
			if p.sel.Address, err = parseIP("select", strings.TrimPrefix(sel, "ip=")); err != nil {
				return nil, err
			}
		default:
			return nil, bad("select", fmt.Errorf("%q: want first, server=IP or ip=IP", sel))
		}
	}
	if f.ip != "" {
		if p.ip, err = parseIP("ip", f.ip); err != nil {
			return nil, err
		}
	}
	if p.lease != nil {
		if !p.ip.IsValid() {
			p.ip = p.lease.Address
		}
		if f.mac == "" {
			cfg.HWAddr = net.HardwareAddr(p.lease.ClientMAC)
		}
		if f.clientID == "" && len(p.lease.ClientID) > 0 {
			cfg.ClientID = p.lease.ClientID
		}
	}
	switch verb {
	case "request", "renew", "rebind", "release", "decline", "inform":
		if !p.ip.IsValid() {
			return nil, usageErrorf("dhcp %s: no address: give --ip IP or --lease-file FILE", verb)
		}
	}
	if (verb == "release" || verb == "decline") && p.lease == nil && !cfg.Server.IsValid() {
		return nil, usageErrorf("dhcp %s: no server: give --server IP or --lease-file FILE", verb)
	}
	if verb == "renew" && p.lease == nil && !cfg.Server.IsValid() {
		return nil, usageErrorf("dhcp renew: no server to unicast to: give --server IP or --lease-file FILE (or use rebind)")
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
	cfg.Broadcast = !f.noBroadcast && (f.broadcast || f.mac != "" && !sameHW(cfg.HWAddr, p.ifi.HardwareAddr))
	if f.clientID == "mac" {
		cfg.ClientID = append([]byte{1}, cfg.HWAddr...)
	}
	cfg.Interface = p.ifi.Name
	cfg.Log = a.log
	return p, nil
}

func sameHW(a, b net.HardwareAddr) bool { return a.String() == b.String() }

// leaseFromFlags builds the lease a verb works on: the lease file's, with
// --ip and --server over it.
func (p *dhcpPlan) leaseForVerb() *dhcpclient.Lease {
	l := &dhcpclient.Lease{}
	if p.lease != nil {
		cp := *p.lease
		l = &cp
	}
	l.Interface = p.ifi.Name
	if p.ip.IsValid() && p.ip != l.Address {
		l.Address = p.ip
		if p.lease != nil && p.lease.Address != p.ip {
			l.ServerMAC = nil
		}
	}
	if p.cfg.Server.IsValid() {
		if l.Server != p.cfg.Server {
			l.ServerMAC = nil
		}
		l.Server = p.cfg.Server
	}
	l.ClientMAC = dhcpclient.MAC(p.cfg.HWAddr)
	return l
}

func runDHCP(ctx context.Context, a *app, f *dhcpFlags, verb string) (err error) {
	p, err := planDHCP(a, f, verb)
	if err != nil {
		return err
	}
	// Results go out in one write at the end (or when the buffer fills).
	out := bufio.NewWriter(a.stdout)
	stdout := a.stdout
	a.stdout = out
	defer func() {
		a.stdout = stdout
		if ferr := out.Flush(); ferr != nil && err == nil {
			err = ferr
		}
	}()
	c, err := dhcpclient.DialInterface(p.ifi, p.cfg)
	if err != nil {
		var ce *dhcpclient.ConfigError
		if errors.As(err, &ce) {
			return usageError(err)
		}
		return err // permission and interface errors exit 2 with a hint
	}
	// The recording file is created once the socket is open, so that a
	// permission error leaves no file behind.
	var rec *capture.Recorder
	if f.pcap != "" {
		rec, err = capture.CreateRecorder(f.pcap, capture.RecorderOptions{Format: capture.FormatPcapng, Interface: p.ifi.Name})
		if err != nil {
			c.Close()
			return usageError(err)
		}
		c.SetRecorder(rec)
	}
	defer func() {
		if ferr := out.Flush(); ferr != nil && err == nil {
			err = ferr
		}
		deferSocketRelease()
		cerr := c.Close()
		if rec != nil {
			cerr = errors.Join(cerr, rec.Close())
		}
		if cerr != nil && err == nil {
			err = failure(fmt.Errorf("dhcp %s: --pcap: %w", verb, cerr))
		}
	}()
	switch verb {
	case "discover":
		return dhcpDiscover(ctx, a, p, c)
	case "lease":
		return dhcpLease(ctx, a, f, p, c)
	case "request", "renew", "rebind":
		return dhcpRequest(ctx, a, f, p, c, verb)
	case "release", "decline":
		return dhcpRelease(ctx, a, p, c, verb)
	case "inform":
		return dhcpInform(ctx, a, p, c)
	}
	return usageErrorf("dhcp: unknown verb %q", verb)
}

// outcome maps a client error to an exit status: protocol outcomes exit 1,
// bad configuration 2.
func outcome(verb string, err error) error {
	var ce *dhcpclient.ConfigError
	if errors.As(err, &ce) {
		return usageError(err)
	}
	if errors.Is(err, context.Canceled) {
		return failure(fmt.Errorf("dhcp %s: interrupted", verb))
	}
	return failure(err)
}

func writeJSON(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func dhcpDiscover(ctx context.Context, a *app, p *dhcpPlan, c *dhcpclient.Client) error {
	offers, err := c.Discover(ctx, p.wait)
	rep := c.Report()
	var strangers []*dhcpclient.Reply
	if len(p.expect) > 0 {
		for _, o := range rep.Offers {
			known := false
			for _, e := range p.expect {
				known = known || o.Server == e || o.SrcIP == e
			}
			if !known {
				strangers = append(strangers, o)
			}
		}
	}
	if offers == nil {
		offers = rep.Offers
	}
	if a.json {
		out := struct {
			Interface string              `json:"interface"`
			Offers    []*dhcpclient.Reply `json:"offers"`
			Strangers []*dhcpclient.Reply `json:"strangers,omitempty"`
			Report    dhcpclient.Report   `json:"report"`
			Error     string              `json:"error,omitempty"`
		}{p.ifi.Name, offers, strangers, rep, errText(err)}
		out.Report.Offers = nil
		if werr := writeJSON(a, out); werr != nil {
			return werr
		}
	} else {
		printExchange(a, rep)
		for i, o := range offers {
			if i > 0 {
				fmt.Fprintln(a.stdout)
			}
			printReply(a, o)
		}
	}
	if err != nil {
		return outcome("discover", err)
	}
	if len(strangers) > 0 {
		for _, s := range strangers {
			fmt.Fprintf(a.stderr, "rawlab: unexpected DHCP server %s (%s) offered %s\n", s.Server, s.ServerMAC, s.Address)
		}
		return silent(exitFailed)
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func dhcpLease(ctx context.Context, a *app, f *dhcpFlags, p *dhcpPlan, c *dhcpclient.Client) error {
	l, err := c.Lease(ctx, p.sel)
	if err != nil {
		printFailure(a, c.Report(), err)
		return outcome("lease", err)
	}
	if err := finishLease(ctx, a, f, p, c, l); err != nil {
		return err
	}
	if !f.releaseOnExit {
		return nil
	}
	if w, ok := a.stdout.(*bufio.Writer); ok {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stderr, "rawlab: holding %s (renewing at T1, rebinding at T2) until interrupted; then releasing it\n", l.Address)
	l, err = c.Hold(ctx, l, func(nl *dhcpclient.Lease) error {
		if f.apply {
			if err := dhcpclient.Apply(nl); err != nil {
				return err
			}
		}
		if p.leaseOut != "" {
			if err := dhcpclient.SaveLease(p.leaseOut, nl); err != nil {
				return err
			}
		}
		fmt.Fprintf(a.stderr, "rawlab: %s extended by %s until %s\n", nl.Address, nl.Server, nl.Expiry().Local().Format("15:04:05"))
		return nil
	})
	if err != nil {
		if f.apply {
			err = errors.Join(err, dhcpclient.Unapply(l))
		}
		return failure(err)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.Release(rctx, l); err != nil {
		return failure(err)
	}
	fmt.Fprintf(a.stderr, "rawlab: released %s to %s\n", l.Address, l.Server)
	if f.apply {
		if err := dhcpclient.Unapply(l); err != nil {
			return failure(err)
		}
	}
	return nil
}

// finishLease applies, saves and prints a lease.
func finishLease(ctx context.Context, a *app, f *dhcpFlags, p *dhcpPlan, c *dhcpclient.Client, l *dhcpclient.Lease) error {
	if f.apply {
		if err := dhcpclient.Apply(l); err != nil {
			return failure(err)
		}
		// RFC 5227 §2.3: a host that begins to use an address it probed
		// with the full check announces it.
		if p.cfg.ARPCheck == dhcpclient.ARPCheckRFC5227 {
			if err := c.Announce(ctx, l.Address); err != nil {
				return failure(err)
			}
		}
	}
	rep := c.Report()
	if p.leaseOut != "" {
		if err := dhcpclient.SaveLease(p.leaseOut, l); err != nil {
			return failure(err)
		}
	}
	if a.json {
		return writeJSON(a, struct {
			Lease   *dhcpclient.Lease `json:"lease"`
			Applied bool              `json:"applied"`
			Report  dhcpclient.Report `json:"report"`
		}{l, f.apply, rep})
	}
	printExchange(a, rep)
	printLease(a, l)
	if f.apply {
		fmt.Fprintf(a.stdout, "\nApplied %s to %s.\n", l.Prefix(), l.Interface)
	}
	return nil
}

func dhcpRequest(ctx context.Context, a *app, f *dhcpFlags, p *dhcpPlan, c *dhcpclient.Client, verb string) error {
	var l *dhcpclient.Lease
	var err error
	switch verb {
	case "request":
		l, err = c.RequestAddress(ctx, p.ip)
	case "renew":
		l, err = c.Renew(ctx, p.leaseForVerb())
	case "rebind":
		l, err = c.Rebind(ctx, p.leaseForVerb())
	}
	if err != nil {
		printFailure(a, c.Report(), err)
		return outcome(verb, err)
	}
	return finishLease(ctx, a, f, p, c, l)
}

func dhcpRelease(ctx context.Context, a *app, p *dhcpPlan, c *dhcpclient.Client, verb string) error {
	l := p.leaseForVerb()
	var err error
	if verb == "release" {
		err = c.Release(ctx, l)
	} else {
		server := l.Server
		if !server.IsValid() {
			server = p.cfg.Server
		}
		err = c.Decline(ctx, l.Address, server, "")
	}
	if err != nil {
		return outcome(verb, err)
	}
	rep := c.Report()
	if a.json {
		return writeJSON(a, struct {
			Sent    string            `json:"sent"`
			Address netip.Addr        `json:"address"`
			Server  netip.Addr        `json:"server"`
			Report  dhcpclient.Report `json:"report"`
		}{"DHCP" + strings.ToUpper(verb), l.Address, l.Server, rep})
	}
	printExchange(a, rep)
	fmt.Fprintf(a.stdout, "Sent DHCP%s for %s to %s (no reply is expected).\n", strings.ToUpper(verb), l.Address, l.Server)
	return nil
}

func dhcpInform(ctx context.Context, a *app, p *dhcpPlan, c *dhcpclient.Client) error {
	ack, err := c.Inform(ctx, p.ip)
	if err != nil {
		printFailure(a, c.Report(), err)
		return outcome("inform", err)
	}
	if a.json {
		return writeJSON(a, struct {
			ACK    *dhcpclient.Reply `json:"ack"`
			Report dhcpclient.Report `json:"report"`
		}{ack, c.Report()})
	}
	printExchange(a, c.Report())
	printReply(a, ack)
	return nil
}
