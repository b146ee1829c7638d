package dhcpclient

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/dhcpopt"
)

// txn is one message sent on the retransmission schedule with its replies.
type txn struct {
	spec   msgSpec
	accept func(r *reply) (verdict, error)
	// until, when set, ends the transaction at that time (discover --wait);
	// once got reports true, nothing more is retransmitted.
	until time.Time
	got   func() bool
	// sent is the time of the last transmission, for latencies.
	sent time.Time
}

// transact sends t.spec on the retransmission schedule of RFC 2131 §4.1
// until t.accept says done, the schedule ends (a *NoReplyError) or ctx ends.
func (c *Client) transact(ctx context.Context, t *txn) error {
	base, tries := c.cfg.timeout(), c.cfg.tries()
	ignoredBefore := c.report.Stats.Ignored.Total()
	var waits []time.Duration
	h := handler{dhcp: t.accept}
	for try := 1; try <= tries; try++ {
		sent, err := c.sendMsg(ctx, &t.spec, c.xid, try)
		if err != nil {
			return err
		}
		t.sent = sent
		end := sent.Add(Backoff(base, try, c.cfg.random))
		if !t.until.IsZero() && (end.After(t.until) || try == tries) {
			end = t.until
		}
		done, err := c.wait(ctx, end, h)
		waits = append(waits, time.Since(sent))
		if err != nil || done {
			return err
		}
		if !t.until.IsZero() {
			if t.got != nil && t.got() {
				_, err := c.wait(ctx, t.until, h)
				return err
			}
			if !time.Now().Before(t.until) {
				break
			}
		}
	}
	return &NoReplyError{Message: typeName(t.spec.typ), State: t.spec.state, Tries: len(waits), Waits: waits,
		Ignored: c.report.Stats.Ignored.Total() - ignoredBefore}
}

// broadcastAddressing is how a client without a usable address sends: from
// 0.0.0.0 (or from, once it holds an address) to 255.255.255.255 and
// ff:ff:ff:ff:ff:ff, or to Config.Server when set.
func (c *Client) broadcastAddressing(from netip.Addr) craft.DHCPAddressing {
	a := craft.ClientBroadcast(c.cfg.ethSrc(), from)
	if c.cfg.Server.IsValid() {
		a.DstIP = c.cfg.Server
		if c.cfg.ServerMAC != nil {
			a.DstMAC = c.cfg.ServerMAC
		}
	}
	return a
}

// newReply turns an accepted reply into a Reply.
func (c *Client) newReply(r *reply, sent time.Time) *Reply {
	m := r.msg
	out := &Reply{
		Type:      dhcpopt.MsgType(r.typ),
		Server:    r.server,
		ServerMAC: MAC(r.pkt.eth.Src),
		SrcIP:     r.pkt.ip.Src,
		Address:   addr4(m.YourIPAddr),
		Latency:   Millis(r.at.Sub(sent)),
		Received:  r.at.UTC(),
		XID:       XID(c.xid),
		Options:   dhcpopt.FromMessage(m),
		SName:     m.ServerHostName,
		File:      m.BootFileName,
		Rogue:     !c.cfg.trusted(r),
		Notes:     r.pkt.notes,
		msg:       m,
	}
	if si := addr4(m.ServerIPAddr); si.IsValid() && !si.IsUnspecified() {
		out.SIAddr = si
	}
	if out.Latency < 0 {
		out.Latency = 0
	}
	return out
}

// yiaddrProblem says why the yiaddr of r cannot be held, or returns "".
func yiaddrProblem(r *reply) string {
	y := addr4(r.msg.YourIPAddr)
	var p netip.Prefix
	if m := r.msg.Options[uint8(dhcpopt.SubnetMask)]; len(m) == 4 {
		p, _ = maskPrefix(y, netip.AddrFrom4([4]byte(m)))
	}
	if why := unicastAddr(y, p); why != "" {
		return "yiaddr " + y.String() + " is " + why
	}
	return ""
}

// Discover broadcasts a DHCPDISCOVER (INIT -> SELECTING, RFC 2131 §4.4.1)
// and returns the offers. With wait zero it returns at the first offer; else
// it collects every offer that arrives within wait of the first transmission
// (retransmitting only while none came). No offer at all is a
// *NoReplyError.
func (c *Client) Discover(ctx context.Context, wait time.Duration) ([]*Reply, error) {
	return c.discover(ctx, wait, Selection{}, netip.Addr{})
}

func (c *Client) discover(ctx context.Context, wait time.Duration, sel Selection, requested netip.Addr) ([]*Reply, error) {
	c.xid = c.newXID()
	c.start = time.Now()
	var offers []*Reply
	t := &txn{spec: msgSpec{typ: dhcpv4.MessageTypeDiscover, state: StateInit, requested: requested,
		addressing: c.broadcastAddressing(netip.Addr{})}}
	if wait > 0 {
		t.until = time.Now().Add(wait)
		t.got = func() bool { return len(offers) > 0 }
	}
	var rogues []*Reply
	t.accept = func(r *reply) (verdict, error) {
		if r.typ != dhcpv4.MessageTypeOffer {
			return verdict{ignored: "not an offer"}, nil
		}
		if why := yiaddrProblem(r); why != "" {
			r.text += "; " + why
			return verdict{ignored: "unusable yiaddr"}, nil
		}
		o := c.newReply(r, t.sent)
		if c.cfg.OnOffer != nil {
			c.cfg.OnOffer(o)
		}
		if len(c.report.Offers) < MaxOffers {
			c.report.Offers = append(c.report.Offers, o)
		} else {
			c.report.OffersDropped++
		}
		if o.Rogue {
			rogues = append(rogues, o)
			return verdict{ignored: "rogue server"}, nil
		}
		if !sel.match(o) {
			return verdict{ignored: "unselected"}, nil
		}
		offers = append(offers, o)
		return verdict{done: wait == 0}, nil
	}
	err := c.transact(ctx, t)
	if len(offers) > 0 {
		return offers, nil
	}
	var nr *NoReplyError
	if len(rogues) > 0 && errors.As(err, &nr) {
		return nil, &RogueError{Offers: rogues}
	}
	return nil, err
}

// Lease runs the whole acquisition (RFC 2131 §3.1, §4.4.1): DHCPDISCOVER,
// the offer sel picks, DHCPREQUEST in SELECTING state, DHCPACK, then the ARP
// conflict check. A DHCPNAK restarts from INIT once; a conflict sends a
// DHCPDECLINE and restarts from INIT once. Both are kept in the Report.
//
// After a DHCPDECLINE it waits Config.DeclineWait (10 s by default, RFC
// 2131 §3.1 step 5) before it starts again, and restarts once only, so it
// cannot loop. With Config.Trusted set, offers from other servers are never
// requested; when only they answered, the error is a *RogueError.
func (c *Client) Lease(ctx context.Context, sel Selection) (*Lease, error) {
	naks, conflicts := 0, 0
	for {
		offers, err := c.discover(ctx, 0, sel, sel.Address)
		if err != nil {
			return nil, err
		}
		o := offers[0]
		l, err := c.request(ctx, requestSpec{
			state:     StateSelecting,
			requested: o.Address,
			serverID:  o.Server,
			expect:    o.Server,
			from:      netip.Addr{},
		})
		var nak *NAKError
		if errors.As(err, &nak) && naks == 0 {
			naks++
			c.log.Info("dhcp: DHCPNAK, restarting from INIT", "server", nak.Server, "message", nak.Message)
			continue
		}
		if err != nil {
			return nil, err
		}
		holder, err := c.CheckAddress(ctx, l.Address)
		if err != nil {
			return nil, err
		}
		if holder != nil {
			ce := &ConflictError{Address: l.Address, Holder: holder, Server: l.Server}
			c.report.Conflicts = append(c.report.Conflicts, ce)
			if err := c.Decline(ctx, l.Address, l.Server, fmt.Sprintf("address in use by %s", holder)); err != nil {
				return nil, err
			}
			if conflicts == 0 {
				conflicts++
				c.log.Info("dhcp: address in use, declined, restarting from INIT", "address", l.Address,
					"holder", holder, "after", c.cfg.declineWait())
				timer := time.NewTimer(c.cfg.declineWait())
				select {
				case <-ctx.Done():
					timer.Stop()
					return nil, fmt.Errorf("dhcpclient: waiting after DHCPDECLINE: %w", ctx.Err())
				case <-timer.C:
				}
				continue
			}
			return nil, ce
		}
		if c.cfg.Announce {
			if err := c.Announce(ctx, l.Address); err != nil {
				return nil, err
			}
		}
		return l, nil
	}
}

// requestSpec describes a DHCPREQUEST by state (RFC 2131 §4.3.2, table 5).
type requestSpec struct {
	state     State
	requested netip.Addr // option 50 (SELECTING, INIT-REBOOT)
	serverID  netip.Addr // option 54 (SELECTING)
	expect    netip.Addr // reply must carry this server identifier, if set
	from      netip.Addr // ciaddr and IP source (RENEWING, REBINDING)
	unicast   bool       // RENEWING: to the server
	server    netip.Addr
	serverMAC MAC
	prev      *Lease // the lease being extended, for values the ACK omits
}

// request sends a DHCPREQUEST and waits for its DHCPACK or DHCPNAK.
func (c *Client) request(ctx context.Context, rs requestSpec) (*Lease, error) {
	spec := msgSpec{typ: dhcpv4.MessageTypeRequest, state: rs.state, requested: rs.requested,
		serverID: rs.serverID, ciaddr: rs.from}
	if rs.state == StateSelecting {
		secs := c.discoverSecs
		spec.secs = &secs
	}
	switch {
	case rs.unicast:
		spec.addressing = craft.ClientUnicast(c.cfg.ethSrc(), rs.from, []byte(rs.serverMAC), rs.server)
	default:
		spec.addressing = c.broadcastAddressing(rs.from)
	}
	if rs.from.IsValid() {
		c.claim = rs.from
		defer func() { c.claim = netip.Addr{} }()
	}
	var lease *Lease
	var nak *NAKError
	t := &txn{spec: spec}
	t.accept = func(r *reply) (verdict, error) {
		if r.typ != dhcpv4.MessageTypeAck && r.typ != dhcpv4.MessageTypeNak {
			return verdict{ignored: "not an ACK or NAK"}, nil
		}
		if !c.cfg.trusted(r) {
			return verdict{ignored: "rogue server"}, nil
		}
		if rs.expect.IsValid() && r.server != rs.expect {
			return verdict{ignored: "wrong server id"}, nil
		}
		if r.typ == dhcpv4.MessageTypeNak {
			nak = &NAKError{State: rs.state, Server: r.server, ServerMAC: MAC(r.pkt.eth.Src),
				Message: string(r.msg.Options.Get(dhcpv4.OptionMessage)), Requested: rs.requested}
			if !nak.Requested.IsValid() {
				nak.Requested = rs.from
			}
			return verdict{done: true}, nil
		}
		if why := yiaddrProblem(r); why != "" {
			r.text += "; " + why
			return verdict{ignored: "unusable yiaddr"}, nil
		}
		lease = c.leaseFrom(r, rs.prev)
		for _, w := range lease.Warnings {
			c.log.Warn("dhcp: lease", "warning", w)
		}
		return verdict{done: true}, nil
	}
	if err := c.transact(ctx, t); err != nil {
		return nil, err
	}
	if nak != nil {
		c.report.NAKs = append(c.report.NAKs, nak)
		return nil, nak
	}
	return lease, nil
}

// RequestAddress asks for addr in the INIT-REBOOT state (RFC 2131 §4.3.2):
// a broadcast DHCPREQUEST with option 50 and no server identifier. A
// DHCPNAK is returned as *NAKError (no restart). The acknowledged address
// goes through the ARP conflict check; a conflict is declined and returned
// as *ConflictError.
func (c *Client) RequestAddress(ctx context.Context, addr netip.Addr) (*Lease, error) {
	if err := CheckClientAddr(addr); err != nil {
		return nil, err
	}
	c.xid = c.newXID()
	c.start = time.Now()
	l, err := c.request(ctx, requestSpec{state: StateInitReboot, requested: addr})
	if err != nil {
		return nil, err
	}
	// RFC 2131 §3.2 step 3: the client SHOULD check the address, as in §3.1.
	holder, err := c.CheckAddress(ctx, l.Address)
	if err != nil {
		return nil, err
	}
	if holder != nil {
		ce := &ConflictError{Address: l.Address, Holder: holder, Server: l.Server}
		c.report.Conflicts = append(c.report.Conflicts, ce)
		if err := c.Decline(ctx, l.Address, l.Server, fmt.Sprintf("address in use by %s", holder)); err != nil {
			return nil, err
		}
		return nil, ce
	}
	return l, nil
}

// serverMAC returns the Ethernet destination for a unicast to the server of
// l: Config.ServerMAC, else an ARP resolution from the leased address (of
// the server, or of the first router when the server is off-link), else the
// MAC the lease recorded.
func (c *Client) serverMAC(ctx context.Context, server netip.Addr, l *Lease) (MAC, error) {
	if c.cfg.ServerMAC != nil {
		return MAC(c.cfg.ServerMAC), nil
	}
	if server == l.Server && len(l.ServerMAC) == 6 && !l.Relay.IsValid() {
		return l.ServerMAC, nil
	}
	target := server
	if p := l.Prefix(); p.IsValid() && !p.Contains(server) && len(l.Routers) > 0 {
		target = l.Routers[0]
	}
	mac, err := c.Resolve(ctx, target, l.Address)
	if err != nil {
		if len(l.ServerMAC) == 6 {
			return l.ServerMAC, nil
		}
		return nil, fmt.Errorf("dhcpclient: MAC of server %s: %w", server, err)
	}
	return mac, nil
}

// Renew extends l in the RENEWING state (RFC 2131 §4.4.5): a DHCPREQUEST
// unicast to the leasing server (Config.Server overrides) from the leased
// address, with ciaddr set and no option 50 or 54. While it waits, the client
// answers ARP for the leased address if the interface does not hold it.
func (c *Client) Renew(ctx context.Context, l *Lease) (*Lease, error) {
	if err := l.CheckExtend(); err != nil {
		return nil, err
	}
	server := l.Server
	if c.cfg.Server.IsValid() {
		server = c.cfg.Server
	}
	if !server.IsValid() {
		return nil, &ConfigError{Field: "server", Reason: "renewing needs the server's address"}
	}
	c.xid = c.newXID()
	c.start = time.Now()
	c.claimIfMissing(l.Address)
	defer func() { c.claim = netip.Addr{} }()
	mac, err := c.serverMAC(ctx, server, l)
	if err != nil {
		return nil, err
	}
	return c.request(ctx, requestSpec{state: StateRenewing, from: l.Address, unicast: true, server: server,
		serverMAC: mac, expect: server, prev: l})
}

// Rebind extends l in the REBINDING state (RFC 2131 §4.4.5): a broadcast
// DHCPREQUEST from the leased address with ciaddr set, to any server.
func (c *Client) Rebind(ctx context.Context, l *Lease) (*Lease, error) {
	if err := l.CheckExtend(); err != nil {
		return nil, err
	}
	c.xid = c.newXID()
	c.start = time.Now()
	return c.request(ctx, requestSpec{state: StateRebinding, from: l.Address, prev: l})
}

// claimIfMissing makes the client answer ARP for addr unless the interface
// holds it.
func (c *Client) claimIfMissing(addr netip.Addr) {
	if c.cfg.HasAddr == nil || !c.cfg.HasAddr(addr) {
		c.claim = addr
	}
}

// Release gives l back (RFC 2131 §4.4.6): a DHCPRELEASE unicast to the
// server from the leased address, with ciaddr and option 54. No reply comes;
// it is sent once.
func (c *Client) Release(ctx context.Context, l *Lease) error {
	if err := l.CheckExtend(); err != nil {
		return err
	}
	server := l.Server
	if c.cfg.Server.IsValid() {
		server = c.cfg.Server
	}
	if !server.IsValid() {
		return &ConfigError{Field: "server", Reason: "releasing needs the server's address"}
	}
	c.xid = c.newXID()
	c.claimIfMissing(l.Address)
	defer func() { c.claim = netip.Addr{} }()
	mac, err := c.serverMAC(ctx, server, l)
	if err != nil {
		return err
	}
	spec := msgSpec{typ: dhcpv4.MessageTypeRelease, label: "bound", ciaddr: l.Address, serverID: l.Server,
		addressing: craft.ClientUnicast(c.cfg.ethSrc(), l.Address, []byte(mac), server)}
	if !spec.serverID.IsValid() {
		spec.serverID = server
	}
	_, err = c.sendMsg(ctx, &spec, c.xid, 0)
	return err
}

// ReleaseAfter is Release once ctx has ended (Hold returned because it
// was cancelled): the DHCPRELEASE gets 5 s of its own.
func (c *Client) ReleaseAfter(ctx context.Context, l *Lease) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return c.Release(rctx, l)
}

// Decline tells server that addr is in use (RFC 2131 §4.4.1, §3.1 step 5):
// a broadcast DHCPDECLINE with options 50 and 54 and ciaddr zero, sent once.
// message, if not empty, goes in option 56.
func (c *Client) Decline(ctx context.Context, addr, server netip.Addr, message string) error {
	if err := CheckClientAddr(addr); err != nil {
		return err
	}
	if !server.Is4() {
		return &ConfigError{Field: "server identifier", Reason: "a DHCPDECLINE needs the server's IPv4 address"}
	}
	if c.xid == 0 && !c.cfg.FixedXID {
		c.xid = c.newXID()
	}
	spec := msgSpec{typ: dhcpv4.MessageTypeDecline, label: "conflict " + addr.String(), requested: addr,
		serverID: server, message: message, addressing: c.broadcastAddressing(netip.Addr{})}
	_, err := c.sendMsg(ctx, &spec, c.xid, 0)
	return err
}

// Inform asks for configuration without an address (RFC 2131 §3.4,
// §4.4.3): a DHCPINFORM with ciaddr = addr, from addr, broadcast (or to
// Config.Server). It returns the DHCPACK.
func (c *Client) Inform(ctx context.Context, addr netip.Addr) (*Reply, error) {
	if err := CheckClientAddr(addr); err != nil {
		return nil, err
	}
	c.xid = c.newXID()
	c.start = time.Now()
	c.claimIfMissing(addr)
	defer func() { c.claim = netip.Addr{} }()
	a := c.broadcastAddressing(addr)
	if c.cfg.Server.IsValid() && c.cfg.ServerMAC == nil {
		mac, err := c.Resolve(ctx, c.cfg.Server, addr)
		if err != nil {
			return nil, fmt.Errorf("dhcpclient: MAC of server %s: %w", c.cfg.Server, err)
		}
		a.DstMAC = []byte(mac)
	}
	var ack *Reply
	t := &txn{spec: msgSpec{typ: dhcpv4.MessageTypeInform, label: "inform", ciaddr: addr, addressing: a}}
	t.accept = func(r *reply) (verdict, error) {
		if r.typ != dhcpv4.MessageTypeAck {
			return verdict{ignored: "not an ACK"}, nil
		}
		if !c.cfg.trusted(r) {
			return verdict{ignored: "rogue server"}, nil
		}
		if c.cfg.Server.IsValid() && r.server != c.cfg.Server {
			return verdict{ignored: "wrong server id"}, nil
		}
		ack = c.newReply(r, t.sent)
		return verdict{done: true}, nil
	}
	if err := c.transact(ctx, t); err != nil {
		return nil, err
	}
	return ack, nil
}

// CheckClientAddr reports whether a is an address a DHCP client may hold
// (RFC 1122 §3.2.1.3): IPv4, not 0.0.0.0, broadcast, multicast, loopback or
// class E.
func CheckClientAddr(a netip.Addr) error {
	if why := unicastAddr(a, netip.Prefix{}); why != "" {
		v := ""
		if a.IsValid() {
			v = a.String()
		}
		return &ConfigError{Field: "client address", Value: v, Reason: "is " + why}
	}
	return nil
}
