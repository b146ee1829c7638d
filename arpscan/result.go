package arpscan

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/rawlab/rawlab/craft"
)

// Flags mark unusual answers, as arp-scan(1) reports them.
type Flags uint8

// The flags a Host can carry.
const (
	// FlagDup: this MAC answered more often than the address was asked.
	FlagDup Flags = 1 << iota
	// FlagConflict: the address answered from two or more MACs; each is
	// listed as its own Host.
	FlagConflict
	// FlagMismatch: the Ethernet source of the reply differs from the ARP
	// sender hardware address (the Host's MAC); EthSrc holds the former.
	FlagMismatch
)

var flagNames = [...]string{"DUP", "CONFLICT", "MISMATCH"}

// Names returns the set flags' names in a fixed order.
func (f Flags) Names() []string {
	out := []string{}
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// String returns the set flags joined by commas, or "" for none.
func (f Flags) String() string { return strings.Join(f.Names(), ",") }

// Host is one (IP, MAC) pair that answered, or, in Report.Unsolicited, one
// that sent replies answering no request. An address that answered from
// several MACs gives several Hosts, all flagged FlagConflict.
type Host struct {
	IP     netip.Addr
	MAC    net.HardwareAddr // ARP sender hardware address
	EthSrc net.HardwareAddr // Ethernet source, when it differs from MAC
	Vendor string           // from the OUI table, "" when unknown
	// Tagged and VLAN: the reply's 802.1Q tag, from the frame or from the
	// metadata of a tag the kernel stripped.
	Tagged bool
	VLAN   craft.VLAN
	// RTT is the first reply's time minus the request's before it; -1 when
	// the reply came before any request to the address (a late answer to
	// someone else's, or a replayed frame).
	RTT      time.Duration
	Replies  int // replies from this MAC for this IP
	Requests int // requests sent to IP when the host was reported
	Flags    Flags
	// TargetIP and TargetMAC are the first reply's target addresses; for
	// unsolicited replies they tell whom it was for.
	TargetIP  netip.Addr
	TargetMAC net.HardwareAddr
	// Seen is when the first reply arrived.
	Seen time.Time
}

// Gratuitous reports whether h's reply announced its own address (sender
// and target IP equal, RFC 5227 §3).
func (h *Host) Gratuitous() bool { return h.IP == h.TargetIP && !h.IP.IsUnspecified() }

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// EventHost: a target answered, first reply from this MAC.
	EventHost EventKind = iota + 1
	// EventFlag: Flag was learnt about a Host reported before (DUP when a
	// MAC answers more often than asked; CONFLICT for the first MAC of an
	// address once a second answers).
	EventFlag
	// EventUnsolicited: a reply that answers no request of this scan (not
	// addressed to it, gratuitous, or from an address not scanned), first
	// from this (IP, MAC).
	EventUnsolicited
	// EventCap: a bound was reached; Count more replies of that kind are
	// counted and not listed from now on. Flag is 0 for unsolicited
	// replies, FlagConflict for extra MACs.
	EventCap
)

// String returns "host", "flag", "unsolicited" or "cap".
func (k EventKind) String() string {
	switch k {
	case EventHost:
		return "host"
	case EventFlag:
		return "flag"
	case EventUnsolicited:
		return "unsolicited"
	case EventCap:
		return "cap"
	}
	return "invalid"
}

// Event is one thing a scan learnt, told to a Sink as it happens.
type Event struct {
	Kind EventKind
	// Host is the host concerned; its MAC, EthSrc and TargetMAC point into
	// a buffer reused for the next event.
	Host Host
	// Flag is the flag learnt (EventFlag) or the bound reached (EventCap).
	Flag Flags
	// Limit is the bound reached (EventCap).
	Limit int
}

// Sink is told of a scan's results as they come. Its methods run on the
// receiving goroutine, one at a time; Event must not keep e or what its
// slices point to. Flush is called after each batch of frames read, so
// that a buffered sink writes what it holds while the scan waits.
type Sink interface {
	Event(e *Event)
	Flush() error
}

// Report is the outcome of a scan or a passive watch.
type Report struct {
	Targets int // addresses in the scan
	Asked   int // addresses sent at least one request
	Sent    int // request frames sent
	// Responded counts the targets that answered.
	Responded int
	Elapsed   time.Duration // from the first request to the end
	// Hosts are the targeted addresses that answered, in address order.
	Hosts []Host
	// Unsolicited are the replies that answered no request, in address
	// order; UnsolicitedUnlisted counts those past the bound.
	Unsolicited         []Host
	UnsolicitedUnlisted int
	// ConflictsUnlisted counts extra MACs of targets past their bound.
	ConflictsUnlisted int
	// Received counts the frames read; Ignored those that did not decode
	// as Ethernet/IPv4 ARP.
	Received, Ignored int
	// Dropped counts frames the kernel dropped before they could be read.
	Dropped int
	// Interrupted: the scan was cancelled before it ended.
	Interrupted bool
	// LimitReached: the scan stopped because Limit targets answered.
	LimitReached bool
	// Fast is Config.Fast; GaveUpEarly counts the targets it gave up on
	// sooner than the fixed waits would have.
	Fast        bool
	GaveUpEarly int
	// Timeout is the fixed wait after a first try.
	Timeout time.Duration
}
