package dhcpopt

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Code is a DHCPv4 option code (RFC 2132 §2). Its String is the IANA name; it
// encodes to JSON as a number.
type Code uint8

// Option codes rawlab names in code (the full table is in names.go).
const (
	Pad                  Code = 0
	SubnetMask           Code = 1
	Router               Code = 3
	DomainServer         Code = 6
	Hostname             Code = 12
	DomainName           Code = 15
	InterfaceMTU         Code = 26
	BroadcastAddress     Code = 28
	NTPServers           Code = 42
	VendorSpecific       Code = 43
	RequestedAddress     Code = 50
	LeaseTime            Code = 51
	Overload             Code = 52
	MessageType          Code = 53
	ServerIdentifier     Code = 54
	ParameterList        Code = 55
	Message              Code = 56
	MaxMessageSize       Code = 57
	RenewalTime          Code = 58
	RebindingTime        Code = 59
	ClassIdentifier      Code = 60
	ClientIdentifier     Code = 61
	TFTPServerName       Code = 66
	BootfileName         Code = 67
	RapidCommit          Code = 80
	ClientFQDN           Code = 81
	RelayAgentInfo       Code = 82
	DomainSearch         Code = 119
	ClasslessStaticRoute Code = 121
	TFTPServerAddress    Code = 150
	WPAD                 Code = 252
	End                  Code = 255
)

type kind uint8

const (
	kindHex kind = iota
	kindIP
	kindIPs
	kindIPPairs
	kindMask
	kindString
	kindU8
	kindU16
	kindU16s
	kindU32
	kindI32
	kindSeconds
	kindBool
	kindEmpty
	kindMsgType
	kindParamList
	kindClientID
	kindFQDN
	kindRelay
	kindDomains
	kindRoutes
	kindOverload
	kindNodeType
	kindArch
	kindUUID
	kindSIP
	kindUserClass
)

type info struct {
	name string // IANA registry name
	key  string // short lower-case name accepted on the command line
	kind kind
}

// table is the IANA BOOTP/DHCP parameters registry, with the decoding kind of
// each option rawlab understands. Codes 224-254 are private use; rawlab names
// the ones lab servers commonly send.
var table = map[Code]info{
	0:   {"Pad", "pad", kindEmpty},
	1:   {"Subnet Mask", "subnet-mask", kindMask},
	2:   {"Time Offset", "time-offset", kindI32},
	3:   {"Router", "router", kindIPs},
	4:   {"Time Server", "time-server", kindIPs},
	5:   {"Name Server", "name-server", kindIPs},
	6:   {"Domain Server", "dns", kindIPs},
	7:   {"Log Server", "log-server", kindIPs},
	8:   {"Quotes Server", "quotes-server", kindIPs},
	9:   {"LPR Server", "lpr-server", kindIPs},
	10:  {"Impress Server", "impress-server", kindIPs},
	11:  {"RLP Server", "rlp-server", kindIPs},
	12:  {"Hostname", "hostname", kindString},
	13:  {"Boot File Size", "boot-file-size", kindU16},
	14:  {"Merit Dump File", "merit-dump-file", kindString},
	15:  {"Domain Name", "domain-name", kindString},
	16:  {"Swap Server", "swap-server", kindIP},
	17:  {"Root Path", "root-path", kindString},
	18:  {"Extension File", "extension-file", kindString},
	19:  {"Forward On/Off", "ip-forwarding", kindBool},
	20:  {"SrcRte On/Off", "non-local-source-routing", kindBool},
	21:  {"Policy Filter", "policy-filter", kindIPPairs},
	22:  {"Max DG Assembly", "max-datagram-reassembly", kindU16},
	23:  {"Default IP TTL", "default-ip-ttl", kindU8},
	24:  {"MTU Timeout", "path-mtu-aging-timeout", kindSeconds},
	25:  {"MTU Plateau", "path-mtu-plateau-table", kindU16s},
	26:  {"MTU Interface", "mtu", kindU16},
	27:  {"MTU Subnet", "all-subnets-local", kindBool},
	28:  {"Broadcast Address", "broadcast", kindIP},
	29:  {"Mask Discovery", "mask-discovery", kindBool},
	30:  {"Mask Supplier", "mask-supplier", kindBool},
	31:  {"Router Discovery", "router-discovery", kindBool},
	32:  {"Router Request", "router-solicitation", kindIP},
	33:  {"Static Route", "static-route", kindIPPairs},
	34:  {"Trailers", "trailer-encapsulation", kindBool},
	35:  {"ARP Timeout", "arp-timeout", kindSeconds},
	36:  {"Ethernet", "ethernet-encapsulation", kindBool},
	37:  {"Default TCP TTL", "tcp-ttl", kindU8},
	38:  {"Keepalive Time", "tcp-keepalive", kindSeconds},
	39:  {"Keepalive Data", "tcp-keepalive-garbage", kindBool},
	40:  {"NIS Domain", "nis-domain", kindString},
	41:  {"NIS Servers", "nis-server", kindIPs},
	42:  {"NTP Servers", "ntp-server", kindIPs},
	43:  {"Vendor Specific", "vendor-specific", kindHex},
	44:  {"NETBIOS Name Srv", "netbios-ns", kindIPs},
	45:  {"NETBIOS Dist Srv", "netbios-dd", kindIPs},
	46:  {"NETBIOS Node Type", "netbios-nodetype", kindNodeType},
	47:  {"NETBIOS Scope", "netbios-scope", kindString},
	48:  {"X Window Font", "x-font-server", kindIPs},
	49:  {"X Window Manager", "x-display-manager", kindIPs},
	50:  {"Address Request", "requested-address", kindIP},
	51:  {"Address Time", "lease-time", kindSeconds},
	52:  {"Overload", "overload", kindOverload},
	53:  {"DHCP Msg Type", "message-type", kindMsgType},
	54:  {"DHCP Server Id", "server-id", kindIP},
	55:  {"Parameter List", "parameter-list", kindParamList},
	56:  {"DHCP Message", "message", kindString},
	57:  {"DHCP Max Msg Size", "max-message-size", kindU16},
	58:  {"Renewal Time", "renewal-time", kindSeconds},
	59:  {"Rebinding Time", "rebinding-time", kindSeconds},
	60:  {"Class Id", "vendor-class", kindString},
	61:  {"Client Id", "client-id", kindClientID},
	62:  {"NetWare/IP Domain", "netware-ip-domain", kindString},
	63:  {"NetWare/IP Option", "netware-ip-option", kindHex},
	64:  {"NIS-Domain-Name", "nisplus-domain", kindString},
	65:  {"NIS-Server-Addr", "nisplus-server", kindIPs},
	66:  {"Server-Name", "tftp-server", kindString},
	67:  {"Bootfile-Name", "bootfile-name", kindString},
	68:  {"Home-Agent-Addrs", "mobile-ip-home-agent", kindIPs},
	69:  {"SMTP-Server", "smtp-server", kindIPs},
	70:  {"POP3-Server", "pop3-server", kindIPs},
	71:  {"NNTP-Server", "nntp-server", kindIPs},
	72:  {"WWW-Server", "www-server", kindIPs},
	73:  {"Finger-Server", "finger-server", kindIPs},
	74:  {"IRC-Server", "irc-server", kindIPs},
	75:  {"StreetTalk-Server", "streettalk-server", kindIPs},
	76:  {"STDA-Server", "stda-server", kindIPs},
	77:  {"User-Class", "user-class", kindUserClass},
	78:  {"Directory Agent", "slp-directory-agent", kindHex},
	79:  {"Service Scope", "slp-service-scope", kindHex},
	80:  {"Rapid Commit", "rapid-commit", kindEmpty},
	81:  {"Client FQDN", "client-fqdn", kindFQDN},
	82:  {"Relay Agent Information", "relay-agent-info", kindRelay},
	83:  {"iSNS", "isns", kindHex},
	85:  {"NDS Servers", "nds-servers", kindIPs},
	86:  {"NDS Tree Name", "nds-tree-name", kindString},
	87:  {"NDS Context", "nds-context", kindString},
	88:  {"BCMCS Controller Domain Name list", "bcmcs-domains", kindDomains},
	89:  {"BCMCS Controller IPv4 address option", "bcmcs-addresses", kindIPs},
	90:  {"Authentication", "authentication", kindHex},
	91:  {"client-last-transaction-time option", "client-last-transaction-time", kindSeconds},
	92:  {"associated-ip option", "associated-ip", kindIPs},
	93:  {"Client System", "client-arch", kindArch},
	94:  {"Client NDI", "client-ndi", kindHex},
	95:  {"LDAP", "ldap", kindHex},
	97:  {"UUID/GUID", "uuid", kindUUID},
	98:  {"User-Auth", "user-auth", kindString},
	99:  {"GEOCONF_CIVIC", "geoconf-civic", kindHex},
	100: {"PCode", "posix-timezone", kindString},
	101: {"TCode", "tz-database", kindString},
	108: {"IPv6-Only Preferred", "ipv6-only-preferred", kindSeconds},
	109: {"OPTION_DHCP4O6_S46_SADDR", "dhcp4o6-s46-saddr", kindHex},
	112: {"Netinfo Address", "netinfo-address", kindHex},
	113: {"Netinfo Tag", "netinfo-tag", kindHex},
	114: {"DHCP Captive-Portal", "captive-portal", kindString},
	116: {"Auto-Config", "auto-config", kindU8},
	117: {"Name Service Search", "name-service-search", kindU16s},
	118: {"Subnet Selection Option", "subnet-selection", kindIP},
	119: {"Domain Search", "domain-search", kindDomains},
	120: {"SIP Servers DHCP Option", "sip-server", kindSIP},
	121: {"Classless Static Route Option", "classless-static-route", kindRoutes},
	122: {"CCC", "cablelabs-client-config", kindHex},
	123: {"GeoConf Option", "geoconf", kindHex},
	124: {"V-I Vendor Class", "vi-vendor-class", kindHex},
	125: {"V-I Vendor-Specific Information", "vi-vendor-specific", kindHex},
	136: {"OPTION_PANA_AGENT", "pana-agent", kindIPs},
	137: {"OPTION_V4_LOST", "lost-server", kindDomains},
	138: {"OPTION_CAPWAP_AC_V4", "capwap-ac", kindIPs},
	139: {"OPTION-IPv4_Address-MoS", "mos-address", kindHex},
	140: {"OPTION-IPv4_FQDN-MoS", "mos-fqdn", kindHex},
	141: {"SIP UA Configuration Service Domains", "sip-ua-domains", kindDomains},
	142: {"OPTION-IPv4_Address-ANDSF", "andsf-address", kindIPs},
	143: {"OPTION_V4_SZTP_REDIRECT", "sztp-redirect", kindHex},
	144: {"GeoLoc", "geoloc", kindHex},
	145: {"FORCERENEW_NONCE_CAPABLE", "forcerenew-nonce-capable", kindHex},
	146: {"RDNSS Selection", "rdnss-selection", kindHex},
	147: {"OPTION_V4_DOTS_RI", "dots-ri", kindHex},
	148: {"OPTION_V4_DOTS_ADDRESS", "dots-address", kindIPs},
	150: {"TFTP server address", "tftp-server-address", kindIPs},
	151: {"status-code", "status-code", kindHex},
	152: {"base-time", "base-time", kindU32},
	153: {"start-time-of-state", "start-time-of-state", kindSeconds},
	154: {"query-start-time", "query-start-time", kindU32},
	155: {"query-end-time", "query-end-time", kindU32},
	156: {"dhcp-state", "dhcp-state", kindU8},
	157: {"data-source", "data-source", kindU8},
	158: {"OPTION_V4_PCP_SERVER", "pcp-server", kindHex},
	159: {"OPTION_V4_PORTPARAMS", "portparams", kindHex},
	161: {"OPTION_MUD_URL_V4", "mud-url", kindString},
	162: {"OPTION_V4_DNR", "dnr", kindHex},
	175: {"Etherboot (Tentatively Assigned - 2005-06-23)", "etherboot", kindHex},
	176: {"IP Telephone (Tentatively Assigned - 2005-06-23)", "ip-telephone", kindHex},
	177: {"PacketCable and CableHome (replaced by 122)", "packetcable", kindHex},
	208: {"PXELINUX Magic", "pxelinux-magic", kindHex},
	209: {"Configuration File", "pxelinux-config-file", kindString},
	210: {"Path Prefix", "pxelinux-path-prefix", kindString},
	211: {"Reboot Time", "pxelinux-reboot-time", kindSeconds},
	212: {"OPTION_6RD", "6rd", kindHex},
	213: {"OPTION_V4_ACCESS_DOMAIN", "access-domain", kindDomains},
	220: {"Subnet Allocation Option", "subnet-allocation", kindHex},
	221: {"Virtual Subnet Selection (VSS) Option", "vss", kindHex},
	249: {"Private/Classless Static Route (Microsoft)", "ms-classless-static-route", kindRoutes},
	252: {"Private/Proxy autodiscovery", "wpad", kindString},
	255: {"End", "end", kindEmpty},
}

// aliases are extra command-line names for common options (dnsmasq's and
// ISC dhcpd's spellings).
var aliases = map[string]Code{
	"netmask":                     1,
	"mask":                        1,
	"routers":                     3,
	"gateway":                     3,
	"dns-server":                  6,
	"domain-name-server":          6,
	"domain-name-servers":         6,
	"host-name":                   12,
	"domain":                      15,
	"interface-mtu":               26,
	"broadcast-address":           28,
	"ntp-servers":                 42,
	"vendor-encapsulated-options": 43,
	"dhcp-lease-time":             51,
	"dhcp-server-identifier":      54,
	"t1":                          58,
	"t2":                          59,
	"vendor-class-identifier":     60,
	"tftp-server-name":            66,
	"bootfile":                    67,
	"fqdn":                        81,
	"option-82":                   82,
	"search":                      119,
	"domain-search-list":          119,
	"classless-routes":            121,
	"routes":                      121,
	"tftp-server-addresses":       150,
	"proxy-autodiscovery":         252,
}

// String returns the option's IANA name, or "Unassigned" / "Private use" for
// codes the registry does not name.
func (c Code) String() string {
	if in, ok := table[c]; ok {
		return in.name
	}
	if c >= 224 && c <= 254 {
		return "Private use"
	}
	return "Unassigned"
}

// Key returns the short lower-case name ParseCode accepts for c, or its
// decimal code when it has none.
func (c Code) Key() string {
	if in, ok := table[c]; ok {
		return in.key
	}
	return strconv.Itoa(int(c))
}

// MarshalJSON encodes c as a number.
func (c Code) MarshalJSON() ([]byte, error) { return strconv.AppendUint(nil, uint64(c), 10), nil }

// UnmarshalJSON accepts a number or a name.
func (c *Code) UnmarshalJSON(b []byte) error {
	var n uint8
	if err := json.Unmarshal(b, &n); err == nil {
		*c = Code(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("dhcpopt: option code %s: not a number or a name", b)
	}
	v, err := ParseCode(s)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// normalize folds a name for lookup: lower case, '_' and ' ' as '-'.
func normalize(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ' ' {
			return '-'
		}
		return r
	}, s)
}

// byName maps every normalized key, IANA name and alias to its code. It is
// built on first use, so that programs that never parse a name do not pay
// for it at start-up.
var byName = sync.OnceValue(func() map[string]Code {
	m := make(map[string]Code, 2*len(table)+len(aliases))
	for c, in := range table {
		m[normalize(in.name)] = c
		m[in.key] = c
	}
	for k, c := range aliases {
		m[k] = c
	}
	return m
})

// ParseCode parses an option code given as a decimal number (0-255), as
// 0x-prefixed hex, or by name: the short key ("router", "dns", "domain-search"),
// the IANA name ("Domain Server"), or a common alias ("routers", "netmask").
// Names are matched without regard to case, '-', '_' or ' '.
func ParseCode(s string) (Code, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("dhcpopt: empty option code")
	}
	if n, err := strconv.ParseUint(t, 0, 8); err == nil {
		return Code(n), nil
	}
	if t[0] >= '0' && t[0] <= '9' {
		return 0, fmt.Errorf("dhcpopt: option code %q: not a number from 0 to 255", s)
	}
	if c, ok := byName()[normalize(t)]; ok {
		return c, nil
	}
	return 0, fmt.Errorf("dhcpopt: option code %q: unknown option name", s)
}

// ParseCodeList parses a comma-separated list of option codes or names, as
// `--request-options 1,3,6,domain-search,121` takes it. Duplicates are kept
// once, in first-seen order; 0 (Pad) and 255 (End) are refused.
func ParseCodeList(s string) ([]Code, error) {
	var out []Code
	seen := make(map[Code]bool)
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		c, err := ParseCode(f)
		if err != nil {
			return nil, err
		}
		if c == Pad || c == End {
			return nil, fmt.Errorf("dhcpopt: option code %q: %d (%s) cannot be requested", f, c, c)
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dhcpopt: empty option list %q", s)
	}
	return out, nil
}
