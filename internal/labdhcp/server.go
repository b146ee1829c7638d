package labdhcp

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// Server holds the lease table and answers DHCP requests. It is safe for
// concurrent use.
type Server struct {
	cfg    Config
	search []byte // option 119 data, compressed
	log    *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	leases map[netip.Addr]*Lease
}

// New returns a server for cfg. With cfg.LeaseFile set it loads the leases
// the file holds (a missing file is an empty table). A nil log discards.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	search, err := EncodeSearch(cfg.Search)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, search: search, log: log, now: time.Now, leases: map[netip.Addr]*Lease{}}
	if cfg.LeaseFile != "" {
		ls, err := ReadLeaseFile(cfg.LeaseFile)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			if l.IP.IsValid() {
				s.leases[l.IP] = &l
			}
		}
	}
	return s, nil
}

// Config returns the server's configuration with its defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Leases returns a copy of the lease table, ordered by address, including
// expired rows that have not been reused yet.
func (s *Server) Leases() []Lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot()
}

func (s *Server) snapshot() []Lease {
	ls := make([]Lease, 0, len(s.leases))
	for _, l := range s.leases {
		ls = append(ls, *l)
	}
	sortLeases(ls)
	return ls
}

// Handle answers one request. It returns nil when RFC 2131 wants no reply
// (RELEASE, DECLINE, a REQUEST for another server, an exhausted pool, a
// message that is not a well-formed client request).
//
// The server is authoritative for its subnet: a REQUEST for an address the
// client was not offered and does not hold gets a NAK (§4.3.2).
func (s *Server) Handle(req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	if req.OpCode != dhcpv4.OpcodeBootRequest || req.HWType != iana.HWTypeEthernet || len(req.ClientHWAddr) != 6 {
		return nil
	}
	if gi := ip4(req.GatewayIPAddr); gi.IsValid() && !gi.IsUnspecified() && !s.cfg.Subnet.Contains(gi) {
		return nil // relayed from a segment we do not serve
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var reply *dhcpv4.DHCPv4
	changed := false
	switch req.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		reply, changed = s.discover(req, now)
	case dhcpv4.MessageTypeRequest:
		reply, changed = s.request(req, now)
	case dhcpv4.MessageTypeRelease:
		changed = s.release(req)
	case dhcpv4.MessageTypeDecline:
		changed = s.decline(req, now)
	case dhcpv4.MessageTypeInform:
		reply = s.inform(req)
	default:
		s.log.Debug("ignored", "type", req.MessageType(), "mac", req.ClientHWAddr.String())
	}
	if changed && s.cfg.LeaseFile != "" {
		if err := writeLeaseFile(s.cfg.LeaseFile, s.snapshot()); err != nil {
			s.log.Error("lease file", "err", err)
		}
	}
	return reply
}

func (s *Server) discover(req *dhcpv4.DHCPv4, now time.Time) (*dhcpv4.DHCPv4, bool) {
	key := clientKey(req)
	var ip netip.Addr
	l := s.byClient(key)
	switch {
	case l != nil && l.State != StateDeclined:
		ip = l.IP // the address this client had, even if expired (§4.3.1)
	case s.usable(ip4(req.RequestedIPAddress()), key, now):
		ip = ip4(req.RequestedIPAddress())
	default:
		ip = s.firstFree(now)
	}
	if !ip.IsValid() {
		s.log.Warn("pool exhausted", "mac", req.ClientHWAddr.String(), "pool", fmt.Sprintf("%v-%v", s.cfg.PoolStart, s.cfg.PoolEnd))
		return nil, false
	}
	cur := s.leases[ip]
	if cur == nil || cur.key() != key || cur.State != StateBound || !cur.Expires.After(now) {
		s.set(req, ip, StateOffered, now, now.Add(s.cfg.OfferHold))
	}
	s.log.Info("offer", "ip", ip, "mac", req.ClientHWAddr.String(), "xid", req.TransactionID)
	return s.reply(req, dhcpv4.MessageTypeOffer, ip, true), true
}

func (s *Server) request(req *dhcpv4.DHCPv4, now time.Time) (*dhcpv4.DHCPv4, bool) {
	key := clientKey(req)
	sid := ip4(req.ServerIdentifier())
	want := ip4(req.RequestedIPAddress())
	ciaddr := ip4(req.ClientIPAddr)
	switch {
	case sid.IsValid(): // SELECTING
		l := s.byClient(key)
		if sid != s.cfg.ServerIP {
			// The client took another server's offer: our offer is free again.
			if l != nil && l.State == StateOffered {
				delete(s.leases, l.IP)
				return nil, true
			}
			return nil, false
		}
		if !want.IsValid() {
			want = ciaddr // some clients fill ciaddr instead of option 50
		}
		if l == nil || l.IP != want || l.State == StateDeclined || !s.inPool(want) {
			return s.nak(req, fmt.Sprintf("address %v was not offered to this client", want)), false
		}
	case want.IsValid() && (!ciaddr.IsValid() || ciaddr.IsUnspecified()): // INIT-REBOOT
		if !s.cfg.Subnet.Contains(want) {
			return s.nak(req, fmt.Sprintf("address %v is not on subnet %v", want, s.cfg.Subnet)), false
		}
		if l := s.leases[want]; l == nil || l.key() != key || l.State == StateDeclined || !s.inPool(want) {
			return s.nak(req, fmt.Sprintf("no lease for %v for this client", want)), false
		}
	case ciaddr.IsValid() && !ciaddr.IsUnspecified(): // RENEWING or REBINDING
		want = ciaddr
		if !s.cfg.Subnet.Contains(want) {
			return s.nak(req, fmt.Sprintf("address %v is not on subnet %v", want, s.cfg.Subnet)), false
		}
		if l := s.leases[want]; l == nil || l.key() != key || l.State != StateBound || !s.inPool(want) {
			return s.nak(req, fmt.Sprintf("no lease for %v for this client", want)), false
		}
	default:
		return s.nak(req, "no address requested"), false
	}
	s.set(req, want, StateBound, now, now.Add(s.cfg.LeaseTime))
	s.log.Info("ack", "ip", want, "mac", req.ClientHWAddr.String(), "xid", req.TransactionID)
	return s.reply(req, dhcpv4.MessageTypeAck, want, true), true
}

func (s *Server) release(req *dhcpv4.DHCPv4) bool {
	if sid := ip4(req.ServerIdentifier()); sid.IsValid() && sid != s.cfg.ServerIP {
		return false
	}
	ip := ip4(req.ClientIPAddr)
	l := s.leases[ip]
	if l == nil || l.key() != clientKey(req) || l.State == StateDeclined {
		s.log.Info("release of unknown lease ignored", "ip", ip, "mac", req.ClientHWAddr.String())
		return false
	}
	delete(s.leases, ip)
	s.log.Info("release", "ip", ip, "mac", req.ClientHWAddr.String())
	return true
}

func (s *Server) decline(req *dhcpv4.DHCPv4, now time.Time) bool {
	if sid := ip4(req.ServerIdentifier()); sid.IsValid() && sid != s.cfg.ServerIP {
		return false
	}
	ip := ip4(req.RequestedIPAddress())
	l := s.leases[ip]
	if l == nil || l.key() != clientKey(req) || l.State == StateDeclined {
		s.log.Info("decline of unknown lease ignored", "ip", ip, "mac", req.ClientHWAddr.String())
		return false
	}
	l.State, l.Start, l.Expires = StateDeclined, now, now.Add(s.cfg.DeclineHold)
	s.log.Warn("decline: address in use on the segment", "ip", ip, "mac", req.ClientHWAddr.String())
	return true
}

func (s *Server) inform(req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	// §4.3.5: options only; no yiaddr, no lease time.
	m := s.reply(req, dhcpv4.MessageTypeAck, netip.Addr{}, false)
	if m != nil {
		m.ClientIPAddr = req.ClientIPAddr
	}
	return m
}

// reply builds an OFFER or ACK for yiaddr (zero for INFORM) with the configured options.
func (s *Server) reply(req *dhcpv4.DHCPv4, mt dhcpv4.MessageType, yiaddr netip.Addr, withLease bool) *dhcpv4.DHCPv4 {
	c := &s.cfg
	mods := []dhcpv4.Modifier{
		dhcpv4.WithMessageType(mt),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(c.ServerIP.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(c.Subnet.Bits(), 32))),
		dhcpv4.WithOption(dhcpv4.OptBroadcastAddress(c.Broadcast.AsSlice())),
	}
	if yiaddr.IsValid() {
		mods = append(mods, dhcpv4.WithYourIP(yiaddr.AsSlice()))
	}
	if withLease {
		mods = append(mods,
			dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(c.LeaseTime)),
			dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(c.T1)),
			dhcpv4.WithOption(dhcpv4.OptRebindingTimeValue(c.T2)))
	}
	if len(c.Router) > 0 {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRouter(ips(c.Router)...)))
	}
	if len(c.DNS) > 0 {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDNS(ips(c.DNS)...)))
	}
	if len(c.NTP) > 0 {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptNTPServers(ips(c.NTP)...)))
	}
	if c.Domain != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDomainName(c.Domain)))
	}
	if len(s.search) > 0 {
		mods = append(mods, dhcpv4.WithGeneric(dhcpv4.OptionDNSDomainSearchList, s.search))
	}
	if len(c.Routes) > 0 {
		rs := make([]*dhcpv4.Route, 0, len(c.Routes))
		for _, r := range c.Routes {
			rs = append(rs, &dhcpv4.Route{
				Dest:   &net.IPNet{IP: r.Dest.Masked().Addr().AsSlice(), Mask: net.CIDRMask(r.Dest.Bits(), 32)},
				Router: r.Gateway.AsSlice(),
			})
		}
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClasslessStaticRoute(rs...)))
	}
	if req.IsOptionRequested(dhcpv4.OptionHostName) && yiaddr.IsValid() {
		name := req.HostName()
		if name == "" {
			name = "host-" + strings.ReplaceAll(yiaddr.String(), ".", "-")
		}
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(name)))
	}
	m, err := dhcpv4.NewReplyFromRequest(req, mods...)
	if err != nil { // only fails when no random transaction ID can be read
		s.log.Error("build reply", "err", err)
		return nil
	}
	return m
}

// nak builds a DHCPNAK (§4.3.2): server identifier and a message, nothing else.
func (s *Server) nak(req *dhcpv4.DHCPv4, why string) *dhcpv4.DHCPv4 {
	s.log.Info("nak", "mac", req.ClientHWAddr.String(), "xid", req.TransactionID, "why", why)
	m, err := dhcpv4.NewReplyFromRequest(req,
		dhcpv4.WithMessageType(dhcpv4.MessageTypeNak),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.cfg.ServerIP.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptMessage(why)))
	if err != nil {
		s.log.Error("build nak", "err", err)
		return nil
	}
	return m
}

// set records ip for the client of req, dropping any other row the client held.
func (s *Server) set(req *dhcpv4.DHCPv4, ip netip.Addr, st State, start, exp time.Time) {
	key := clientKey(req)
	for a, l := range s.leases {
		if a != ip && l.key() == key && l.State != StateDeclined {
			delete(s.leases, a)
		}
	}
	l := &Lease{IP: ip, MAC: req.ClientHWAddr.String(), State: st, Start: start, Expires: exp}
	if id := req.Options.Get(dhcpv4.OptionClientIdentifier); len(id) > 0 {
		l.ClientID = hex.EncodeToString(id)
	}
	l.Hostname = req.HostName()
	s.leases[ip] = l
}

// byClient returns the row held by the client with key, preferring a live one.
func (s *Server) byClient(key string) *Lease {
	var found *Lease
	for _, l := range s.leases {
		if l.key() == key && l.State != StateDeclined {
			if found == nil || l.Expires.After(found.Expires) {
				found = l
			}
		}
	}
	return found
}

func (s *Server) inPool(ip netip.Addr) bool {
	return ip.IsValid() && ip.Is4() && !ip.Less(s.cfg.PoolStart) && !s.cfg.PoolEnd.Less(ip)
}

// usable reports whether ip can go to the client with key now.
func (s *Server) usable(ip netip.Addr, key string, now time.Time) bool {
	if !s.inPool(ip) || ip == s.cfg.ServerIP {
		return false
	}
	l := s.leases[ip]
	return l == nil || !l.Expires.After(now) || (l.key() == key && l.State != StateDeclined)
}

// firstFree returns the lowest pool address with no row, else the lowest
// whose row has expired, else the zero Addr.
func (s *Server) firstFree(now time.Time) netip.Addr {
	var expired netip.Addr
	for ip := s.cfg.PoolStart; ip.IsValid() && !s.cfg.PoolEnd.Less(ip); ip = ip.Next() {
		if ip == s.cfg.ServerIP {
			continue
		}
		l := s.leases[ip]
		if l == nil {
			return ip
		}
		if !expired.IsValid() && !l.Expires.After(now) {
			expired = ip
		}
	}
	return expired
}

// clientKey identifies the client of req: option 61 when present (RFC 2132
// §9.14), else chaddr.
func clientKey(req *dhcpv4.DHCPv4) string {
	if id := req.Options.Get(dhcpv4.OptionClientIdentifier); len(id) > 0 {
		return "id:" + hex.EncodeToString(id)
	}
	return "mac:" + req.ClientHWAddr.String()
}

func ip4(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok {
		return netip.Addr{}
	}
	return a
}

func ips(as []netip.Addr) []net.IP {
	out := make([]net.IP, len(as))
	for i, a := range as {
		out[i] = a.AsSlice()
	}
	return out
}

// Serve answers DHCP on the interface ifname until ctx ends. It binds
// server4's UDP socket (port 67, SO_BINDTODEVICE, SO_BROADCAST) and a netlink
// socket in the calling thread's network namespace, then calls ready (if not
// nil; an error from it ends Serve) and serves. ready is where a command
// gives up root (privdrop.Drop); neighbour entries are then installed
// through privdrop.WithNetAdmin. It returns nil when ctx ends.
//
// Replies go where RFC 2131 §4.1 says: to the relay (giaddr) when relayed;
// NAKs to 255.255.255.255; to ciaddr when the client has one (RENEWING,
// INFORM); to 255.255.255.255 when the client set the broadcast flag; else
// unicast to yiaddr, with a neighbour entry yiaddr -> chaddr installed first
// since a client without an address cannot answer ARP.
//
// One goroutine reads and answers in turn; nothing runs per packet.
func (s *Server) Serve(ctx context.Context, ifname string, ready func() error) error {
	return s.serve(ctx, ifname, ready)
}
