package main

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/spf13/cobra"

	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/dhcpopt"
)

type craftDHCPFlags struct {
	msgType                         string
	xid                             string
	chaddr                          string
	ciaddr, yiaddr, siaddr, giaddr  string
	broadcast                       bool
	requestedIP, serverID           string
	hostname, clientID, vendorClass string
	requestOptions                  string
	options                         []string
	srcIP, dstIP                    string
	ttl, ipID                       int
}

// dhcpMessageTypes maps --type to option 53's value (RFC 2132 §9.6).
var dhcpMessageTypes = map[string]dhcpv4.MessageType{
	"discover": dhcpv4.MessageTypeDiscover, "offer": dhcpv4.MessageTypeOffer,
	"request": dhcpv4.MessageTypeRequest, "decline": dhcpv4.MessageTypeDecline,
	"ack": dhcpv4.MessageTypeAck, "nak": dhcpv4.MessageTypeNak,
	"release": dhcpv4.MessageTypeRelease, "inform": dhcpv4.MessageTypeInform,
}

func newCraftDHCPCmd(a *app) *cobra.Command {
	var f craftFlags
	var d craftDHCPFlags
	cmd := &cobra.Command{
		Use:   "dhcp [flags]",
		Short: "A DHCPv4 message in UDP, IPv4 and Ethernet (RFC 2131 §4.1)",
		Long: `A DHCPv4 message framed as RFC 2131 §4.1 describes: by default a client's
broadcast (0.0.0.0:68 -> 255.255.255.255:67, Ethernet broadcast). Give
--src-ip, --dst-ip and --dst-mac for the unicast forms (renewing, release).

--option CODE=VALUE sets any option; VALUE is hex:.., ip:a.b.c.d[,..],
str:.., u8:N, u16:N, u32:N, or a bare comma list of bytes (55=1,3,6,15) or
of IPv4 addresses. --xid is random unless given (0 is allowed).`,
		Example: `  rawlab craft dhcp --type discover --xid 0 --mac 02:00:00:00:00:01 --option 55=1,3,6,15 --hostname lab1
  rawlab craft dhcp --type request --requested-ip 198.18.0.100 --server-id 198.18.0.1 --hex
  rawlab craft dhcp -i veth0 --type discover --send --wait 2s`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.validate(a)
			if err != nil {
				return err
			}
			if err := outputPathCheck(f.write); err != nil {
				return err
			}
			m, addr, err := d.build(e)
			if err != nil {
				return err
			}
			frame, err := craft.EncodeDHCP(m, addr)
			if err != nil {
				return usageError(fmt.Errorf("craft dhcp: %w", err))
			}
			xid := m.TransactionID
			match := func(b []byte) bool {
				p, err := craft.DecodeDHCP(b)
				return err == nil && p.Msg.OpCode == dhcpv4.OpcodeBootReply && p.Msg.TransactionID == xid
			}
			return runCraft(cmd.Context(), a, &f, craftSpec{frames: [][]byte{frame}, match: match, filter: "dhcp"})
		},
	}
	f.register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&d.msgType, "type", "discover", "message type: discover, offer, request, decline, ack, nak, release, inform")
	fl.StringVar(&d.xid, "xid", "", "transaction `ID`, decimal or 0x-hex (default random)")
	fl.StringVar(&d.chaddr, "mac", "", "client hardware address chaddr `MAC` (default: the Ethernet source)")
	fl.StringVar(&d.ciaddr, "ciaddr", "", "client `IP` address field")
	fl.StringVar(&d.yiaddr, "yiaddr", "", "'your' `IP` address field")
	fl.StringVar(&d.siaddr, "siaddr", "", "next server `IP` address field")
	fl.StringVar(&d.giaddr, "giaddr", "", "relay agent `IP` address field")
	fl.BoolVar(&d.broadcast, "broadcast", false, "set the BROADCAST flag")
	fl.StringVar(&d.requestedIP, "requested-ip", "", "option 50, requested `IP` address")
	fl.StringVar(&d.serverID, "server-id", "", "option 54, server identifier `IP`")
	fl.StringVar(&d.hostname, "hostname", "", "option 12, host `NAME`")
	fl.StringVar(&d.clientID, "client-id", "", "option 61, client identifier (hex: for raw bytes, else text)")
	fl.StringVar(&d.vendorClass, "vendor-class", "", "option 60, vendor class identifier `TEXT`")
	fl.StringVar(&d.requestOptions, "request-options", "", "option 55, comma-separated codes or names (e.g. 1,3,6,domain-search)")
	fl.StringArrayVar(&d.options, "option", nil, "set option `CODE=VALUE` (repeatable)")
	fl.StringVar(&d.srcIP, "src-ip", "", "IPv4 source `IP` (default 0.0.0.0, or 198.18.x server for replies)")
	fl.StringVar(&d.dstIP, "dst-ip", "", "IPv4 destination `IP` (default 255.255.255.255)")
	fl.IntVar(&d.ttl, "ttl", craft.DefaultTTL, "IPv4 time to live `N`")
	fl.IntVar(&d.ipID, "ip-id", 0, "IPv4 identification `N`")
	return cmd
}

// bareBytes and bareIPs recognise the untyped option values craft accepts
// besides dhcpopt's typed ones.
var (
	bareBytes = regexp.MustCompile(`^\d{1,3}(,\d{1,3})*$`)
	bareIPs   = regexp.MustCompile(`^\d{1,3}(\.\d{1,3}){3}(,\d{1,3}(\.\d{1,3}){3})*$`)
)

// parseCraftOption parses --option CODE=VALUE, accepting a bare list of
// bytes or IPv4 addresses as well as dhcpopt's typed values.
func parseCraftOption(s string) (dhcpopt.Setting, error) {
	k, v, ok := strings.Cut(s, "=")
	if ok && !strings.Contains(v, ":") {
		switch {
		case bareIPs.MatchString(v):
			s = k + "=ip:" + v
		case bareBytes.MatchString(v):
			var hexs strings.Builder
			for _, n := range strings.Split(v, ",") {
				b, err := strconv.Atoi(n)
				if err != nil || b > 255 {
					return dhcpopt.Setting{}, fmt.Errorf("option %q: %s is not a byte (0-255)", s, n)
				}
				fmt.Fprintf(&hexs, "%02x", b)
			}
			s = k + "=hex:" + hexs.String()
		}
	}
	return dhcpopt.ParseSetting(s)
}

func (d *craftDHCPFlags) build(e ether) (*dhcpv4.DHCPv4, craft.DHCPAddressing, error) {
	var addr craft.DHCPAddressing
	mt, ok := dhcpMessageTypes[strings.ToLower(d.msgType)]
	if !ok {
		return nil, addr, usageErrorf("craft dhcp: --type %q: want discover, offer, request, decline, ack, nak, release or inform", d.msgType)
	}
	chaddr := e.src
	var err error
	if d.chaddr != "" {
		if chaddr, err = parseMACFlag("--mac", d.chaddr); err != nil {
			return nil, addr, err
		}
	}
	xid := randomUint32()
	if d.xid != "" {
		n, err := parseUintFlag("--xid", d.xid, 32)
		if err != nil {
			return nil, addr, err
		}
		xid = uint32(n)
	}
	ips := map[string]*string{"--ciaddr": &d.ciaddr, "--yiaddr": &d.yiaddr, "--siaddr": &d.siaddr, "--giaddr": &d.giaddr,
		"--requested-ip": &d.requestedIP, "--server-id": &d.serverID, "--src-ip": &d.srcIP, "--dst-ip": &d.dstIP}
	parsed := map[string]netip.Addr{}
	for name, v := range ips {
		ip, err := parseIPv4Flag(name, *v, netip.Addr{})
		if err != nil {
			return nil, addr, err
		}
		parsed[name] = ip
	}
	if d.ttl < 1 || d.ttl > 255 || d.ipID < 0 || d.ipID > 65535 {
		return nil, addr, usageErrorf("craft dhcp: --ttl wants 1-255 and --ip-id 0-65535")
	}
	var settings []dhcpopt.Setting
	for _, o := range d.options {
		s, err := parseCraftOption(o)
		if err != nil {
			return nil, addr, usageError(fmt.Errorf("craft dhcp: %w", err))
		}
		settings = append(settings, s)
	}
	var request []dhcpopt.Code
	if d.requestOptions != "" {
		if request, err = dhcpopt.ParseCodeList(d.requestOptions); err != nil {
			return nil, addr, usageError(fmt.Errorf("craft dhcp: --request-options: %w", err))
		}
	}

	op := dhcpv4.OpcodeBootRequest
	switch mt {
	case dhcpv4.MessageTypeOffer, dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak:
		op = dhcpv4.OpcodeBootReply
	}
	m, err := dhcpv4.New(
		dhcpv4.WithTransactionID(dhcpv4.TransactionID{byte(xid >> 24), byte(xid >> 16), byte(xid >> 8), byte(xid)}),
		dhcpv4.WithHwAddr(chaddr),
		dhcpv4.WithMessageType(mt),
	)
	if err != nil {
		return nil, addr, fmt.Errorf("craft dhcp: %w", err)
	}
	m.OpCode = op
	if d.broadcast {
		m.SetBroadcast()
	}
	setIP := func(dst *net.IP, ip netip.Addr) {
		if ip.IsValid() {
			*dst = net.IP(ip.AsSlice())
		}
	}
	setIP(&m.ClientIPAddr, parsed["--ciaddr"])
	setIP(&m.YourIPAddr, parsed["--yiaddr"])
	setIP(&m.ServerIPAddr, parsed["--siaddr"])
	setIP(&m.GatewayIPAddr, parsed["--giaddr"])
	if ip := parsed["--requested-ip"]; ip.IsValid() {
		m.UpdateOption(dhcpv4.OptRequestedIPAddress(net.IP(ip.AsSlice())))
	}
	if ip := parsed["--server-id"]; ip.IsValid() {
		m.UpdateOption(dhcpv4.OptServerIdentifier(net.IP(ip.AsSlice())))
	}
	if d.hostname != "" {
		m.UpdateOption(dhcpv4.OptHostName(d.hostname))
	}
	if d.vendorClass != "" {
		m.UpdateOption(dhcpv4.OptClassIdentifier(d.vendorClass))
	}
	if d.clientID != "" {
		id := []byte(d.clientID)
		if strings.HasPrefix(d.clientID, "hex:") {
			if id, err = dhcpopt.ParseValue(d.clientID); err != nil {
				return nil, addr, usageErrorf("craft dhcp: --client-id: %v", err)
			}
		}
		m.UpdateOption(dhcpv4.OptClientIdentifier(id))
	}
	if len(request) > 0 {
		codes := make([]dhcpv4.OptionCode, len(request))
		for i, c := range request {
			codes[i] = dhcpv4.GenericOptionCode(c)
		}
		m.UpdateOption(dhcpv4.OptParameterRequestList(codes...))
	}
	for _, s := range settings {
		m.UpdateOption(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(s.Code), s.Data))
	}
	addr = craft.DHCPAddressing{
		SrcMAC: e.src, DstMAC: e.dst, VLAN: e.vlan,
		SrcIP: parsed["--src-ip"], DstIP: parsed["--dst-ip"],
		TTL: uint8(d.ttl), ID: uint16(d.ipID),
	}
	return m, addr, nil
}
