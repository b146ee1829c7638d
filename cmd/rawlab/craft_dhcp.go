package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"

	"github.com/insomniacslk/dhcp/dhcpv4"
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
	var msgType, xid, chaddr, ciaddr, yiaddr, siaddr, giaddr, requestedIP, serverID string
	var spec dhcpopt.MessageSpec
	var clientID, requestOptions string
	cmd := &cobra.Command{
		Use:   "dhcp [flags]",
		Short: "A DHCPv4 message in UDP, IPv4 and Ethernet (RFC 2131 §4.1)",
		Long: `A DHCPv4 message framed as RFC 2131 §4.1 describes: by default a client's
broadcast (0.0.0.0:68 -> 255.255.255.255:67, Ethernet broadcast, source the
--mac address). Give --src-ip, --dst-ip and --dst-mac for the unicast forms.

--option CODE=TYPE:VALUE sets any option, as in rawlab dhcp: TYPE is hex,
ip (a.b.c.d[,..]), str, u8, u16 or u32; without a type, a comma list of
bytes (55=1,3,6,15) or of IPv4 addresses (6=198.18.0.53). An option that
contradicts another flag (--option 53=5 --type discover) is refused.
--client-id is option 61: "mac" (type 1 and chaddr), hex bytes with the type
byte first (01:02:00:5e:00:53:01), or a typed value (str:host1).
--xid is random unless given (0 is allowed).`,
		Example: `  rawlab craft dhcp --type discover --xid 0 --mac 02:00:00:00:00:01 --option 55=1,3,6,15 --hostname lab1
  rawlab craft dhcp --type request --requested-ip 198.18.0.100 --server-id 198.18.0.1 --client-id mac --hex
  rawlab craft dhcp -i veth0 --type discover --send --wait 2s`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.validate(a, cmd.Flags())
			if err != nil {
				return err
			}
			// --mac is the client: chaddr and, unless --src-mac says
			// otherwise, the Ethernet source.
			if spec.CHAddr, err = parseMACFlag("--mac", chaddr); err != nil {
				return err
			}
			if spec.CHAddr == nil {
				spec.CHAddr = e.src
			} else if !cmd.Flags().Changed("src-mac") {
				e.src = spec.CHAddr
			}
			if spec.Type, err = dhcpopt.ParseMessageType(msgType); err != nil {
				return usageErrorf("--type: %v", stripPkg(err))
			}
			var x uint64
			var b [4]byte
			rand.Read(b[:]) // never fails since Go 1.24
			x = uint64(binary.BigEndian.Uint32(b[:]))
			if xid != "" {
				if x, err = strconv.ParseUint(xid, 0, 32); err != nil {
					return usageErrorf("--xid %q: want an integer from 0 to 0xffffffff", xid)
				}
			}
			spec.XID = uint32(x)
			var errs []error
			for _, p := range []struct {
				name, s string
				dst     *netip.Addr
			}{{"--ciaddr", ciaddr, &spec.CIAddr}, {"--yiaddr", yiaddr, &spec.YIAddr}, {"--siaddr", siaddr, &spec.SIAddr},
				{"--giaddr", giaddr, &spec.GIAddr}, {"--requested-ip", requestedIP, &spec.RequestedIP}, {"--server-id", serverID, &spec.ServerID}} {
				var err error
				*p.dst, err = parseIPv4Flag(p.name, p.s, netip.Addr{})
				errs = append(errs, err)
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
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
			addr := craft.DHCPAddressing{SrcMAC: e.src, DstMAC: e.dst}
			if len(e.vlans) == 1 {
				addr.VLAN = &e.vlans[0]
			}
			ip, err := ipf.header(craft.ProtocolUDP, netip.Addr{}, netip.AddrFrom4([4]byte{255, 255, 255, 255}))
			if err != nil {
				return err
			}
			addr.TTL, addr.ID, addr.SrcIP = ip.TTL, ip.ID, ip.Src
			if ipf.dst != "" {
				addr.DstIP = ip.Dst
			}
			frame, err := craft.EncodeDHCP(m, addr)
			if err != nil {
				return usageError(stripPkg(err))
			}
			match := func(b []byte) bool {
				p, err := craft.DecodeDHCP(b)
				return err == nil && p.Msg.OpCode == dhcpv4.OpcodeBootReply && p.Msg.TransactionID == m.TransactionID
			}
			build := func(b []byte, _ int) []byte { return append(b, frame...) }
			return runCraft(cmd.Context(), a, &f, e, craftSpec{build: build, match: match, filter: "dhcp"})
		},
	}
	f.register(cmd.Flags())
	ipf.register(cmd.Flags(), false)
	fl := cmd.Flags()
	fl.StringVar(&msgType, "type", "discover", "message type: discover, offer, request, decline, ack, nak, release, inform")
	fl.StringVar(&xid, "xid", "", "transaction `ID`, decimal or 0x-hex (default random)")
	fl.StringVar(&chaddr, "mac", "", "client hardware address `MAC`: chaddr, and the Ethernet source unless --src-mac (default: the Ethernet source)")
	fl.StringVar(&ciaddr, "ciaddr", "", "client `IP` address field")
	fl.StringVar(&yiaddr, "yiaddr", "", "'your' `IP` address field")
	fl.StringVar(&siaddr, "siaddr", "", "next server `IP` address field")
	fl.StringVar(&giaddr, "giaddr", "", "relay agent `IP` address field")
	fl.BoolVar(&spec.Broadcast, "broadcast", false, "set the BROADCAST flag")
	fl.StringVar(&requestedIP, "requested-ip", "", "option 50, requested `IP` address")
	fl.StringVar(&serverID, "server-id", "", "option 54, server identifier `IP`")
	fl.StringVar(&spec.Hostname, "hostname", "", "option 12, host `NAME`")
	fl.StringVar(&clientID, "client-id", "", "option 61: mac, hex bytes (type byte first) or hex:/str: value")
	fl.StringVar(&spec.VendorClass, "vendor-class", "", "option 60, vendor class identifier `TEXT`")
	fl.StringVar(&requestOptions, "request-options", "", "option 55, comma-separated codes or names (e.g. 1,3,6,domain-search)")
	fl.StringArrayVar(&spec.Options, "option", nil, "set option `CODE=TYPE:VALUE` or CODE=LIST (repeatable)")
	return cmd
}
