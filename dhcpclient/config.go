package dhcpclient

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/dhcpopt"
)

// Defaults of RFC 2131 §4.1 and RFC 5227 §1.1.
const (
	// DefaultTimeout is the first retransmission timeout (RFC 2131 §4.1: 4 s).
	DefaultTimeout = 4 * time.Second
	// DefaultTries is how many times a message is sent before giving up:
	// waits of 4, 8, 16 and 32 s make about a minute, as RFC 2131 §4.1
	// suggests.
	DefaultTries = 4
	// MaxTimeout caps the doubling (RFC 2131 §4.1: 64 s).
	MaxTimeout = 64 * time.Second
	// DefaultDeclineWait is the wait after a DHCPDECLINE before the next
	// DHCPDISCOVER (RFC 2131 §3.1 step 5: at least 10 s).
	DefaultDeclineWait = 10 * time.Second
	// DefaultProbeWait is the short conflict check's wait for an answer.
	DefaultProbeWait = 200 * time.Millisecond

	probeWait        = 1 * time.Second // RFC 5227 PROBE_WAIT
	probeNum         = 3               // PROBE_NUM
	probeMin         = 1 * time.Second // PROBE_MIN
	probeMax         = 2 * time.Second // PROBE_MAX
	announceWait     = 2 * time.Second // ANNOUNCE_WAIT
	announceNum      = 2               // ANNOUNCE_NUM
	announceInterval = 2 * time.Second // ANNOUNCE_INTERVAL
)

// DefaultRequestOptions is the parameter request list (option 55) sent when
// Config.RequestOptions is nil: what a lab server commonly gives.
var DefaultRequestOptions = []dhcpopt.Code{
	dhcpopt.SubnetMask, dhcpopt.Router, dhcpopt.DomainServer, dhcpopt.Hostname, dhcpopt.DomainName,
	dhcpopt.InterfaceMTU, dhcpopt.BroadcastAddress, dhcpopt.NTPServers, dhcpopt.LeaseTime,
	dhcpopt.ServerIdentifier, dhcpopt.RenewalTime, dhcpopt.RebindingTime, dhcpopt.DomainSearch,
	dhcpopt.ClasslessStaticRoute, dhcpopt.WPAD,
}

// Config sets the message fields and the behaviour of a Client. The zero
// value of every field but HWAddr means its default.
type Config struct {
	// Interface names the link, for leases and recordings.
	Interface string
	// HWAddr is chaddr, the client hardware address (required; Dial uses
	// the interface's MAC when nil).
	HWAddr net.HardwareAddr
	// EthSrc is the Ethernet source of every frame sent; nil means HWAddr.
	EthSrc net.HardwareAddr

	// XID is the transaction ID when FixedXID is set (0 included);
	// otherwise every exchange draws a random one.
	XID      uint32
	FixedXID bool

	// Broadcast sets the BROADCAST flag (RFC 2131 §4.1) in DISCOVER,
	// REQUEST and INFORM, asking the server to broadcast its replies.
	Broadcast bool
	// Hostname (option 12), ClientID (option 61, type byte first) and
	// VendorClass (option 60) are sent when set.
	Hostname    string
	ClientID    []byte
	VendorClass string
	// RequestOptions is the parameter request list (option 55); nil means
	// DefaultRequestOptions.
	RequestOptions []dhcpopt.Code
	// Options are sent as given, after everything else, replacing any
	// option with the same code.
	Options []dhcpopt.Setting
	// GIAddr is the relay agent address field; CircuitID and RemoteID fill
	// option 82 sub-options 1 and 2 (RFC 3046).
	GIAddr              netip.Addr
	CircuitID, RemoteID []byte

	// Server, when set, is the IP destination of every message (unicast);
	// ServerMAC is its Ethernet destination (else the lease's, else
	// resolved by ARP, else broadcast before an address is held).
	Server    netip.Addr
	ServerMAC net.HardwareAddr
	// Trusted and TrustedMACs name the legitimate servers. With Trusted
	// set, a reply counts as theirs only when its IP source and its server
	// identifier (option 54) are both in Trusted (list a relay's address
	// too when one relays); with TrustedMACs set, its Ethernet source must
	// be one of them. Other servers' replies are never requested from nor
	// accepted; they are kept in the Report as rogue offers.
	Trusted     []netip.Addr
	TrustedMACs []net.HardwareAddr
	// DeclineWait is the wait after a DHCPDECLINE before Lease starts
	// again; zero means DefaultDeclineWait.
	DeclineWait time.Duration

	// OnOffer, when set, is called with every DHCPOFFER as it arrives
	// (rogue ones included), for output that streams.
	OnOffer func(*Reply)

	// VLAN tags every frame sent; replies must carry the same VLAN ID.
	VLAN *craft.VLAN

	// Timeout is the first retransmission timeout; each retry doubles it up
	// to MaxTimeout (RFC 2131 §4.1). Zero means DefaultTimeout.
	Timeout time.Duration
	// Tries is how many times a message is sent; zero means DefaultTries.
	Tries int
	// Rand returns a uniformly random duration in [0, n]. It drives the ±1 s
	// retransmission jitter and the RFC 5227 random waits; tests inject a
	// fixed one. Nil means math/rand/v2.
	Rand func(n time.Duration) time.Duration

	// ARPCheck is the conflict check before an ACK is accepted; zero means
	// ARPCheckShort. ProbeWait is the short check's wait (zero: 200 ms).
	ARPCheck  ARPCheck
	ProbeWait time.Duration
	// Announce sends RFC 5227 §2.3 ARP Announcements once the address is
	// accepted (the caller is going to use it).
	Announce bool

	// HasAddr reports whether the interface itself holds an address; when
	// it does not, the client answers ARP requests for its leased address
	// while it waits for a reply sent to that address. Nil means never.
	HasAddr func(netip.Addr) bool

	// Recorder, when set, gets every frame sent and received, each with a
	// comment naming its step.
	Recorder *capture.Recorder
	// Log gets progress at debug level; nil discards it.
	Log *slog.Logger
}

// Field names of ConfigError, so that a caller can map them to its own
// names (a CLI to its flags).
const (
	FieldCHAddr      = "chaddr"
	FieldEthSrc      = "Ethernet source"
	FieldServerMAC   = "server MAC"
	FieldTimeout     = "retransmission timeout"
	FieldTries       = "tries"
	FieldVLAN        = "VLAN ID"
	FieldServer      = "server"
	FieldGIAddr      = "giaddr"
	FieldClientID    = "client identifier (option 61)"
	FieldHostname    = "host name (option 12)"
	FieldVendorClass = "vendor class identifier (option 60)"
	FieldCircuitID   = "agent circuit ID (option 82 sub-option 1)"
	FieldRemoteID    = "agent remote ID (option 82 sub-option 2)"
	FieldOption      = "option"
	FieldARPCheck    = "ARP check"
	FieldTrusted     = "trusted server"
	FieldDeclineWait = "wait after DHCPDECLINE"
	FieldProbeWait   = "ARP probe wait"
)

// MaxTries bounds Config.Tries.
const MaxTries = 100

// Validate reports the first invalid field of c as a *ConfigError. New and
// Dial call it before anything is sent; a caller may call it earlier, before
// it creates any file, with HWAddr still nil (Dial fills in the
// interface's; New requires one).
func (c *Config) Validate() error {
	for _, m := range []struct {
		f   string
		mac net.HardwareAddr
		req bool
	}{{FieldCHAddr, c.HWAddr, false}, {FieldEthSrc, c.EthSrc, false}, {FieldServerMAC, c.ServerMAC, false}} {
		if m.mac == nil && !m.req {
			continue
		}
		if len(m.mac) != 6 {
			return &ConfigError{Field: m.f, Value: m.mac.String(), Reason: "want a 6-byte Ethernet MAC"}
		}
		if m.f == FieldServerMAC {
			continue
		}
		if why := macProblem(m.mac); why != "" {
			return &ConfigError{Field: m.f, Value: m.mac.String(), Reason: why}
		}
	}
	for _, m := range c.TrustedMACs {
		if len(m) != 6 {
			return &ConfigError{Field: FieldTrusted, Value: m.String(), Reason: "want a 6-byte Ethernet MAC"}
		}
	}
	switch {
	case c.Timeout < 0:
		return &ConfigError{Field: FieldTimeout, Value: c.Timeout.String(), Reason: "must not be negative"}
	case c.Tries < 0 || c.Tries > MaxTries:
		return &ConfigError{Field: FieldTries, Value: fmt.Sprint(c.Tries), Reason: fmt.Sprintf("want 1 to %d", MaxTries)}
	case c.DeclineWait < 0:
		return &ConfigError{Field: FieldDeclineWait, Value: c.DeclineWait.String(), Reason: "must not be negative"}
	case c.ProbeWait < 0:
		return &ConfigError{Field: FieldProbeWait, Value: c.ProbeWait.String(), Reason: "must not be negative"}
	case c.VLAN != nil && (c.VLAN.ID == 0 || c.VLAN.ID >= 4095):
		return &ConfigError{Field: FieldVLAN, Value: fmt.Sprint(c.VLAN.ID), Reason: "want 1 to 4094 (IEEE 802.1Q)"}
	case len(c.ClientID) == 1 || len(c.ClientID) > 255:
		return &ConfigError{Field: FieldClientID, Value: fmt.Sprintf("%d bytes", len(c.ClientID)),
			Reason: "want 2 to 255 bytes: a type byte, then the identifier (RFC 2132 §9.14)"}
	case len(c.Hostname) > 255:
		return &ConfigError{Field: FieldHostname, Value: fmt.Sprintf("%d bytes", len(c.Hostname)), Reason: "longer than 255 bytes"}
	case len(c.VendorClass) > 255:
		return &ConfigError{Field: FieldVendorClass, Value: fmt.Sprintf("%d bytes", len(c.VendorClass)), Reason: "longer than 255 bytes"}
	case len(c.CircuitID) > 255:
		return &ConfigError{Field: FieldCircuitID, Value: fmt.Sprintf("%d bytes", len(c.CircuitID)), Reason: "longer than 255 bytes (RFC 3046 §2.0)"}
	case len(c.RemoteID) > 255:
		return &ConfigError{Field: FieldRemoteID, Value: fmt.Sprintf("%d bytes", len(c.RemoteID)), Reason: "longer than 255 bytes (RFC 3046 §2.0)"}
	case len(c.CircuitID)+len(c.RemoteID)+4 > 255 && len(c.CircuitID) > 0 && len(c.RemoteID) > 0:
		return &ConfigError{Field: FieldRemoteID, Value: fmt.Sprintf("%d+%d bytes", len(c.CircuitID), len(c.RemoteID)),
			Reason: "circuit ID and remote ID together do not fit in option 82's 255 bytes"}
	case c.ARPCheck > ARPCheckNone:
		return &ConfigError{Field: FieldARPCheck, Value: c.ARPCheck.String(), Reason: "unknown check"}
	}
	for _, a := range []struct {
		n string
		a netip.Addr
	}{{FieldServer, c.Server}, {FieldGIAddr, c.GIAddr}} {
		if a.a.IsValid() && !a.a.Is4() {
			return &ConfigError{Field: a.n, Value: a.a.String(), Reason: "not IPv4"}
		}
	}
	for _, a := range c.Trusted {
		if !a.Is4() || a.IsUnspecified() {
			return &ConfigError{Field: FieldTrusted, Value: a.String(), Reason: "not a unicast IPv4 address"}
		}
	}
	for _, o := range c.Options {
		if o.Code == dhcpopt.Pad || o.Code == dhcpopt.End {
			return &ConfigError{Field: FieldOption, Value: fmt.Sprint(uint8(o.Code)), Reason: "Pad (0) and End (255) carry no value"}
		}
		if len(o.Data) > 255 {
			return &ConfigError{Field: FieldOption, Value: fmt.Sprint(uint8(o.Code)), Reason: "value longer than 255 bytes"}
		}
		if o.Code == dhcpopt.MessageType && len(o.Data) != 1 {
			return &ConfigError{Field: FieldOption, Value: "53", Reason: "the message type is one byte (RFC 2132 §9.6)"}
		}
	}
	return nil
}

// macProblem says why m cannot be a client's address (IEEE 802: the
// group bit, all-zero), or returns "".
func macProblem(m net.HardwareAddr) string {
	switch {
	case bytes.Equal(m, craft.Broadcast):
		return "the broadcast address"
	case m[0]&1 != 0:
		return "a multicast (group) address"
	case bytes.Equal(m, make([]byte, 6)):
		return "all zeros"
	}
	return ""
}

// trusted reports whether r comes from a server of Trusted and TrustedMACs:
// its IP source and its server identifier (option 54) both in Trusted, and
// its Ethernet source in TrustedMACs when that is set. With neither set,
// every server is trusted.
func (c *Config) trusted(r *reply) bool {
	if len(c.Trusted) > 0 {
		sid := r.msg.Options[uint8(dhcpopt.ServerIdentifier)]
		if len(sid) != 4 || !slices.Contains(c.Trusted, netip.AddrFrom4([4]byte(sid))) ||
			!slices.Contains(c.Trusted, r.pkt.ip.Src) {
			return false
		}
	}
	if len(c.TrustedMACs) > 0 {
		return slices.ContainsFunc(c.TrustedMACs, func(m net.HardwareAddr) bool { return sameMAC(m, r.pkt.eth.Src) })
	}
	return true
}

func (c *Config) declineWait() time.Duration {
	if c.DeclineWait > 0 {
		return c.DeclineWait
	}
	return DefaultDeclineWait
}

func (c *Config) ethSrc() net.HardwareAddr {
	if c.EthSrc != nil {
		return c.EthSrc
	}
	return c.HWAddr
}

func (c *Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Config) tries() int {
	if c.Tries > 0 {
		return c.Tries
	}
	return DefaultTries
}

func (c *Config) arpCheck() ARPCheck {
	if c.ARPCheck == ARPCheckInvalid {
		return ARPCheckShort
	}
	return c.ARPCheck
}

func (c *Config) probeWait() time.Duration {
	if c.ProbeWait > 0 {
		return c.ProbeWait
	}
	return DefaultProbeWait
}

// random returns a uniformly random duration in [0, n].
func (c *Config) random(n time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	if c.Rand != nil {
		return min(max(c.Rand(n), 0), n)
	}
	return rand.N(n + 1)
}

// Backoff returns the wait after try number try (1-based) of a
// retransmission schedule with first timeout base: base doubled per try up to
// MaxTimeout (RFC 2131 §4.1), plus a jitter drawn by rnd in [-J, +J], where J
// is 1 s, or base/4 when base is under 4 s so that short test timeouts keep a
// growing schedule.
func Backoff(base time.Duration, try int, rnd func(time.Duration) time.Duration) time.Duration {
	d := base
	for i := 1; i < try && d < MaxTimeout; i++ {
		d *= 2
	}
	if d > MaxTimeout && base <= MaxTimeout {
		d = MaxTimeout
	}
	j := time.Second
	if base < 4*time.Second {
		j = base / 4
	}
	if rnd != nil && j > 0 {
		d += rnd(2*j) - j
	}
	return d
}

func sameMAC(a, b net.HardwareAddr) bool { return bytes.Equal(a, b) }
