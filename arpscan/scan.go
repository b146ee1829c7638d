package arpscan

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Direction says whether a traced frame was sent or received.
type Direction uint8

// Directions of traced frames.
const (
	Sent     Direction = 1
	Received Direction = 2
)

// String returns "sent" or "received".
func (d Direction) String() string {
	switch d {
	case Sent:
		return "sent"
	case Received:
		return "received"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Defaults, as arp-scan(1) has them, and the adaptive floor.
const (
	DefaultRetry      = 2
	DefaultTimeout    = 500 * time.Millisecond
	DefaultBackoff    = 1.5
	DefaultMinTimeout = 10 * time.Millisecond
	DefaultBatch      = 64
)

// Config sets up a scan. The zero value of each field means the default
// named in its comment.
type Config struct {
	// SrcMAC is the Ethernet source; required (normally the interface's MAC).
	SrcMAC net.HardwareAddr
	// DstMAC is the Ethernet destination; nil means broadcast (--destaddr).
	DstMAC net.HardwareAddr
	// SenderMAC is the ARP sender hardware address; nil means SrcMAC (--arpsha).
	SenderMAC net.HardwareAddr
	// TargetMAC is the ARP target hardware address; nil means zeros (--arptha).
	TargetMAC net.HardwareAddr
	// SenderIP is the ARP sender protocol address; the zero Addr means
	// 0.0.0.0, an RFC 5227 probe (--arpspa).
	SenderIP netip.Addr
	// Tagged and VLAN add an 802.1Q tag with that VLAN ID (--vlan).
	Tagged bool
	VLAN   uint16

	// Rate is the request rate in frames/s; 0 means Bandwidth's rate, and
	// +Inf (RateMax) as fast as the link takes them.
	Rate float64
	// Bandwidth in bit/s, used when Rate is 0; 0 means DefaultBandwidth.
	Bandwidth float64
	// Batch is the most frames per send call; 0 means DefaultBatch.
	Batch int

	// Retry is the total number of tries per host; 0 means DefaultRetry.
	Retry int
	// Timeout is the wait after the first try; 0 means DefaultTimeout. In
	// the adaptive mode it is the ceiling and the wait before any RTT sample.
	Timeout time.Duration
	// Backoff multiplies the wait for each further try; 0 means DefaultBackoff.
	Backoff float64
	// Fixed turns the adaptive mode off: waits are Timeout*Backoff^(try-1)
	// as in arp-scan.
	Fixed bool
	// MinTimeout is the adaptive wait's floor; 0 means DefaultMinTimeout.
	MinTimeout time.Duration

	// Limit stops the scan once that many targets answered; 0 means none.
	Limit int
	// Vendor names a MAC's vendor in the report; nil leaves Vendor empty.
	Vendor func(net.HardwareAddr) string
	// Trace, when set, sees every request sent and every frame received
	// (for --pcap), with the VLAN ID the kernel stripped from a received frame
	// (or -1). It runs on the sending and receiving goroutines.
	Trace func(d Direction, frame []byte, strippedVLAN int, t time.Time)
	// MaxUnexpected bounds the untargeted answers kept; 0 means 4096.
	MaxUnexpected int
	// MaxPending bounds the targets asked once and neither answered nor
	// given up yet (a window, as in TCP): beyond it the sender waits for
	// the receiver; 0 means DefaultMaxPending.
	MaxPending int
}

// DefaultMaxPending is the default Config.MaxPending: fewer replies than a
// 16 MiB socket buffer or receive ring holds.
const DefaultMaxPending = 8192

// maxSleep bounds one sleep of the sender, so that it re-reads the adaptive
// wait now and then even without a wake-up.
const maxSleep = 50 * time.Millisecond

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
	if c.Retry <= 0 {
		c.Retry = DefaultRetry
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Backoff <= 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MinTimeout <= 0 {
		c.MinTimeout = min(DefaultMinTimeout, c.Timeout)
	}
	if c.MaxUnexpected <= 0 {
		c.MaxUnexpected = 4096
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	return c
}

// Validate reports a configuration that cannot be scanned with.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case len(c.SrcMAC) != 6:
		return errors.New("arpscan: source MAC must be 6 bytes")
	case c.DstMAC != nil && len(c.DstMAC) != 6, c.SenderMAC != nil && len(c.SenderMAC) != 6,
		c.TargetMAC != nil && len(c.TargetMAC) != 6:
		return errors.New("arpscan: hardware addresses must be 6 bytes")
	case c.SenderIP.IsValid() && !c.SenderIP.Is4():
		return fmt.Errorf("arpscan: sender address %s is not IPv4", c.SenderIP)
	case c.VLAN > 4095:
		return fmt.Errorf("arpscan: VLAN ID %d is not in 0-4095", c.VLAN)
	case c.Rate < 0 || math.IsNaN(c.Rate):
		return fmt.Errorf("arpscan: rate %v is not positive", c.Rate)
	case c.Bandwidth < 0:
		return fmt.Errorf("arpscan: bandwidth %v is not positive", c.Bandwidth)
	case c.Retry > 255:
		return fmt.Errorf("arpscan: %d tries is more than 255", c.Retry)
	case c.Backoff < 1:
		return fmt.Errorf("arpscan: backoff %v is below 1", c.Backoff)
	}
	return nil
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

// Target states, kept in the low byte of Scanner.state; the next byte counts
// the tries.
const (
	stLive      = 0
	stAnswered  = 1
	stExhausted = 2
)

// Scanner runs one scan. Make it with NewScanner, then call Run once.
type Scanner struct {
	conn Conn
	t    *Targets
	cfg  Config

	tmpl   []byte
	tpaOff int

	state    []atomic.Uint32 // status | tries<<8
	lastSend []atomic.Int64  // unix ns of the latest request
	queues   []ring          // queues[k]: sent k times, waiting; k = 1..Retry

	live     atomic.Int64
	answered atomic.Int64
	sent     atomic.Int64
	srtt     atomic.Int64
	rttvar   atomic.Int64
	wake     chan struct{}
	stopping atomic.Bool

	// owned by the receiver until it ends
	resp       []response
	head       []int32
	unexpected *responseSet
	received   int
	ignored    int
	readErr    error
	est        rttEstimator
}

// ring is a FIFO of target indexes with a fixed capacity.
type ring struct {
	buf        []int32
	head, size int
}

func (r *ring) push(x int32) {
	if r.buf == nil {
		panic("arpscan: push on an unallocated ring")
	}
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
	var p Packet
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
	if cfg.SenderIP.IsValid() {
		p.SPA = cfg.SenderIP.As4()
	}
	p.VLAN = -1
	if cfg.Tagged {
		p.VLAN = int(cfg.VLAN)
	}
	p.Op = opRequest
	s.tmpl = AppendFrame(nil, &p)
	s.tpaOff = tpaOffset(p.VLAN)

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
	s.unexpected = newResponseSet(cfg.MaxUnexpected)
	s.live.Store(int64(n))
	return s, nil
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

// base returns the wait after a first try: the adaptive estimate, or the
// fixed Timeout.
func (s *Scanner) base() time.Duration {
	if s.cfg.Fixed {
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
// partial report and ctx's error).
func (s *Scanner) Run(ctx context.Context) (*Report, error) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.receive()
	}()
	start := time.Now()
	err := s.send(ctx)
	s.stopping.Store(true)
	if derr := s.conn.SetReadDeadline(time.Unix(1, 0)); derr != nil && err == nil {
		err = fmt.Errorf("arpscan: stop reader: %w", derr)
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err == nil && s.readErr != nil {
		err = s.readErr
	}
	r := s.report(elapsed)
	if st, ok := s.conn.(interface {
		Stats() (received, dropped uint64, err error)
	}); ok {
		if _, drops, serr := st.Stats(); serr == nil {
			r.Dropped = int(drops)
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
	next := 0 // next fresh target in send order
	writeDone := false
	for {
		if s.live.Load() == 0 || s.limitReached() {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("arpscan: scan: %w", err)
		}
		now = time.Now().UnixNano()
		base := int64(s.base())
		// Give up on hosts whose last wait has passed.
		last := &s.queues[cfg.Retry]
		for last.size > 0 {
			i := last.peek()
			st := s.state[i].Load()
			if st&0xff == stLive && s.lastSend[i].Load()+tryWait(base, cfg.Backoff, cfg.Retry) > now {
				break
			}
			last.pop()
			// A failed swap means the answer came meanwhile: nothing to do.
			if st&0xff == stLive && s.state[i].CompareAndSwap(st, st&^0xff|stExhausted) {
				s.live.Add(-1)
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
		// Flow control: at most MaxPending targets sent once and neither
		// answered nor given up, so that a reader falling behind (a busy
		// machine) is waited for instead of overrunning its buffer.
		room := cfg.MaxPending - (next - (n - int(s.live.Load())))
		windowFull := room <= 0
		for next < n && len(idx) < allowed && room > 0 {
			room--
			i := int32(s.t.at(next))
			next++
			idx = append(idx, i)
		}
		if unused := allowed - len(idx); unused > 0 && !math.IsInf(b.rate, 1) {
			b.tokens += float64(unused)
		}
		if len(idx) > 0 {
			sentN, err := s.sendBatch(frames, idx)
			if sentN < len(idx) {
				carry = append(carry[:0], idx[sentN:]...)
			}
			if err != nil {
				return err
			}
			continue
		}

		// Every target has had its last try: the send side can go now,
		// while the last waits run (releasing a packet socket takes an RCU
		// grace period).
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
			// Nothing to send and nothing queued while targets are live
			// cannot happen; guard against a spin anyway.
			wait = time.Millisecond
		}
		if wait <= 0 {
			continue
		}
		// Re-check at least every maxSleep: the adaptive wait may shrink.
		timer.Reset(min(wait, maxSleep))
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

// sendBatch patches each frame's target address, sends them in one call and
// records the tries. It allocates nothing.
func (s *Scanner) sendBatch(frames [][]byte, idx []int32) (int, error) {
	fs := frames[:len(idx)]
	for j, i := range idx {
		binary.BigEndian.PutUint32(fs[j][s.tpaOff:], s.t.addrs[i])
	}
	t := time.Now()
	now := t.UnixNano()
	// Count the try before sending: on a veth the reply can be handled
	// before the send call returns.
	for _, i := range idx {
		s.lastSend[i].Store(now)
		s.state[i].Add(1 << 8)
	}
	n, err := s.conn.WriteFrames(fs)
	for j, i := range idx {
		if j >= n {
			s.state[i].Add(^uint32(1<<8 - 1)) // not sent: take the try back
			continue
		}
		tries := min(int(s.state[i].Load()>>8), s.cfg.Retry)
		if s.cfg.Trace != nil {
			s.cfg.Trace(Sent, fs[j], -1, t)
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
func (s *Scanner) receive() {
	const batch = 64
	msgs := make([]Msg, batch)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 128)
	}
	var p Packet
	for {
		n, err := s.conn.ReadFrames(msgs)
		for j := 0; j < n; j++ {
			s.handle(&msgs[j], &p)
		}
		if err != nil {
			if s.stopping.Load() {
				return
			}
			if timeout(err) {
				continue
			}
			s.readErr = fmt.Errorf("arpscan: receive: %w", err)
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

// handle decodes one received frame and records it. It allocates nothing
// for targeted replies from a MAC already recorded or new within capacity.
func (s *Scanner) handle(m *Msg, p *Packet) {
	frame := m.Buf[:m.N]
	at := m.Time
	if at.IsZero() {
		at = time.Now()
	}
	if s.cfg.Trace != nil {
		s.cfg.Trace(Received, frame, m.VLAN, at)
	}
	s.received++
	if DecodeFrame(frame, p) != nil {
		s.ignored++
		return
	}
	if p.VLAN < 0 && m.VLAN >= 0 {
		p.VLAN = m.VLAN
	}
	if p.Op != opReply {
		return
	}
	ip := binary.BigEndian.Uint32(p.SPA[:])
	i := s.t.index(ip)
	atNS := at.UnixNano()
	if i < 0 {
		s.unexpected.add(ip, p, atNS, 0)
		return
	}
	rtt := atNS - s.lastSend[i].Load()
	last := int32(-1)
	for j := s.head[i]; j >= 0; j = s.resp[j].next {
		if s.resp[j].mac == p.SHA {
			s.resp[j].count++
			noteMismatch(&s.resp[j], p)
			return
		}
		last = j
	}
	s.resp = append(s.resp, response{ip: ip, mac: p.SHA, vlan: int16(p.VLAN), count: 1, next: -1, rtt: rtt, seen: atNS})
	r := int32(len(s.resp) - 1)
	noteMismatch(&s.resp[r], p)
	if last >= 0 {
		s.resp[last].next = r
		return
	}
	s.head[i] = r
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
			if st>>8 == 1 { // Karn: only unambiguous samples
				// The wait must cover the time until the sender can know of
				// the answer, so the sample is taken now, not at the
				// kernel's arrival timestamp: a reader lagging behind a
				// busy machine or a ring block not yet handed over
				// lengthens it, and no retry goes out for an answer
				// already queued.
				before := s.est.rto(s.cfg.MinTimeout, s.cfg.Timeout)
				s.est.add(time.Now().UnixNano() - s.lastSend[i].Load())
				s.srtt.Store(s.est.srtt)
				s.rttvar.Store(s.est.rttvar)
				if after := s.est.rto(s.cfg.MinTimeout, s.cfg.Timeout); after < before*9/10 {
					s.signal() // the sender may sleep on a longer wait
				}
			}
			if s.live.Add(-1) == 0 || s.limitReached() {
				s.signal()
			}
			break
		}
	}
}

// report assembles the results once the receiver has ended.
func (s *Scanner) report(elapsed time.Duration) *Report {
	r := &Report{Targets: s.t.Len(), Sent: int(s.sent.Load()), Responded: int(s.answered.Load()), Elapsed: elapsed,
		Received: s.received, Ignored: s.ignored, Hosts: make([]Host, 0, len(s.resp))}
	macs := make([]byte, 0, 6*len(s.resp))
	for i := range s.head {
		start := len(r.Hosts)
		requests := int(s.state[i].Load() >> 8)
		for j := s.head[i]; j >= 0; j = s.resp[j].next {
			resp := &s.resp[j]
			h := resp.host(s.cfg.Vendor, &macs)
			h.Requests = requests
			if int(resp.count) > max(requests, 1) {
				h.Flags |= FlagDup
			}
			r.Hosts = append(r.Hosts, h)
		}
		if len(r.Hosts)-start > 1 {
			for k := start; k < len(r.Hosts); k++ {
				r.Hosts[k].Flags |= FlagConflict
			}
		}
	}
	r.Unexpected = s.unexpected.hosts(s.cfg.Vendor, func(x *response) bool { return false })
	return r
}
