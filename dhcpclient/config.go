package dhcpclient

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
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

// check validates c before anything is sent.
func (c *Config) check() error {
	if len(c.HWAddr) != 6 {
		return &ConfigError{Field: "chaddr", Value: c.HWAddr.String(), Reason: "want a 6-byte Ethernet MAC"}
	}
	if c.EthSrc != nil && len(c.EthSrc) != 6 {
		return &ConfigError{Field: "Ethernet source", Value: c.EthSrc.String(), Reason: "want a 6-byte MAC"}
	}
	if c.ServerMAC != nil && len(c.ServerMAC) != 6 {
		return &ConfigError{Field: "server MAC", Value: c.ServerMAC.String(), Reason: "want a 6-byte MAC"}
	}
	if c.Timeout < 0 {
		return &ConfigError{Field: "timeout", Value: c.Timeout.String(), Reason: "must not be negative"}
	}
	if c.Tries < 0 {
		return &ConfigError{Field: "tries", Reason: "must not be negative"}
	}
	if c.VLAN != nil && (c.VLAN.ID == 0 || c.VLAN.ID >= 4095) {
		return &ConfigError{Field: "vlan", Reason: "ID must be 1-4094"}
	}
	for _, a := range []struct {
		n string
		a netip.Addr
	}{{"server", c.Server}, {"giaddr", c.GIAddr}} {
		if a.a.IsValid() && !a.a.Is4() {
			return &ConfigError{Field: a.n, Value: a.a.String(), Reason: "not IPv4"}
		}
	}
	if len(c.ClientID) == 1 || len(c.ClientID) > 255 {
		return &ConfigError{Field: "client-id", Reason: "want 2 to 255 bytes (type byte, then the identifier)"}
	}
	if len(c.Hostname) > 255 || len(c.VendorClass) > 255 {
		return &ConfigError{Field: "hostname/vendor-class", Reason: "longer than 255 bytes"}
	}
	if c.ARPCheck > ARPCheckNone {
		return &ConfigError{Field: "arp-check", Value: c.ARPCheck.String(), Reason: "unknown check"}
	}
	return nil
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
