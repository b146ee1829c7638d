package dhcpclient

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/dhcpopt"
)

// Conn is the link a Client talks over: whole Ethernet frames out and in.
// *capture.Conn implements it; tests use a fake. ReadFrame must honour the
// context's deadline and cancellation.
type Conn interface {
	WriteFrame(ctx context.Context, frame []byte) error
	ReadFrame(ctx context.Context, b []byte) (int, capture.FrameInfo, error)
}

// maxSteps bounds the transcript kept in a Report.
const maxSteps = 1000

// Client runs DHCP exchanges over one Conn. It is not safe for concurrent
// use: one exchange at a time.
type Client struct {
	cfg    Config
	conn   Conn
	closer io.Closer
	log    *slog.Logger

	buf     []byte
	created time.Time
	start   time.Time  // start of the current acquisition, for secs
	xid     uint32     // transaction ID of the current exchange
	claim   netip.Addr // address answered in ARP while waiting, if any
	// discoverSecs is the secs field of the last DHCPDISCOVER sent.
	discoverSecs uint16
	rec          error // first recording error
	report       Report
}

// New returns a Client that talks over conn. It validates cfg; nothing is
// sent until a method is called.
func New(conn Conn, cfg Config) (*Client, error) {
	if conn == nil {
		return nil, errors.New("dhcpclient: nil Conn")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.HWAddr == nil {
		return nil, &ConfigError{Field: FieldCHAddr, Reason: "required (a 6-byte Ethernet MAC)"}
	}
	lg := cfg.Log
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, conn: conn, log: lg, buf: make([]byte, 4096), created: time.Now(),
		report: Report{Steps: []Step{}}}, nil
}

// Close closes the connection Dial opened (New's conn is the caller's) and
// returns the first error met while recording, if any. It is safe to call
// twice.
func (c *Client) Close() error {
	var err error
	if c.closer != nil {
		err = c.closer.Close()
		c.closer = nil
	}
	if c.rec != nil {
		err = errors.Join(err, c.rec)
		c.rec = nil
	}
	return err
}

// SetRecorder makes the client record every frame it sends and receives
// from now on (nil stops recording).
func (c *Client) SetRecorder(r *capture.Recorder) { c.cfg.Recorder = r }

// Report returns what the client did so far. Stats.Dropped is read from
// the socket when the Conn keeps kernel statistics.
func (c *Client) Report() Report {
	if st, ok := c.conn.(interface{ Stats() (capture.Stats, error) }); ok {
		if s, err := st.Stats(); err == nil {
			c.report.Stats.Dropped = s.Drops
		}
	}
	return c.report
}

// Config returns the client's configuration.
func (c *Client) Config() Config { return c.cfg }

// newXID returns the transaction ID for a new exchange.
func (c *Client) newXID() uint32 {
	if c.cfg.FixedXID {
		return c.cfg.XID
	}
	var b [4]byte
	if x, err := dhcpv4.GenerateTransactionID(); err == nil {
		b = x
	}
	return binary.BigEndian.Uint32(b[:])
}

// secs is the secs field: seconds since the acquisition began (RFC 2131 §2).
func (c *Client) secs() uint16 {
	if c.start.IsZero() {
		return 0
	}
	return uint16(min(time.Since(c.start)/time.Second, 0xffff))
}

// record writes a frame to the recorder and the transcript.
func (c *Client) record(t time.Time, frame []byte, dir capture.Direction, text, ignored string) {
	if len(c.report.Steps) < maxSteps {
		c.report.Steps = append(c.report.Steps, Step{Time: t.UTC(), Elapsed: Millis(t.Sub(c.created)), Dir: dir, Text: text, Ignored: ignored})
	}
	if c.cfg.Recorder != nil {
		comment := text
		if ignored != "" {
			comment = "ignored (" + ignored + "): " + text
		}
		err := c.cfg.Recorder.Write(capture.Record{Time: t, Data: frame, Dir: dir, Comment: comment})
		if err != nil && c.rec == nil {
			c.rec = fmt.Errorf("dhcpclient: recording: %w", err)
		}
	}
	if ignored != "" {
		c.log.Info("dhcp: ignored", "dir", dir, "step", text, "reason", ignored)
	} else {
		c.log.Info("dhcp", "dir", dir, "step", text)
	}
}

// sendFrame writes one frame and records it.
func (c *Client) sendFrame(ctx context.Context, frame []byte, text string) error {
	t := time.Now()
	if err := c.conn.WriteFrame(ctx, frame); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("dhcpclient: %s: %w", text, ctx.Err())
		}
		return fmt.Errorf("dhcpclient: send %s: %w", text, err)
	}
	c.report.Stats.Sent++
	c.record(t, frame, capture.Outbound, text, "")
	return nil
}

// reply is a received DHCP reply that passed the link-level checks.
type reply struct {
	pkt    *wireReply
	msg    *dhcpv4.DHCPv4
	typ    dhcpv4.MessageType
	server netip.Addr // option 54, else the IP source
	at     time.Time
	frame  []byte
	text   string // summary for the transcript
}

// verdict is what a handler made of a frame.
type verdict struct {
	done    bool   // the wait is over
	ignored string // reason the frame was not used, counted in Stats
}

// handler is what wait does with the frames it reads.
type handler struct {
	dhcp func(r *reply) (verdict, error)
	arp  func(a *craft.ARP) (verdict, error)
}

// wait reads frames until a handler says done, end passes (false, nil), or
// ctx ends (its error, wrapped).
func (c *Client) wait(ctx context.Context, end time.Time, h handler) (bool, error) {
	rctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	for {
		n, info, err := c.conn.ReadFrame(rctx, c.buf[:len(c.buf)-4])
		if err != nil {
			if ctx.Err() != nil {
				return false, fmt.Errorf("dhcpclient: %w", ctx.Err())
			}
			var ne net.Error
			if rctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
				return false, nil
			}
			return false, fmt.Errorf("dhcpclient: read: %w", err)
		}
		if info.Dir == capture.Outbound {
			continue // our own frames, looped back by the packet socket
		}
		n = capture.InsertVLAN(c.buf, n, info)
		at := info.Time
		if at.IsZero() {
			at = time.Now()
		}
		done, err := c.handle(ctx, c.buf[:n], at, info.Checksum, h)
		if err != nil || done {
			return done, err
		}
	}
}

// handle dispatches one received frame.
func (c *Client) handle(ctx context.Context, frame []byte, at time.Time, csum capture.ChecksumStatus, h handler) (bool, error) {
	c.report.Stats.Received++
	var eth craft.Ethernet
	payload, err := craft.DecodeEthernet(frame, &eth)
	if err != nil {
		c.report.Stats.Ignored.Malformed++
		c.record(at, frame, capture.Inbound, "undecodable frame", "malformed")
		return false, nil
	}
	if !c.vlanOK(eth.VLAN) {
		c.report.Stats.Ignored.VLAN++
		c.record(at, frame, capture.Inbound, "frame from another VLAN", "vlan")
		return false, nil
	}
	if eth.EtherType == craft.EtherTypeARP {
		return c.handleARP(ctx, frame, payload, at, h)
	}
	r, why := c.parseReply(frame, at, csum)
	if why != "" {
		c.ignore(why)
		c.record(at, frame, capture.Inbound, r.text, why)
		return false, nil
	}
	if h.dhcp == nil {
		c.report.Stats.Ignored.Unexpected++
		c.record(at, frame, capture.Inbound, r.text, "unexpected")
		return false, nil
	}
	v, err := h.dhcp(r)
	if v.ignored != "" {
		c.ignore(v.ignored)
		c.record(at, frame, capture.Inbound, r.text, v.ignored)
		return false, err
	}
	c.report.Stats.Accepted++
	c.record(at, frame, capture.Inbound, r.text, "")
	return v.done, err
}

func (c *Client) vlanOK(v *craft.VLAN) bool {
	if c.cfg.VLAN == nil {
		return v == nil
	}
	return v != nil && v.ID == c.cfg.VLAN.ID
}

// ignore counts an ignored frame by reason.
func (c *Client) ignore(why string) {
	i := &c.report.Stats.Ignored
	switch why {
	case "malformed":
		i.Malformed++
	case "bad checksum":
		i.Checksum++
	case "rogue server":
		i.Rogue++
	case "unusable yiaddr":
		i.Address++
	case "not a reply":
		i.NotReply++
	case "wrong xid":
		i.XID++
	case "wrong chaddr":
		i.CHAddr++
	case "wrong server id":
		i.ServerID++
	case "unselected":
		i.Selection++
	case "unexpected":
		i.Unexpected++
	default:
		i.Type++
	}
}

// parseReply decodes a DHCP frame and checks what every reply must match:
// correct checksums, op BOOTREPLY from port 67, our xid and our chaddr (RFC
// 2131 §4.4.1). It returns the reason when the frame is to be ignored.
func (c *Client) parseReply(frame []byte, at time.Time, csum capture.ChecksumStatus) (*reply, string) {
	pkt, err := decodeReply(frame, csum)
	if errors.Is(err, errChecksum) {
		return &reply{text: "DHCP frame with a bad " + err.Error()}, "bad checksum"
	}
	if err != nil {
		return &reply{text: "malformed DHCP: " + err.Error()}, "malformed"
	}
	m := pkt.msg
	r := &reply{pkt: pkt, msg: m, typ: m.MessageType(), at: at, frame: frame}
	r.server = pkt.ip.Src
	if sid := m.Options.Get(dhcpv4.OptionServerIdentifier); len(sid) == 4 {
		r.server = netip.AddrFrom4([4]byte(sid))
	}
	xid := binary.BigEndian.Uint32(m.TransactionID[:])
	r.text = fmt.Sprintf("%s xid=0x%08x from %s (%s)", msgName(m), xid, r.server, pkt.eth.Src)
	if r.server != pkt.ip.Src {
		r.text += " sent by " + pkt.ip.Src.String()
	}
	if y := addr4(m.YourIPAddr); y.IsValid() && !y.IsUnspecified() {
		r.text += " yiaddr " + y.String()
	}
	for _, n := range pkt.notes {
		r.text += "; " + n
		c.log.Info("dhcp: reply tolerated", "xid", fmt.Sprintf("0x%08x", xid), "note", n)
	}
	toUs := pkt.udp.DstPort == craft.DHCPClientPort || (c.cfg.GIAddr.IsValid() && pkt.udp.DstPort == craft.DHCPServerPort)
	switch {
	case m.OpCode != dhcpv4.OpcodeBootReply || pkt.udp.SrcPort != craft.DHCPServerPort || !toUs:
		r.text = fmt.Sprintf("%s xid=0x%08x %s:%d -> %s:%d", msgName(m), xid, pkt.ip.Src, pkt.udp.SrcPort, pkt.ip.Dst, pkt.udp.DstPort)
		return r, "not a reply"
	case xid != c.xid:
		return r, "wrong xid"
	case !sameMAC(m.ClientHWAddr, c.cfg.HWAddr):
		return r, "wrong chaddr"
	}
	return r, ""
}

// msgName names the message type of m as RFC 2131 does: BOOTP when it has
// no option 53 (decodeReply refuses a malformed one).
func msgName(m *dhcpv4.DHCPv4) string {
	t, ok := m.Options[uint8(dhcpopt.MessageType)]
	if !ok {
		return "BOOTP"
	}
	if len(t) != 1 {
		return "DHCP (malformed option 53)"
	}
	return dhcpopt.MsgType(t[0]).String()
}

// typeName names a message type.
func typeName(t dhcpv4.MessageType) string { return dhcpopt.MsgType(t).String() }

// addr4 converts a net.IP to a netip.Addr (zero Addr if not IPv4).
func addr4(ip net.IP) netip.Addr {
	if v4 := ip.To4(); v4 != nil {
		return netip.AddrFrom4([4]byte(v4))
	}
	return netip.Addr{}
}

// ip4 converts a netip.Addr to a 4-byte net.IP; the zero Addr is 0.0.0.0.
func ip4(a netip.Addr) net.IP {
	if !a.IsValid() {
		return net.IPv4zero.To4()
	}
	b := a.As4()
	return net.IP(b[:])
}

// msgSpec describes one client message (RFC 2131 §4.4.1, table 5).
type msgSpec struct {
	typ        dhcpv4.MessageType
	state      State      // for the comment: the state it is sent in
	label      string     // comment label when not the state
	ciaddr     netip.Addr // set in RENEWING, REBINDING, RELEASE, INFORM
	requested  netip.Addr // option 50
	serverID   netip.Addr // option 54
	message    string     // option 56
	addressing craft.DHCPAddressing
	// secs, when set, is the secs field to send instead of the time since
	// the acquisition began: a DHCPREQUEST in SELECTING repeats the
	// DHCPDISCOVER's (RFC 2131 §4.4.1).
	secs *uint16
}

// build returns the message for spec with the client's fields.
func (c *Client) build(s *msgSpec, xid uint32) *dhcpv4.DHCPv4 {
	m := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootRequest,
		HWType:        iana.HWTypeEthernet,
		NumSeconds:    c.secs(),
		ClientIPAddr:  ip4(s.ciaddr),
		YourIPAddr:    ip4(netip.Addr{}),
		ServerIPAddr:  ip4(netip.Addr{}),
		GatewayIPAddr: ip4(c.cfg.GIAddr),
		ClientHWAddr:  c.cfg.HWAddr,
		Options:       dhcpv4.Options{},
	}
	if s.secs != nil {
		m.NumSeconds = *s.secs
	}
	binary.BigEndian.PutUint32(m.TransactionID[:], xid)
	o := m.Options
	o[uint8(dhcpopt.MessageType)] = []byte{byte(s.typ)}
	full := s.typ == dhcpv4.MessageTypeDiscover || s.typ == dhcpv4.MessageTypeRequest || s.typ == dhcpv4.MessageTypeInform
	if full && c.cfg.Broadcast {
		m.Flags |= 0x8000
	}
	if len(c.cfg.ClientID) > 0 {
		o[uint8(dhcpopt.ClientIdentifier)] = c.cfg.ClientID
	}
	if s.requested.IsValid() {
		o[uint8(dhcpopt.RequestedAddress)] = ip4(s.requested)
	}
	if s.serverID.IsValid() {
		o[uint8(dhcpopt.ServerIdentifier)] = ip4(s.serverID)
	}
	if s.message != "" {
		o[uint8(dhcpopt.Message)] = []byte(s.message)
	}
	if full {
		if c.cfg.Hostname != "" {
			o[uint8(dhcpopt.Hostname)] = []byte(c.cfg.Hostname)
		}
		if c.cfg.VendorClass != "" {
			o[uint8(dhcpopt.ClassIdentifier)] = []byte(c.cfg.VendorClass)
		}
		req := c.cfg.RequestOptions
		if req == nil {
			req = DefaultRequestOptions
		}
		prl := make([]byte, len(req))
		for i, x := range req {
			prl[i] = byte(x)
		}
		o[uint8(dhcpopt.ParameterList)] = prl
	}
	if len(c.cfg.CircuitID) > 0 || len(c.cfg.RemoteID) > 0 {
		var subs []dhcpopt.SubOption
		if len(c.cfg.CircuitID) > 0 {
			subs = append(subs, dhcpopt.SubOption{Code: dhcpopt.AgentCircuitID, Raw: c.cfg.CircuitID})
		}
		if len(c.cfg.RemoteID) > 0 {
			subs = append(subs, dhcpopt.SubOption{Code: dhcpopt.AgentRemoteID, Raw: c.cfg.RemoteID})
		}
		if b, err := dhcpopt.EncodeRelayAgentInfo(subs...); err == nil {
			o[uint8(dhcpopt.RelayAgentInfo)] = b
		}
	}
	for _, st := range c.cfg.Options {
		o[uint8(st.Code)] = st.Data
	}
	return m
}

// comment names a message for the recording: "DHCPREQUEST (selecting)
// xid=0x1a2b3c4d try 2".
func comment(s *msgSpec, m *dhcpv4.DHCPv4, xid uint32, try int) string {
	label := s.label
	if label == "" {
		label = s.state.label()
	}
	t := fmt.Sprintf("%s (%s) xid=0x%08x", msgName(m), label, xid)
	if try > 0 {
		t += fmt.Sprintf(" try %d", try)
	}
	return t
}

// sendMsg builds, frames and sends one message.
func (c *Client) sendMsg(ctx context.Context, s *msgSpec, xid uint32, try int) (time.Time, error) {
	m := c.build(s, xid)
	if s.typ == dhcpv4.MessageTypeDiscover {
		c.discoverSecs = m.NumSeconds
	}
	a := s.addressing
	a.VLAN = c.cfg.VLAN
	if a.SrcMAC == nil {
		a.SrcMAC = c.cfg.ethSrc()
	}
	frame, err := craft.EncodeDHCP(m, a)
	if err != nil {
		return time.Time{}, fmt.Errorf("dhcpclient: build %s: %w", typeName(s.typ), err)
	}
	t := time.Now()
	return t, c.sendFrame(ctx, frame, comment(s, m, xid, try))
}
