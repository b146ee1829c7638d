package arpscan

import (
	"context"
	"errors"
	"github.com/rawlab/rawlab/craft"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func arpFrame(op craft.ARPOp, ethSrc, sha [6]byte, spa [4]byte, tpa [4]byte) []byte {
	return AppendFrame(nil, &Packet{EthDst: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthSrc: ethSrc, Op: op,
		SHA: sha, SPA: spa, TPA: tpa})
}

func TestWatch(t *testing.T) {
	a, b, c := macN(1), macN(2), macN(3)
	ipA, ipB, ipX := [4]byte{198, 18, 0, 1}, [4]byte{198, 18, 0, 2}, [4]byte{198, 18, 0, 9}
	conn := newFakeConn()
	conn.inject(
		arpFrame(opRequest, a, a, ipA, ipB),       // A asks for B
		arpFrame(opReply, b, b, ipB, ipA),         // B answers A...
		arpFrame(opReply, b, b, ipB, ipA),         // ...twice at once: DUP
		arpFrame(opRequest, c, c, [4]byte{}, ipX), // an RFC 5227 probe names no host
		arpFrame(opReply, c, c, ipX, ipA),         // C claims X...
		arpFrame(opReply, a, c, ipX, ipB),         // ...to B, behind Ethernet source a: MISMATCH
		arpFrame(opRequest, b, macN(4), ipX, ipA), // MAC 4 also claims X: CONFLICT
		[]byte{1, 2, 3},                           // garbage is counted, not fatal
	)
	r, err := Watch(context.Background(), conn, PassiveConfig{Duration: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := []summary{
		{IP: "198.18.0.1", MAC: "02:aa:00:00:00:01", Replies: 1},
		{IP: "198.18.0.2", MAC: "02:aa:00:00:00:02", Flags: "DUP", Replies: 2},
		{IP: "198.18.0.9", MAC: "02:aa:00:00:00:03", EthSrc: "02:aa:00:00:00:01", Flags: "CONFLICT,MISMATCH", Replies: 2},
		{IP: "198.18.0.9", MAC: "02:aa:00:00:00:04", EthSrc: "02:aa:00:00:00:02", Flags: "CONFLICT,MISMATCH", Replies: 1},
	}
	if diff := cmp.Diff(want, summarize(r.Hosts)); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	if r.Received != 8 || r.Ignored != 1 || r.Responded != 3 {
		t.Errorf("received %d ignored %d responded %d, want 8, 1, 3", r.Received, r.Ignored, r.Responded)
	}
	if len(conn.sent) != 0 {
		t.Errorf("passive watch sent %d frames", len(conn.sent))
	}
}

func TestWatchCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	r, err := Watch(ctx, newFakeConn(), PassiveConfig{})
	if err != nil || !r.Interrupted {
		t.Errorf("Watch = %+v, %v; want an interrupted report and no error", r, err)
	}
}

func TestPing(t *testing.T) {
	t.Run("replies", func(t *testing.T) {
		c := newFakeConn()
		c.add("198.18.0.5", &fakeHost{mac: macN(5)})
		var got []PingReply
		res, err := Ping(context.Background(), c, PingConfig{Target: mustAddr("198.18.0.5"), SrcMAC: scannerMAC,
			SenderIP: mustAddr("198.18.0.1"), Count: 3, Interval: 5 * time.Millisecond, OnReply: func(r PingReply) { got = append(got, r) }})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 3 || res.Received != 3 || len(got) != 3 || len(res.MACs) != 1 {
			t.Errorf("result %+v, %d replies", res, len(got))
		}
		for i, r := range got {
			if r.Seq != i+1 || r.MAC.String() != "02:aa:00:00:00:05" || !r.Unicast || r.RTT < 0 {
				t.Errorf("reply %d: %+v", i, r)
			}
		}
	})
	t.Run("probe", func(t *testing.T) {
		c := newFakeConn()
		c.add("198.18.0.5", &fakeHost{mac: macN(5)})
		if _, err := Ping(context.Background(), c, PingConfig{Target: mustAddr("198.18.0.5"), SrcMAC: scannerMAC,
			SenderIP: mustAddr("198.18.0.1"), Probe: true, Count: 1}); err != nil {
			t.Fatal(err)
		}
		var p Packet
		if err := DecodeFrame(c.sent[0].frame, &p); err != nil || p.SPA != [4]byte{} || p.THA != [6]byte{} {
			t.Errorf("probe %+v (%v): want sender IP 0.0.0.0 and target MAC zero (RFC 5227 2.1.1)", p, err)
		}
	})
	t.Run("silence", func(t *testing.T) {
		start := time.Now()
		res, err := Ping(context.Background(), newFakeConn(), PingConfig{Target: mustAddr("198.18.0.6"), SrcMAC: scannerMAC,
			Count: 2, Interval: 10 * time.Millisecond, Timeout: 30 * time.Millisecond})
		if !errors.Is(err, ErrNoReply) || res.Sent != 2 {
			t.Errorf("Ping = %+v, %v; want 2 sent and ErrNoReply", res, err)
		}
		if d := time.Since(start); d < 40*time.Millisecond {
			t.Errorf("gave up after %v, before interval + timeout", d)
		}
	})
}
