package arpscan

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"time"

	"github.com/rawlab/rawlab/craft"
)

// Defaults, as arp-scan(1) has them, and the adaptive floor of Fast.
const (
	DefaultRetry      = 2
	DefaultTimeout    = 500 * time.Millisecond
	DefaultBackoff    = 1.5
	DefaultMinTimeout = 10 * time.Millisecond
	DefaultBatch      = 64
	// DefaultMaxUnsolicited bounds the unsolicited (IP, MAC) pairs listed.
	DefaultMaxUnsolicited = 4096
	// DefaultMaxConflicts bounds the extra MACs kept for targets that
	// answered from more than one.
	DefaultMaxConflicts = 4096
)

// Bounds Validate enforces, so that no wait overflows and no scan waits
// for ever on a typo.
const (
	MaxRetry   = 255
	MaxTimeout = time.Hour
	MaxBackoff = 100.0
	// MaxTotalWait bounds the waits of one target over all its tries.
	MaxTotalWait = 24 * time.Hour
)

// Config sets up a scan. The zero value of each field means the default
// named in its comment.
type Config struct {
	// SrcMAC is the Ethernet source; required (normally the interface's
	// MAC), unicast.
	SrcMAC net.HardwareAddr
	// DstMAC is the Ethernet destination; nil means broadcast.
	DstMAC net.HardwareAddr
	// SenderMAC is the ARP sender hardware address; nil means SrcMAC.
	SenderMAC net.HardwareAddr
	// TargetMAC is the ARP target hardware address; nil means zeros.
	TargetMAC net.HardwareAddr
	// SenderIP is the ARP sender protocol address for targets outside
	// every network of Networks; the zero Addr means 0.0.0.0, an RFC 5227
	// probe.
	SenderIP netip.Addr
	// Networks are the interface's own addresses with their prefixes: a
	// target inside one is asked with that address as the sender IP (a
	// host with rp_filter=1 answers only a sender on its own network).
	Networks []netip.Prefix
	// Tagged and VLAN add an 802.1Q tag.
	Tagged bool
	VLAN   craft.VLAN

	// Rate is the request rate in frames/s; 0 means Bandwidth's rate, and
	// +Inf (RateMax) as fast as the link takes them.
	Rate float64
	// Bandwidth in bit/s, used when Rate is 0; 0 means DefaultBandwidth.
	Bandwidth float64
	// Batch is the most frames per send call; 0 means DefaultBatch.
	Batch int

	// Retry is the total number of tries per host; 0 means DefaultRetry.
	Retry int
	// Timeout is the wait after the first try; 0 means DefaultTimeout.
	Timeout time.Duration
	// Backoff multiplies the wait for each further try; 0 means
	// DefaultBackoff.
	Backoff float64
	// Fast shortens the waits to what the round-trip times seen in the
	// scan suggest (RFC 6298's SRTT + 4*RTTVAR between MinTimeout and
	// Timeout). It ends a scan of fast hosts much sooner, and misses the
	// hosts that answer later than the others (slow stacks, proxy ARP):
	// the Report counts the targets given up before Timeout.
	Fast bool
	// MinTimeout is Fast's floor; 0 means DefaultMinTimeout.
	MinTimeout time.Duration

	// Limit stops the scan once that many targets answered; 0 means none.
	Limit int
	// Vendor names a MAC's vendor; nil leaves Vendor empty.
	Vendor func(net.HardwareAddr) string
	// Sink, when set, is told of every answer as it comes (see Sink).
	Sink Sink
	// Trace, when set, sees every request sent and every frame received
	// (for a pcap), on the sending and receiving goroutines.
	Trace Tracer
	// MaxUnsolicited bounds the unsolicited (IP, MAC) pairs listed; 0
	// means DefaultMaxUnsolicited. Those past it are counted.
	MaxUnsolicited int
	// MaxConflicts bounds the second and further MACs kept for targets;
	// 0 means DefaultMaxConflicts. Those past it are counted.
	MaxConflicts int
	// MaxPending, when positive, bounds the targets asked once and neither
	// answered nor given up (a window, as in TCP). 0 means no bound: the
	// receive ring or buffer holds the replies.
	MaxPending int
}

// RateMax is the Rate that sends as fast as the link takes frames.
var RateMax = math.Inf(1)

// withDefaults returns c with its zero fields set.
func (c Config) withDefaults() Config {
	if c.Bandwidth == 0 {
		c.Bandwidth = DefaultBandwidth
	}
	if c.Rate == 0 {
		c.Rate = RateForBandwidth(c.Bandwidth, c.Tagged)
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.Retry == 0 {
		c.Retry = DefaultRetry
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MinTimeout == 0 {
		c.MinTimeout = min(DefaultMinTimeout, c.Timeout)
	}
	if c.MaxUnsolicited <= 0 {
		c.MaxUnsolicited = DefaultMaxUnsolicited
	}
	if c.MaxConflicts <= 0 {
		c.MaxConflicts = DefaultMaxConflicts
	}
	return c
}

// FieldError reports a Config (or PingConfig) field whose value cannot be
// scanned with. Field is the Go field name, so that a caller can name its
// own flag for it.
type FieldError struct {
	Field  string
	Value  any
	Reason string
}

// Error returns "arpscan: FIELD VALUE: REASON".
func (e *FieldError) Error() string {
	return fmt.Sprintf("arpscan: %s %v: %s", e.Field, e.Value, e.Reason)
}

func fieldErr(field string, v any, reason string) error {
	return &FieldError{Field: field, Value: v, Reason: reason}
}

// checkMAC refuses a hardware address that is not 6 bytes, or that is
// multicast where a unicast one is needed (a source).
func checkMAC(field string, mac net.HardwareAddr, unicast bool) error {
	switch {
	case mac == nil:
		return nil
	case len(mac) != 6:
		return fieldErr(field, mac, "is not a 6-byte Ethernet address")
	case unicast && mac[0]&1 != 0:
		return fieldErr(field, mac, "is a multicast or broadcast address, not a station's")
	}
	return nil
}

// Validate reports the first field that cannot be scanned with, as a
// *FieldError. Out-of-range values are refused, never replaced.
func (c Config) Validate() error {
	if len(c.SrcMAC) == 0 {
		return fieldErr("SrcMAC", "none", "is required")
	}
	for _, m := range []struct {
		name    string
		mac     net.HardwareAddr
		unicast bool
	}{{"SrcMAC", c.SrcMAC, true}, {"DstMAC", c.DstMAC, false}, {"SenderMAC", c.SenderMAC, true}, {"TargetMAC", c.TargetMAC, false}} {
		if err := checkMAC(m.name, m.mac, m.unicast); err != nil {
			return err
		}
	}
	if c.SenderIP.IsValid() && !c.SenderIP.Is4() {
		return fieldErr("SenderIP", c.SenderIP, "is not IPv4")
	}
	for _, p := range c.Networks {
		if !p.Addr().Is4() {
			return fieldErr("Networks", p, "is not IPv4")
		}
	}
	switch {
	case c.VLAN.ID > 4095:
		return fieldErr("VLAN", c.VLAN.ID, "is not a VLAN ID (0-4095)")
	case c.VLAN.Priority > 7:
		return fieldErr("VLAN", c.VLAN.Priority, "is not a priority (0-7)")
	case c.Rate < 0 || math.IsNaN(c.Rate):
		return fieldErr("Rate", c.Rate, "is not a positive rate")
	case c.Bandwidth < 0 || math.IsNaN(c.Bandwidth) || math.IsInf(c.Bandwidth, 0):
		return fieldErr("Bandwidth", c.Bandwidth, "is not a positive bandwidth")
	case c.Retry < 0 || c.Retry > MaxRetry:
		return fieldErr("Retry", c.Retry, fmt.Sprintf("is not 1-%d tries", MaxRetry))
	case c.Timeout < 0 || c.Timeout > MaxTimeout:
		return fieldErr("Timeout", c.Timeout, fmt.Sprintf("is not in (0, %v]", MaxTimeout))
	case c.Backoff != 0 && (c.Backoff < 1 || c.Backoff > MaxBackoff || math.IsNaN(c.Backoff)):
		return fieldErr("Backoff", c.Backoff, fmt.Sprintf("is not a factor from 1 to %v", MaxBackoff))
	case c.MinTimeout < 0:
		return fieldErr("MinTimeout", c.MinTimeout, "is negative")
	case c.Limit < 0:
		return fieldErr("Limit", c.Limit, "is negative")
	case c.Batch < 0 || c.MaxPending < 0 || c.MaxUnsolicited < 0 || c.MaxConflicts < 0:
		return fieldErr("Batch", c.Batch, "and the bounds must not be negative")
	}
	d := c.withDefaults()
	if d.Fast && d.MinTimeout > d.Timeout {
		return fieldErr("MinTimeout", c.MinTimeout, fmt.Sprintf("is above the timeout %v", d.Timeout))
	}
	var total float64
	for k := 1; k <= d.Retry; k++ {
		total += float64(d.Timeout) * math.Pow(d.Backoff, float64(k-1))
	}
	if total > float64(MaxTotalWait) {
		return fieldErr("Backoff", d.Backoff, fmt.Sprintf("makes %d tries wait more than %v", d.Retry, MaxTotalWait))
	}
	return nil
}

// CheckValues is Validate without requiring SrcMAC, which the caller may
// take from the interface later: every value given can be checked before.
func (c Config) CheckValues() error {
	if c.SrcMAC == nil {
		c.SrcMAC = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	}
	return c.Validate()
}

// Estimate returns how long a scan of n targets takes at most when nobody
// answers: every try of every host at the configured rate plus the waits.
func (c Config) Estimate(n int) time.Duration {
	c = c.withDefaults()
	var send time.Duration
	if !math.IsInf(c.Rate, 1) {
		send = time.Duration(float64(n*c.Retry) / c.Rate * 1e9)
	}
	var wait time.Duration
	for k := 1; k <= c.Retry; k++ {
		wait += TryTimeout(c.Timeout, c.Backoff, k)
	}
	return max(send, wait)
}
