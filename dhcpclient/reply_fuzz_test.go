package dhcpclient

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/dhcpopt"
)

// hostileSeeds are replies a hostile server might send: options in sname
// and file (option 52), no End, a duplicated option 53, control characters.
func hostileSeeds(t testing.TB) [][]byte {
	srv := newFakeServer()
	req, err := dhcpv4.NewDiscovery(clientMAC)
	if err != nil {
		t.Fatal(err)
	}
	plain := srv.reply(t, req, dhcpv4.MessageTypeAck, srv.pool[0])
	reframe := func(edit func(b []byte) []byte) []byte {
		var p craft.Packet
		if err := craft.DecodePacket(plain, &p); err != nil {
			t.Fatal(err)
		}
		return craft.AppendUDP(nil, p.Eth, p.IPv4, p.UDP, edit(bytes.Clone(p.Payload)))
	}
	overload := reframe(func(b []byte) []byte {
		b = append(b[:240], 53, 1, 5, 52, 1, 3, 255)
		copy(b[108:], []byte{1, 4, 255, 255, 255, 0, 51, 4, 0, 0, 0, 0, 255})
		copy(b[44:], []byte{15, 5, 'e', 0x1b, '[', '2', 'J', 58, 4, 0, 0, 1, 0})
		return b
	})
	noEnd := reframe(func(b []byte) []byte { return append(b[:240], 53, 1, 5, 51, 4, 0, 0, 0, 0) })
	dup53 := reframe(func(b []byte) []byte { return append(b[:240], 53, 1, 5, 53, 1, 2, 255) })
	return [][]byte{plain, overload, noEnd, dup53}
}

// FuzzReplyPath runs the whole reply path on arbitrary frames: decodeReply
// (checksums, option overload, End) accepts or rejects; an accepted ACK
// with a usable yiaddr becomes a Lease whose times are consistent (RFC 2131
// §4.4.5), whose JSON round-trips, and whose text output carries no
// control character from the wire.
func FuzzReplyPath(f *testing.F) {
	for _, s := range hostileSeeds(f) {
		f.Add(s, false)
	}
	for _, frame := range testFrames(f) {
		f.Add(frame, true)
	}
	for _, g := range goldenServers {
		for _, rec := range readGolden(f, g.name) {
			f.Add(rec.Data, true)
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte, partial bool) {
		csum := capture.ChecksumUnknown
		if partial {
			csum = capture.ChecksumPartial
		}
		w, err := decodeReply(frame, csum)
		if err != nil {
			return
		}
		// What was accepted decodes again from the message it kept.
		m2, _, err := parseBOOTP(bytes.Clone(w.raw))
		if err != nil || len(m2.Options) != len(w.msg.Options) {
			t.Fatalf("accepted message does not decode again: %v", err)
		}
		r := &reply{pkt: w, msg: w.msg, typ: w.msg.MessageType(), at: time.Now(), server: w.ip.Src}
		hw := w.msg.ClientHWAddr
		if len(hw) != 6 || macProblem(hw) != "" {
			hw = clientMAC
		}
		c, err := New(newFakeLink(nil), Config{HWAddr: hw})
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		WriteReply(&text, c.newReply(r, r.at))
		if yiaddrProblem(r) == "" {
			l := c.leaseFrom(r, nil)
			if l.LeaseTime <= 0 || !l.Infinite() && !(l.T1 > 0 && l.T1 < l.T2 && l.T2 < l.LeaseTime) {
				t.Fatalf("lease time %s, T1 %s, T2 %s", l.LeaseTime, l.T1, l.T2)
			}
			b, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			var back Lease
			if err := json.Unmarshal(b, &back); err != nil || back.Address != l.Address ||
				back.LeaseTime != l.LeaseTime.Truncate(time.Second) ||
				utf8.ValidString(l.Domain) && back.Domain != l.Domain { // JSON cannot carry invalid UTF-8; "raw" keeps the bytes
				t.Fatalf("lease JSON does not round-trip: %v\n%s", err, b)
			}
			WriteLease(&text, l)
		}
		out := text.String()
		if !utf8.ValidString(out) {
			t.Fatalf("text output is not UTF-8: %q", out)
		}
		for _, r := range out {
			if r != '\n' && !unicode.IsPrint(r) {
				t.Fatalf("text output carries %U: %q", r, out)
			}
		}
	})
}

// TestDomainSearchLoop checks that an option 119 whose compression pointer
// leads back into the name is reported as a loop.
func TestDomainSearchLoop(t *testing.T) {
	for _, data := range [][]byte{
		{0xc0, 0x00},                // points at itself
		{3, 'a', 'b', 'c', 0xc0, 0}, // back to the start of its own name
	} {
		o := dhcpopt.Decode(dhcpopt.DomainSearch, data)
		if !strings.Contains(o.Err, "loop") {
			t.Errorf("option 119 % x: error %q, want a loop named", data, o.Err)
		}
	}
}

// TestUnicastAddr checks the yiaddrs a client refuses (RFC 1122
// §3.2.1.3): the subnet's network and broadcast addresses among them.
func TestUnicastAddr(t *testing.T) {
	p24 := netip.MustParsePrefix("198.18.0.0/24")
	for a, ok := range map[string]bool{
		"198.18.0.100": true, "198.18.0.0": false, "198.18.0.255": false, "0.0.0.0": false,
		"255.255.255.255": false, "224.0.0.1": false, "127.0.0.1": false, "240.0.0.1": false,
	} {
		if got := unicastAddr(netip.MustParseAddr(a), p24) == ""; got != ok {
			t.Errorf("%s in %s: usable %v, want %v", a, p24, got, ok)
		}
	}
	// A /31 has no network or broadcast address (RFC 3021).
	if why := unicastAddr(netip.MustParseAddr("198.18.0.0"), netip.MustParsePrefix("198.18.0.0/31")); why != "" {
		t.Errorf("198.18.0.0/31 refused: %s", why)
	}
}
