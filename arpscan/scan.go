package arpscan

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// maxSleep bounds one sleep of the sender, so that it re-reads the adaptive
// wait now and then even without a wake-up.
const maxSleep = 50 * time.Millisecond

// drainIdle is how long the receiver keeps reading once the scan is over,
// for replies already queued.
const drainIdle = 2 * time.Millisecond

// Target states, kept in the low byte of Scanner.state; the next bytes
// count the tries.
const (
	stLive      = 0
	stAnswered  = 1
	stExhausted = 2
)

// network is one of Config.Networks as integers.
type network struct{ addr, mask, spa uint32 }

// Scanner runs one scan. Make it with NewScanner, then call Run once.
type Scanner struct {
	conn Conn
	t    *Targets
	cfg  Config

	tmpl           []byte
	spaOff, tpaOff int
	nets           []network
	defSPA         uint32
	ourSHA, ourSrc [6]byte

	state    []atomic.Uint32 // status | tries<<8
	lastSend []atomic.Int64  // unix ns of the latest request
	queues   []ring          // queues[k]: sent k times, waiting; k = 1..Retry

	live      atomic.Int64
	answered  atomic.Int64
	sent      atomic.Int64
	asked     atomic.Int64
	srtt      atomic.Int64
	rttvar    atomic.Int64
	wake      chan struct{}
	stopping  atomic.Bool
	failed    atomic.Bool // the receiver stopped on an error (readErr)
	gaveEarly int         // sender-owned

	// owned by the receiver until it ends
	resp        []response
	head        []int32            // first response per target, or -1
	extra       map[[10]byte]int32 // (ip, mac) -> response, past the first MAC
	unsolicited *responseSet
	conflictsX  int
	received    int
	ignored     int
	readErr     error
	est         rttEstimator
	ev          Event
	evMACs      [18]byte
}

// ring is a FIFO of target indexes with a fixed capacity.
type ring struct {
	buf        []int32
	head, size int
}

func (r *ring) push(x int32) {
	r.buf[(r.head+r.size)%len(r.buf)] = x
	r.size++
}
func (r *ring) peek() int32 { return r.buf[r.head] }
func (r *ring) pop() {
	r.head = (r.head + 1) % len(r.buf)
	r.size--
}

// NewScanner prepares a scan of t over conn. It builds the request template
// and the per-target state; it sends nothing.
func NewScanner(conn Conn, t *Targets, cfg Config) (*Scanner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if t == nil || t.Len() == 0 {
		return nil, fmt.Errorf("arpscan: %w", ErrNoTargets)
	}
	cfg = cfg.withDefaults()
	s := &Scanner{conn: conn, t: t, cfg: cfg, wake: make(chan struct{}, 1)}
	var p craft.ARPFrame
	copy(p.EthSrc[:], cfg.SrcMAC)
	p.EthDst = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	if cfg.DstMAC != nil {
		copy(p.EthDst[:], cfg.DstMAC)
	}
	copy(p.SHA[:], cfg.SrcMAC)
	if cfg.SenderMAC != nil {
		copy(p.SHA[:], cfg.SenderMAC)
	}
	if cfg.TargetMAC != nil {
		copy(p.THA[:], cfg.TargetMAC)
	}
	p.Tagged, p.VLAN = cfg.Tagged, cfg.VLAN
	p.Op = craft.ARPRequest
	s.tmpl = craft.AppendARPFrame(nil, &p)
	s.spaOff, s.tpaOff = p.SPAOffset(), p.TPAOffset()
	s.ourSHA, s.ourSrc = p.SHA, p.EthSrc
	for _, pf := range cfg.Networks {
		mask := ^uint32(0)
		if pf.Bits() < 32 {
			mask = ^(^uint32(0) >> pf.Bits())
		}
		s.nets = append(s.nets, network{addr: ip4(pf.Addr()) & mask, mask: mask, spa: ip4(pf.Addr())})
	}
	if cfg.SenderIP.IsValid() {
		s.defSPA = ip4(cfg.SenderIP)
	}

	n := t.Len()
	s.state = make([]atomic.Uint32, n)
	s.lastSend = make([]atomic.Int64, n)
	s.queues = make([]ring, cfg.Retry+1)
	for k := 1; k <= cfg.Retry; k++ {
		s.queues[k].buf = make([]int32, n)
	}
	s.head = make([]int32, n)
	for i := range s.head {
		s.head[i] = -1
	}
	s.resp = make([]response, 0, min(n, 1<<16))
	s.extra = map[[10]byte]int32{}
	s.unsolicited = newResponseSet(cfg.MaxUnsolicited)
	s.live.Store(int64(n))
	return s, nil
}

// senderIP returns the sender protocol address for target ip.
func (s *Scanner) senderIP(ip uint32) uint32 {
	for _, nw := range s.nets {
		if ip&nw.mask == nw.addr {
			return nw.spa
		}
	}
	return s.defSPA
}

// Progress is a snapshot of a running scan.
type Progress struct {
	Targets  int // addresses in the scan
	Sent     int // request frames sent so far
	Answered int // targets that answered
	Done     int // targets that answered or used all their tries
}

// Progress returns a snapshot; it is safe to call while Run runs.
func (s *Scanner) Progress() Progress {
	n := s.t.Len()
	return Progress{Targets: n, Sent: int(s.sent.Load()), Answered: int(s.answered.Load()), Done: n - int(s.live.Load())}
}

// base returns the wait after a first try: the fixed Timeout, or in Fast
// mode the adaptive estimate.
func (s *Scanner) base() time.Duration {
	if !s.cfg.Fast {
		return s.cfg.Timeout
	}
	e := rttEstimator{srtt: s.srtt.Load(), rttvar: s.rttvar.Load()}
	return e.rto(s.cfg.MinTimeout, s.cfg.Timeout)
}

func (s *Scanner) limitReached() bool {
	return s.cfg.Limit > 0 && s.answered.Load() >= int64(s.cfg.Limit)
}

// Run sends the requests, collects the replies and returns the report. It
// returns as soon as every target has answered or used its tries and its
// last wait, when Limit targets answered, or when ctx ends (then with the
// partial report, Interrupted set, and an error wrapping ctx's).
func (s *Scanner) Run(ctx context.Context) (*Report, error) {
	rctx, stopRead := context.WithCancel(context.Background())
	defer stopRead()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.receive(rctx)
	}()
	start := time.Now()
	err := s.send(ctx)
	s.stopping.Store(true)
	stopRead()
	wg.Wait()
	elapsed := time.Since(start)
	if err == nil && s.readErr != nil {
		err = s.readErr
	}
	r := s.report(elapsed)
	r.Interrupted = ctx.Err() != nil
	if st, ok := s.conn.(interface {
		Stats() (capture.Stats, error)
	}); ok {
		if cs, serr := st.Stats(); serr == nil {
			r.Dropped = int(cs.Drops)
		}
	}
	return r, err
}

// send is the sending loop: due retries first, then fresh targets, as the
// token bucket allows; it sleeps once per batch of tokens or until the next
// retry is due, and ends when no target is live.
func (s *Scanner) send(ctx context.Context) error {
	cfg := s.cfg
	n := s.t.Len()
	batch := batchFor(cfg.Rate, cfg.Batch)
	frames := make([][]byte, batch)
	for i := range frames {
		frames[i] = slices.Clone(s.tmpl)
	}
	idx := make([]int32, 0, batch)
	carry := make([]int32, 0, batch) // taken but not sent by a short write
	now := time.Now().UnixNano()
	b := newBucket(cfg.Rate, batch, now)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	fixedLast := tryWait(int64(cfg.Timeout), cfg.Backoff, cfg.Retry)
	next := 0 // next fresh target in send order
	writeDone := false
	for {
		if s.live.Load() == 0 || s.limitReached() || s.failed.Load() {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("arpscan: scan: %w", err)
		}
		now = time.Now().UnixNano()
		base := int64(s.base())
		// Give up on hosts whose last wait has passed: one look at the
		// oldest of the last queue per expired host, nothing per live one.
		lastWait := tryWait(base, cfg.Backoff, cfg.Retry)
		last := &s.queues[cfg.Retry]
		for last.size > 0 {
			i := last.peek()
			st := s.state[i].Load()
			sentAt := s.lastSend[i].Load()
			if st&0xff == stLive && sentAt+lastWait > now {
				break
			}
			last.pop()
			// A failed swap means the answer came meanwhile: nothing to do.
			if st&0xff == stLive && s.state[i].CompareAndSwap(st, st&^0xff|stExhausted) {
				s.live.Add(-1)
				if sentAt+fixedLast > now {
					s.gaveEarly++
				}
			}
		}
		if s.live.Load() == 0 {
			return nil
		}

		allowed := b.take(now, batch)
		idx = idx[:0]
		for len(carry) > 0 && len(idx) < allowed {
			idx = append(idx, carry[0])
			carry = carry[1:]
		}
		for k := 1; k < cfg.Retry && len(idx) < allowed; k++ {
			q := &s.queues[k]
			for q.size > 0 && len(idx) < allowed {
				i := q.peek()
				if s.state[i].Load()&0xff != stLive {
					q.pop()
					continue
				}
				if s.lastSend[i].Load()+tryWait(base, cfg.Backoff, k) > now {
					break
				}
				q.pop()
				idx = append(idx, i)
			}
		}
		room := math.MaxInt
		if cfg.MaxPending > 0 {
			room = cfg.MaxPending - (next - (n - int(s.live.Load())))
		}
		windowFull := room <= 0
		for next < n && len(idx) < allowed && room > 0 && !s.limitReached() {
			room--
			idx = append(idx, int32(s.t.at(next)))
			next++
		}
		if unused := allowed - len(idx); unused > 0 && !math.IsInf(b.rate, 1) {
			b.tokens += float64(unused)
		}
		if len(idx) > 0 {
			sentN, err := s.sendBatch(ctx, frames, idx)
			if sentN < len(idx) {
				carry = append(carry[:0], idx[sentN:]...)
			}
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("arpscan: scan: %w", ctx.Err())
				}
				return err
			}
			continue
		}

		// Every target has had its last try: the send side can go now,
		// while the last waits run.
		if !writeDone && next >= n && len(carry) == 0 && s.retriesDone() {
			writeDone = true
			if cw, ok := s.conn.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
		}

		// Nothing sent: sleep until tokens for a batch, the next due retry,
		// or a wake-up from the receiver.
		wait := time.Duration(math.MaxInt64)
		ready := (next < n && !windowFull) || len(carry) > 0
		for k := 1; k <= cfg.Retry; k++ {
			due, ok := s.headDue(k, base)
			switch {
			case !ok:
			case due > now:
				wait = min(wait, time.Duration(due-now))
			case k < cfg.Retry:
				ready = true
			default:
				wait = 0 // a last wait ended: expire it at once
			}
		}
		if windowFull && next < n {
			wait = min(wait, time.Millisecond) // poll for the reader to catch up
		}
		if ready {
			wait = min(wait, max(b.wait(now, batch), time.Microsecond))
		}
		if wait == time.Duration(math.MaxInt64) {
			wait = time.Millisecond // cannot happen while targets are live; no spin anyway
		}
		if wait <= 0 {
			continue
		}
		if cfg.Fast {
			wait = min(wait, maxSleep) // the adaptive wait may shrink
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-s.wake:
		case <-ctx.Done():
		}
	}
}

// retriesDone reports whether no target waits for another try.
func (s *Scanner) retriesDone() bool {
	for k := 1; k < s.cfg.Retry; k++ {
		if _, ok := s.headDue(k, 0); ok {
			return false
		}
	}
	return true
}

// headDue returns when the head of queue k is due, dropping heads that are
// no longer live; ok is false for an empty queue.
func (s *Scanner) headDue(k int, base int64) (due int64, ok bool) {
	q := &s.queues[k]
	for q.size > 0 {
		i := q.peek()
		if s.state[i].Load()&0xff == stLive {
			return s.lastSend[i].Load() + tryWait(base, s.cfg.Backoff, k), true
		}
		if k == s.cfg.Retry {
			return 0, true // let the expiry loop account for it
		}
		q.pop()
	}
	return 0, false
}

func tryWait(base int64, backoff float64, try int) int64 {
	return int64(TryTimeout(time.Duration(base), backoff, try))
}

// sendBatch patches each frame's addresses, sends them in one call and
// records the tries. It allocates nothing.
func (s *Scanner) sendBatch(ctx context.Context, frames [][]byte, idx []int32) (int, error) {
	fs := frames[:len(idx)]
	for j, i := range idx {
		ip := s.t.addrs[i]
		binary.BigEndian.PutUint32(fs[j][s.tpaOff:], ip)
		binary.BigEndian.PutUint32(fs[j][s.spaOff:], s.senderIP(ip))
	}
	t := time.Now()
	now := t.UnixNano()
	// Count the try before sending: on a veth the reply can be handled
	// before the send call returns.
	for _, i := range idx {
		s.lastSend[i].Store(now)
		if s.state[i].Add(1<<8)>>8 == 1 {
			s.asked.Add(1)
		}
	}
	n, err := s.conn.WriteFrames(ctx, fs)
	for j, i := range idx {
		if j >= n {
			if s.state[i].Add(^uint32(1<<8-1))>>8 == 0 { // not sent: take the try back
				s.asked.Add(-1)
				s.lastSend[i].Store(0)
			}
			continue
		}
		tries := min(int(s.state[i].Load()>>8), s.cfg.Retry)
		if s.cfg.Trace != nil {
			s.cfg.Trace(capture.Outbound, fs[j], capture.FrameInfo{Time: t, Length: len(fs[j]), Dir: capture.Outbound})
		}
		s.queues[tries].push(i)
	}
	s.sent.Add(int64(n))
	if err != nil {
		return n, fmt.Errorf("arpscan: send: %w", err)
	}
	return n, nil
}

// receive reads replies until Run stops it, then drains what is queued.
func (s *Scanner) receive(ctx context.Context) {
	const batch = 64
	msgs := make([]capture.Msg, batch)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 128)
	}
	var p craft.ARPFrame
	handle := func(n int) {
		for j := 0; j < n; j++ {
			s.handle(&msgs[j], &p)
		}
		if n > 0 && s.cfg.Sink != nil {
			if err := s.cfg.Sink.Flush(); err != nil && s.readErr == nil {
				s.readErr = fmt.Errorf("arpscan: output: %w", err)
				s.failed.Store(true)
				s.signal()
			}
		}
	}
	for {
		n, err := s.conn.ReadFrames(ctx, msgs)
		handle(n)
		if err != nil {
			if s.stopping.Load() || ctx.Err() != nil {
				drain(s.conn, msgs, drainIdle, handle)
				return
			}
			if timeout(err) {
				continue
			}
			s.readErr = fmt.Errorf("arpscan: receive: %w", err)
			s.failed.Store(true)
			s.signal()
			return
		}
	}
}

// signal wakes the sender without blocking.
func (s *Scanner) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stripped returns the tag the kernel took off a frame, as a craft.VLAN.
func stripped(info *capture.FrameInfo) (bool, craft.VLAN) {
	if !info.VLAN {
		return false, craft.VLAN{}
	}
	t := info.VLANTCI
	return true, craft.VLAN{ID: t & 0x0fff, Priority: uint8(t >> 13), DEI: t&(1<<12) != 0, TPID: craft.EtherType(info.VLANTPID)}
}

// handle decodes one received frame and records it. It allocates nothing
// for a first answer (within the pre-sized table) or a repeated one.
func (s *Scanner) handle(m *capture.Msg, p *craft.ARPFrame) {
	frame := m.Buf[:m.N]
	at := m.Info.Time
	if at.IsZero() {
		at = time.Now()
	}
	if s.cfg.Trace != nil {
		s.cfg.Trace(capture.Inbound, frame, m.Info)
	}
	s.received++
	if craft.DecodeARPFrame(frame, p) != nil {
		s.ignored++
		return
	}
	if !p.Tagged {
		p.Tagged, p.VLAN = stripped(&m.Info)
	}
	if p.Op != craft.ARPReply {
		return
	}
	ip := binary.BigEndian.Uint32(p.SPA[:])
	i := s.t.index(ip)
	atNS := at.UnixNano()
	// RFC 826 says nothing of it, but only a reply addressed to this
	// scanner answers it: sent to our MAC (Ethernet destination or target
	// hardware address) for the sender address we asked with.
	toUs := (p.THA == s.ourSHA || p.EthDst == s.ourSrc) && binary.BigEndian.Uint32(p.TPA[:]) == s.senderIP(ip)
	if i < 0 || !toUs {
		s.addUnsolicited(ip, p, atNS)
		return
	}
	sentAt := s.lastSend[i].Load()
	rtt := int64(-1)
	if sentAt != 0 && atNS >= sentAt {
		rtt = atNS - sentAt
	}
	tries := int32(s.state[i].Load() >> 8)
	if h := s.head[i]; h >= 0 {
		r := &s.resp[h]
		if r.mac != p.SHA {
			k := pairKey(ip, p.SHA)
			x, ok := s.extra[k]
			if !ok {
				s.addConflict(i, ip, p, rtt, atNS, tries)
				return
			}
			r = &s.resp[x]
		}
		r.count++
		noteMismatch(r, p)
		if r.count > max(tries, 1) && r.flags&FlagDup == 0 {
			r.flags |= FlagDup
			s.emit(EventFlag, r, FlagDup, tries)
		}
		return
	}
	if s.limitReached() {
		return // past Limit: not a host of this scan
	}
	s.resp = append(s.resp, newResponse(ip, p, rtt, atNS))
	h := int32(len(s.resp) - 1)
	s.head[i] = h
	for {
		st := s.state[i].Load()
		if st&0xff != stLive {
			if st&0xff == stExhausted { // answered after giving up: count it anyway
				s.answered.Add(1)
			}
			break
		}
		if s.state[i].CompareAndSwap(st, st&^0xff|stAnswered) {
			s.answered.Add(1)
			if st>>8 == 1 && rtt >= 0 && s.cfg.Fast { // Karn: only unambiguous samples
				// The wait must cover the time until the sender can know
				// of the answer, so the sample is taken now, not at the
				// kernel's arrival time.
				before := s.est.rto(s.cfg.MinTimeout, s.cfg.Timeout)
				s.est.add(time.Now().UnixNano() - sentAt)
				s.srtt.Store(s.est.srtt)
				s.rttvar.Store(s.est.rttvar)
				if after := s.est.rto(s.cfg.MinTimeout, s.cfg.Timeout); after < before*9/10 {
					s.signal()
				}
			}
			if s.live.Add(-1) == 0 || s.limitReached() {
				s.signal()
			}
			break
		}
	}
	s.emit(EventHost, &s.resp[h], 0, tries)
}

// addConflict records a second or further MAC answering target i.
func (s *Scanner) addConflict(i int, ip uint32, p *craft.ARPFrame, rtt, at int64, tries int32) {
	if len(s.extra) >= s.cfg.MaxConflicts {
		if s.conflictsX == 0 && s.cfg.Sink != nil {
			s.ev = Event{Kind: EventCap, Flag: FlagConflict, Limit: s.cfg.MaxConflicts}
			s.cfg.Sink.Event(&s.ev)
		}
		s.conflictsX++
		return
	}
	r := newResponse(ip, p, rtt, at)
	r.flags |= FlagConflict
	// Link after the last response of the address, for the report.
	last := s.head[i]
	for s.resp[last].next >= 0 {
		last = s.resp[last].next
	}
	s.resp = append(s.resp, r)
	x := int32(len(s.resp) - 1)
	s.resp[last].next = x
	s.extra[pairKey(ip, p.SHA)] = x
	if first := &s.resp[s.head[i]]; first.flags&FlagConflict == 0 {
		first.flags |= FlagConflict
		s.emit(EventFlag, first, FlagConflict, tries)
	}
	s.emit(EventHost, &s.resp[x], 0, tries)
}

// addUnsolicited records a reply that answers no request.
func (s *Scanner) addUnsolicited(ip uint32, p *craft.ARPFrame, at int64) {
	r, isNew, capped := s.unsolicited.add(ip, p, at)
	if capped && s.unsolicited.unlisted == 1 && s.cfg.Sink != nil {
		s.ev = Event{Kind: EventCap, Limit: s.cfg.MaxUnsolicited}
		s.cfg.Sink.Event(&s.ev)
	}
	if isNew {
		s.emit(EventUnsolicited, r, 0, 0)
	}
}

// emit tells the sink about r, filling the reused event; it allocates
// nothing beyond what Vendor does.
func (s *Scanner) emit(kind EventKind, r *response, flag Flags, tries int32) {
	if s.cfg.Sink == nil {
		return
	}
	s.ev.Kind, s.ev.Flag, s.ev.Limit = kind, flag, 0
	r.fill(&s.ev.Host, s.evMACs[:], s.cfg.Vendor)
	s.ev.Host.Requests = int(tries)
	s.cfg.Sink.Event(&s.ev)
}

// report assembles the results once the receiver has ended.
func (s *Scanner) report(elapsed time.Duration) *Report {
	r := &Report{Targets: s.t.Len(), Asked: int(s.asked.Load()), Sent: int(s.sent.Load()), Responded: int(s.answered.Load()),
		Elapsed: elapsed, Received: s.received, Ignored: s.ignored, Hosts: make([]Host, 0, len(s.resp)),
		UnsolicitedUnlisted: s.unsolicited.unlisted, ConflictsUnlisted: s.conflictsX, Fast: s.cfg.Fast,
		GaveUpEarly: s.gaveEarly, Timeout: s.cfg.Timeout, LimitReached: s.limitReached()}
	macs := make([]byte, 0, 18*len(s.resp))
	for i := range s.head {
		requests := int(s.state[i].Load() >> 8)
		for j := s.head[i]; j >= 0; j = s.resp[j].next {
			h := s.resp[j].host(s.cfg.Vendor, &macs)
			h.Requests = requests
			r.Hosts = append(r.Hosts, h)
		}
	}
	r.Unsolicited = s.unsolicited.hosts(s.cfg.Vendor)
	return r
}

// response is one (address, MAC) pair seen, as the receiver records it.
type response struct {
	ip       uint32
	tpa      uint32
	mac      [6]byte
	ethSrc   [6]byte // first Ethernet source that differed from mac
	tha      [6]byte
	mismatch bool
	tagged   bool
	vlan     craft.VLAN
	flags    Flags
	count    int32
	next     int32 // next response for the same address, or -1
	rtt      int64 // ns, -1 unknown
	seen     int64 // unix ns
}

func newResponse(ip uint32, p *craft.ARPFrame, rtt, at int64) response {
	r := response{ip: ip, tpa: binary.BigEndian.Uint32(p.TPA[:]), mac: p.SHA, tha: p.THA, tagged: p.Tagged, vlan: p.VLAN,
		count: 1, next: -1, rtt: rtt, seen: at}
	noteMismatch(&r, p)
	return r
}

func noteMismatch(r *response, p *craft.ARPFrame) {
	if !r.mismatch && p.EthSrc != p.SHA {
		r.mismatch = true
		r.ethSrc = p.EthSrc
		r.flags |= FlagMismatch
	}
}

// fill sets h from r, its MACs carved from buf (18 bytes), so that it
// allocates nothing.
func (r *response) fill(h *Host, buf []byte, vendor func(net.HardwareAddr) string) {
	copy(buf[0:6], r.mac[:])
	copy(buf[6:12], r.ethSrc[:])
	copy(buf[12:18], r.tha[:])
	*h = Host{IP: addr4(r.ip), MAC: buf[0:6:6], Tagged: r.tagged, VLAN: r.vlan, RTT: time.Duration(r.rtt),
		Replies: int(r.count), Flags: r.flags, TargetIP: addr4(r.tpa), TargetMAC: buf[12:18:18]}
	if r.rtt < 0 {
		h.RTT = -1
	}
	if r.seen != 0 {
		h.Seen = time.Unix(0, r.seen)
	}
	if r.mismatch {
		h.EthSrc = buf[6:12:12]
	}
	if vendor != nil {
		h.Vendor = vendor(h.MAC)
	}
}

// host returns r as a Host that owns its MACs, carved from *macs.
func (r *response) host(vendor func(net.HardwareAddr) string, macs *[]byte) Host {
	var h Host
	n := len(*macs)
	if cap(*macs)-n < 18 {
		*macs = make([]byte, 0, 18*64)
		n = 0
	}
	*macs = append(*macs, make([]byte, 18)...)
	r.fill(&h, (*macs)[n:n+18], vendor)
	return h
}

func pairKey(ip uint32, mac [6]byte) [10]byte {
	var k [10]byte
	binary.BigEndian.PutUint32(k[:4], ip)
	copy(k[4:], mac[:])
	return k
}

// responseSet records responses keyed by (address, MAC), for replies that
// answer no request and for passive mode: constant cost per reply, at most
// max pairs, the rest counted.
type responseSet struct {
	list     []response
	index    map[[10]byte]int32
	first    map[uint32]int32 // first response per address
	max      int
	unlisted int
}

func newResponseSet(maxEntries int) *responseSet {
	return &responseSet{index: map[[10]byte]int32{}, first: map[uint32]int32{}, max: maxEntries}
}

// add records a reply from ip; it returns the entry (nil when capped),
// whether it is new, and whether the bound was hit.
func (s *responseSet) add(ip uint32, p *craft.ARPFrame, at int64) (r *response, isNew, capped bool) {
	k := pairKey(ip, p.SHA)
	if j, ok := s.index[k]; ok {
		r = &s.list[j]
		r.count++
		noteMismatch(r, p)
		return r, false, false
	}
	if len(s.list) >= s.max {
		s.unlisted++
		return nil, false, true
	}
	s.list = append(s.list, newResponse(ip, p, -1, at))
	j := int32(len(s.list) - 1)
	s.index[k] = j
	if f, ok := s.first[ip]; ok {
		// Link after the first; order within an address does not matter.
		s.list[j].next = s.list[f].next
		s.list[f].next = j
	} else {
		s.first[ip] = j
	}
	return &s.list[j], true, false
}

// hosts turns the set into Hosts in address order, flagging conflicts.
func (s *responseSet) hosts(vendor func(net.HardwareAddr) string) []Host {
	ips := make([]uint32, 0, len(s.first))
	for ip := range s.first {
		ips = append(ips, ip)
	}
	slices.Sort(ips)
	out := make([]Host, 0, len(s.list))
	macs := make([]byte, 0, 18*len(s.list))
	for _, ip := range ips {
		start := len(out)
		for j := s.first[ip]; j >= 0; j = s.list[j].next {
			out = append(out, s.list[j].host(vendor, &macs))
		}
		if len(out)-start > 1 {
			for k := start; k < len(out); k++ {
				out[k].Flags |= FlagConflict
			}
		}
	}
	return out
}

// timeout reports whether err says a deadline passed.
func timeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
