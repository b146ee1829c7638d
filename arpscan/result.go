package arpscan

import (
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
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

// MarshalJSON encodes the flags as a list of names.
func (f Flags) MarshalJSON() ([]byte, error) { return json.Marshal(f.Names()) }

// Host is one (IP, MAC) pair that answered. An address that answered from
// several MACs gives several Hosts, all flagged FlagConflict.
type Host struct {
	IP       netip.Addr
	MAC      net.HardwareAddr // ARP sender hardware address
	EthSrc   net.HardwareAddr // Ethernet source, when it differs from MAC
	Vendor   string           // from the OUI table, "" when unknown
	VLAN     int              // 802.1Q VLAN ID of the reply, or -1
	RTT      time.Duration    // first reply minus the last request before it
	Replies  int              // replies from this MAC for this IP
	Requests int              // requests sent to IP (0 for untargeted ones)
	Flags    Flags
	// Seen is when the first reply arrived.
	Seen time.Time
}

// MarshalJSON encodes a Host with text MACs and the RTT in milliseconds.
func (h Host) MarshalJSON() ([]byte, error) {
	type out struct {
		IP       string   `json:"ip"`
		MAC      string   `json:"mac"`
		EthSrc   string   `json:"eth_src,omitempty"`
		Vendor   string   `json:"vendor"`
		VLAN     *int     `json:"vlan,omitempty"`
		RTTms    float64  `json:"rtt_ms"`
		Replies  int      `json:"replies"`
		Requests int      `json:"requests,omitempty"`
		Flags    Flags    `json:"flags"`
		Seen     string   `json:"seen,omitempty"`
		_        struct{} `json:"-"`
	}
	o := out{IP: h.IP.String(), MAC: h.MAC.String(), Vendor: h.Vendor, RTTms: float64(h.RTT.Microseconds()) / 1000,
		Replies: h.Replies, Requests: h.Requests, Flags: h.Flags}
	if h.EthSrc != nil {
		o.EthSrc = h.EthSrc.String()
	}
	if h.VLAN >= 0 {
		v := h.VLAN
		o.VLAN = &v
	}
	if !h.Seen.IsZero() {
		o.Seen = h.Seen.UTC().Format(time.RFC3339Nano)
	}
	return json.Marshal(o)
}

// Report is the outcome of a scan or a passive watch.
type Report struct {
	Targets   int           // addresses scanned
	Sent      int           // request frames sent
	Responded int           // targeted addresses that answered
	Elapsed   time.Duration // from the first request to the end
	// Hosts are the targeted addresses that answered, in address order.
	Hosts []Host
	// Unexpected are answers from addresses that were not targeted (or, in
	// passive mode, nothing: every host is in Hosts).
	Unexpected []Host
	// Received counts the ARP frames read; Ignored those that did not
	// decode as Ethernet/IPv4 ARP.
	Received, Ignored int
	// Dropped counts frames the kernel dropped before they could be read
	// (receive buffer or ring full), when the connection can tell.
	Dropped int
}

// MarshalJSON encodes the report with the elapsed time in seconds.
func (r *Report) MarshalJSON() ([]byte, error) {
	hosts, unexp := r.Hosts, r.Unexpected
	if hosts == nil {
		hosts = []Host{}
	}
	if unexp == nil {
		unexp = []Host{}
	}
	return json.Marshal(struct {
		Targets    int     `json:"targets"`
		Sent       int     `json:"sent"`
		Responded  int     `json:"responded"`
		ElapsedS   float64 `json:"elapsed_s"`
		Dropped    int     `json:"kernel_drops"`
		Hosts      []Host  `json:"hosts"`
		Unexpected []Host  `json:"unexpected"`
	}{r.Targets, r.Sent, r.Responded, r.Elapsed.Seconds(), r.Dropped, hosts, unexp})
}

// response is one (address, MAC) pair seen, as the receiver records it.
type response struct {
	ip       uint32
	mac      [6]byte
	ethSrc   [6]byte // first Ethernet source that differed from mac
	mismatch bool
	vlan     int16
	count    int32
	next     int32 // next response for the same address, or -1
	rtt      int64 // ns
	seen     int64 // unix ns
}

// host turns r into a Host; its MAC is carved from *macs (one allocation
// for many hosts) when macs is not nil.
func (r *response) host(vendor func(net.HardwareAddr) string, macs *[]byte) Host {
	var mac net.HardwareAddr
	if macs != nil && cap(*macs)-len(*macs) >= 6 {
		n := len(*macs)
		*macs = append(*macs, r.mac[:]...)
		mac = (*macs)[n : n+6 : n+6]
	} else {
		mac = net.HardwareAddr(append([]byte(nil), r.mac[:]...))
	}
	h := Host{IP: addr4(r.ip), MAC: mac, VLAN: int(r.vlan), RTT: time.Duration(r.rtt), Replies: int(r.count)}
	if r.seen != 0 {
		h.Seen = time.Unix(0, r.seen)
	}
	if r.mismatch {
		h.EthSrc = net.HardwareAddr(append([]byte(nil), r.ethSrc[:]...))
		h.Flags |= FlagMismatch
	}
	if vendor != nil {
		h.Vendor = vendor(h.MAC)
	}
	return h
}

// responseSet records responses keyed by address, for addresses outside the
// target list (untargeted replies, passive mode). It allocates per new pair,
// which is off the scanner's steady path.
type responseSet struct {
	list  []response
	first map[uint32]int32
	max   int
}

func newResponseSet(maxEntries int) *responseSet {
	return &responseSet{first: map[uint32]int32{}, max: maxEntries}
}

// add records a reply from ip with pkt's addresses; it returns the entry and
// whether it is new.
func (s *responseSet) add(ip uint32, p *Packet, at, rtt int64) (*response, bool) {
	last := int32(-1)
	h, ok := s.first[ip]
	if ok {
		for j := h; j >= 0; j = s.list[j].next {
			if s.list[j].mac == p.SHA {
				s.list[j].count++
				noteMismatch(&s.list[j], p)
				return &s.list[j], false
			}
			last = j
		}
	}
	if len(s.list) >= s.max {
		return nil, false
	}
	s.list = append(s.list, response{ip: ip, mac: p.SHA, vlan: int16(p.VLAN), count: 1, next: -1, rtt: rtt, seen: at})
	i := int32(len(s.list) - 1)
	noteMismatch(&s.list[i], p)
	if last >= 0 {
		s.list[last].next = i
	} else {
		s.first[ip] = i
	}
	return &s.list[i], true
}

func noteMismatch(r *response, p *Packet) {
	if !r.mismatch && p.EthSrc != p.SHA {
		r.mismatch = true
		r.ethSrc = p.EthSrc
	}
}

// hosts turns the set into Hosts in address order, flagging conflicts.
func (s *responseSet) hosts(vendor func(net.HardwareAddr) string, dup func(*response) bool) []Host {
	ips := make([]uint32, 0, len(s.first))
	for ip := range s.first {
		ips = append(ips, ip)
	}
	sortU32(ips)
	out := make([]Host, 0, len(s.list))
	macs := make([]byte, 0, 6*len(s.list))
	for _, ip := range ips {
		start := len(out)
		for j := s.first[ip]; j >= 0; j = s.list[j].next {
			r := &s.list[j]
			h := r.host(vendor, &macs)
			if dup != nil && dup(r) {
				h.Flags |= FlagDup
			}
			out = append(out, h)
		}
		if len(out)-start > 1 {
			for k := start; k < len(out); k++ {
				out[k].Flags |= FlagConflict
			}
		}
	}
	return out
}

func sortU32(a []uint32) { slices.Sort(a) }
