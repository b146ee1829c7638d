package main

import (
	"errors"
	"net/netip"

	"github.com/spf13/cobra"

	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/dhcpopt"
)

// dhcpFlagOf names the flag that sets an option, for conflict messages.
var dhcpFlagOf = map[dhcpopt.Code]string{53: "--type", 50: "--requested-ip", 54: "--server-id", 12: "--hostname",
	60: "--vendor-class", 61: "--client-id", 55: "--request-options"}

func newCraftDHCPCmd(a *app) *cobra.Command {
	var f craftFlags
	var ipf ipFlags
	var spec dhcpopt.MessageSpec
	var msgType, xid, clientID, requestOptions string
	var chaddr craft.MACFlag
	var ciaddr, yiaddr, siaddr, giaddr, requestedIP, serverID craft.IPv4Flag
	cmd := &cobra.Command{
		Use:   "dhcp [flags]",
		Short: "A DHCPv4 message in UDP, IPv4 and Ethernet (RFC 2131 §4.1)",
		Long: `A DHCPv4 message framed as RFC 2131 §4.1 describes: by default a client's
broadcast (0.0.0.0:68 -> 255.255.255.255:67, Ethernet broadcast, from the
--mac address). Give --src-ip, --dst-ip and --dst-mac for the unicast forms.

--option CODE=TYPE:VALUE sets any option as in rawlab dhcp: TYPE is hex, ip
(a.b.c.d[,..]), str, u8, u16 or u32; without a type, a list of bytes
(55=1,3,6,15) or of IPv4 addresses. An option that contradicts another flag
(--option 53=5 --type discover) is refused. --client-id (option 61) is "mac"
(type 1 and chaddr), hex bytes with the type byte first (01:02:00:5e:00:53:01)
or a typed value (str:host1). --xid is random unless given (0 is allowed).`,
		Example: `  rawlab craft dhcp --type discover --xid 0 --mac 02:00:00:00:00:01 --option 55=1,3,6,15 --hostname lab1
  rawlab craft dhcp --type request --requested-ip 198.18.0.100 --server-id 198.18.0.1 --client-id mac --hex
  rawlab craft dhcp -i veth0 --type discover --send --wait 2s`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.validate(a, cmd.Flags())
			if err != nil {
				return err
			}
			// --mac is the client: chaddr, and the Ethernet source unless --src-mac says otherwise.
			spec.CHAddr = cmp0(chaddr.HardwareAddr, e.src)
			if f.srcMAC.HardwareAddr == nil {
				e.src = spec.CHAddr
			}
			if spec.Type, err = dhcpopt.ParseMessageType(msgType); err != nil {
				return usageErrorf("--type: %v", stripPkg(err))
			}
			if spec.XID, err = dhcpopt.ParseXID(xid); err != nil {
				return usageErrorf("--xid: %v", stripPkg(err))
			}
			spec.CIAddr, spec.YIAddr, spec.SIAddr, spec.GIAddr = ciaddr.Addr, yiaddr.Addr, siaddr.Addr, giaddr.Addr
			spec.RequestedIP, spec.ServerID = requestedIP.Addr, serverID.Addr
			if clientID != "" {
				if spec.ClientID, err = dhcpopt.ParseClientID(clientID, spec.CHAddr); err != nil {
					return usageErrorf("--client-id: %v", stripPkg(err))
				}
			}
			if requestOptions != "" {
				if spec.Request, err = dhcpopt.ParseCodeList(requestOptions); err != nil {
					return usageErrorf("--request-options: %v", stripPkg(err))
				}
			}
			m, err := spec.Build()
			if ce := (*dhcpopt.ConflictError)(nil); errors.As(err, &ce) && ce.Fixed && dhcpFlagOf[ce.Code] != "" {
				return usageErrorf("--option %d=%s contradicts %s", ce.Code, dhcpopt.Hex(ce.Given), dhcpFlagOf[ce.Code])
			} else if err != nil {
				return usageErrorf("--option: %v", stripPkg(err))
			}
			ip, err := ipf.header(craft.ProtocolUDP, netip.AddrFrom4([4]byte{255, 255, 255, 255}))
			if err != nil {
				return usageError(err)
			}
			addr := craft.DHCPAddressing{SrcMAC: e.src, DstMAC: e.dst, SrcIP: ipf.src.Addr, DstIP: ipf.dst.Addr, TTL: ip.TTL, ID: ip.ID}
			frame, err := craft.EncodeDHCP(m, addr)
			if err != nil {
				return usageError(stripPkg(err))
			}
			build := func(b []byte, _ int) []byte { return append(b, frame...) }
			return runCraft(cmd.Context(), a, &f, e, craftSpec{build, craft.MatchDHCPReply(m.TransactionID), "dhcp"})
		},
	}
	f.register(cmd.Flags())
	ipf.register(cmd.Flags(), false)
	fl := cmd.Flags()
	fl.StringVar(&msgType, "type", "discover", "message type: discover, offer, request, decline, ack, nak, release, inform")
	fl.StringVar(&xid, "xid", "", "transaction `ID`, decimal or 0x-hex (default random)")
	fl.Var(&chaddr, "mac", "client hardware address: chaddr, and the Ethernet source unless --src-mac (default: the Ethernet source)")
	fl.Var(&ciaddr, "ciaddr", "client IP address field")
	fl.Var(&yiaddr, "yiaddr", "'your' IP address field")
	fl.Var(&siaddr, "siaddr", "next server IP address field")
	fl.Var(&giaddr, "giaddr", "relay agent IP address field")
	fl.BoolVar(&spec.Broadcast, "broadcast", false, "set the BROADCAST flag")
	fl.Var(&requestedIP, "requested-ip", "option 50, requested IP address")
	fl.Var(&serverID, "server-id", "option 54, server identifier")
	fl.StringVar(&spec.Hostname, "hostname", "", "option 12, host `NAME`")
	fl.StringVar(&clientID, "client-id", "", "option 61: mac, hex bytes (type byte first) or hex:/str: value")
	fl.StringVar(&spec.VendorClass, "vendor-class", "", "option 60, vendor class identifier `TEXT`")
	fl.StringVar(&requestOptions, "request-options", "", "option 55, comma-separated codes or names (e.g. 1,3,6,domain-search)")
	fl.StringArrayVar(&spec.Options, "option", nil, "set option `CODE=TYPE:VALUE` or CODE=LIST (repeatable)")
	return cmd
}
