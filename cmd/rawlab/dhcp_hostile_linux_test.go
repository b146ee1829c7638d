package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/internal/jsoncheck"
	"github.com/rawlab/rawlab/internal/netnstest"
)

// fakeDHCP is a DHCP server written with craft: it reads requests on a
// packet socket in its namespace and answers each with what serve returns.
type fakeDHCP struct {
	mac  net.HardwareAddr
	ip   netip.Addr
	mu   sync.Mutex
	seen []*dhcpv4.DHCPv4 // requests received
}

// startFakeDHCP runs serve for every DHCP request that reaches eth0 of ns
// until the test ends.
func startFakeDHCP(t *testing.T, ns *netnstest.NS, serve func(s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte) *fakeDHCP {
	t.Helper()
	s := &fakeDHCP{mac: ns.HardwareAddr(t, "eth0"), ip: netip.MustParseAddr("198.18.0.1")}
	var conn *capture.Conn
	if err := ns.Do(func() (err error) {
		conn, err = capture.Listen("eth0", capture.Config{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-done
		conn.Close()
	})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, info, err := conn.ReadFrame(ctx, buf)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				continue
			}
			p, err := craft.DecodeDHCP(buf[:n])
			if err != nil || info.Dir == capture.Outbound || p.UDP.DstPort != craft.DHCPServerPort {
				continue
			}
			s.mu.Lock()
			s.seen = append(s.seen, p.Msg)
			s.mu.Unlock()
			frames := serve(s, p.Msg)
			for len(frames) > 0 {
				k, err := conn.WriteFrames(ctx, frames)
				if err != nil {
					break
				}
				frames = frames[k:]
			}
		}
	}()
	return s
}

func (s *fakeDHCP) requests() []*dhcpv4.DHCPv4 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*dhcpv4.DHCPv4(nil), s.seen...)
}

// replyTo builds the OFFER or ACK to req for yiaddr, from srcIP/srcMAC
// (the server's unless a rogue forges them), with a /24 mask, a router, a
// 1 h lease and option 54 = 198.18.0.1, then mods.
func (s *fakeDHCP) replyTo(t *testing.T, req *dhcpv4.DHCPv4, yiaddr string, srcIP netip.Addr, srcMAC net.HardwareAddr, mods ...dhcpv4.Modifier) []byte {
	t.Helper()
	typ := dhcpv4.MessageTypeOffer
	if req.MessageType() == dhcpv4.MessageTypeRequest {
		typ = dhcpv4.MessageTypeAck
	}
	base := []dhcpv4.Modifier{dhcpv4.WithMessageType(typ), dhcpv4.WithYourIP(net.ParseIP(yiaddr)),
		dhcpv4.WithServerIP(net.IP(s.ip.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IP(s.ip.AsSlice()))),
		dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(24, 32))),
		dhcpv4.WithOption(dhcpv4.OptRouter(net.IP(s.ip.AsSlice()))),
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(time.Hour))}
	m, err := dhcpv4.NewReplyFromRequest(req, append(base, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	f, err := craft.EncodeDHCP(m, craft.ServerReply(m, srcMAC, srcIP))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (s *fakeDHCP) reply(t *testing.T, req *dhcpv4.DHCPv4, yiaddr string, mods ...dhcpv4.Modifier) []byte {
	return s.replyTo(t, req, yiaddr, s.ip, s.mac, mods...)
}

// rewrite re-frames f with its BOOTP message changed by edit and fresh
// checksums.
func rewrite(t *testing.T, f []byte, edit func(msg []byte) []byte) []byte {
	t.Helper()
	var p craft.Packet
	if err := craft.DecodePacket(f, &p); err != nil || p.Layers&craft.LayerUDP == 0 {
		t.Fatalf("rewrite: %v", err)
	}
	return craft.AppendUDP(nil, p.Eth, p.IPv4, p.UDP, edit(append([]byte(nil), p.Payload...)))
}

// endAt returns the offset of the End option in a BOOTP message.
func endAt(t *testing.T, msg []byte) int {
	t.Helper()
	for i := 240; i < len(msg); {
		switch msg[i] {
		case 255:
			return i
		case 0:
			i++
		default:
			i += 2 + int(msg[i+1])
		}
	}
	t.Fatal("no End option")
	return 0
}

func opt(code uint8, v []byte) dhcpv4.Modifier {
	return func(m *dhcpv4.DHCPv4) { m.Options[code] = v }
}

type hostileJSON struct {
	Lease struct {
		Address   string   `json:"address"`
		Mask      string   `json:"mask"`
		Routers   []string `json:"routers"`
		Domain    string   `json:"domain"`
		LeaseTime int      `json:"lease_time_s"`
		T1        int      `json:"t1_s"`
		T2        int      `json:"t2_s"`
		Defaulted bool     `json:"lease_time_defaulted"`
		Warnings  []string `json:"warnings"`
		Server    string   `json:"server"`
	} `json:"lease"`
	Report struct {
		Stats struct {
			Received int            `json:"received"`
			Dropped  int            `json:"dropped"`
			Ignored  map[string]int `json:"ignored"`
		} `json:"stats"`
		Offers []struct {
			SName string `json:"sname"`
			File  string `json:"file"`
		} `json:"offers"`
	} `json:"report"`
}

// TestDHCPHostileServer runs `rawlab dhcp lease` against a fake server that
// sends one hostile reply per case, and checks both the text output (what a
// person sees) and the JSON (exact values).
func TestDHCPHostileServer(t *testing.T) {
	netnstest.Require(t)
	const escDomain = "evil\x1b]0;pwned\x07\x1b[2J\nLease 6.6.6.6/8"
	rogueIP, rogueMAC := netip.MustParseAddr("198.18.0.66"), net.HardwareAddr{2, 0, 0, 0, 0, 0x66}
	tests := []struct {
		name     string
		args     []string
		discover bool // also run discover, which shows sname and file
		serve    func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte
		code     int
		stderr   string   // in stderr
		text     []string // in the text output
		check    func(t *testing.T, s *fakeDHCP, j hostileJSON, text string)
	}{{
		name: "overload",
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			// Only 53, 54 and 52 in the options field; mask, router and
			// lease time in file, a DNS server in sname (RFC 2132 §9.3).
			typ := dhcpv4.MessageTypeOffer
			if req.MessageType() == dhcpv4.MessageTypeRequest {
				typ = dhcpv4.MessageTypeAck
			}
			m, _ := dhcpv4.NewReplyFromRequest(req, dhcpv4.WithMessageType(typ), dhcpv4.WithYourIP(net.ParseIP("198.18.0.100")),
				dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IP(s.ip.AsSlice()))), opt(52, []byte{3}))
			f, err := craft.EncodeDHCP(m, craft.ServerReply(m, s.mac, s.ip))
			if err != nil {
				t.Fatal(err)
			}
			return [][]byte{rewrite(t, f, func(b []byte) []byte {
				copy(b[108:], []byte{1, 4, 255, 255, 255, 0, 3, 4, 198, 18, 0, 1, 51, 4, 0, 0, 0x0e, 0x10, 255})
				copy(b[44:], []byte{6, 4, 198, 18, 0, 53, 255})
				return b
			})}
		},
		text: []string{"Lease 198.18.0.100/24", "router     198.18.0.1", "dns        198.18.0.53", "lease      1h (3600 s)"},
		check: func(t *testing.T, s *fakeDHCP, j hostileJSON, text string) {
			if j.Lease.Mask != "255.255.255.0" || j.Lease.LeaseTime != 3600 || j.Lease.Defaulted {
				t.Errorf("lease %+v", j.Lease)
			}
		},
	}, {
		name:     "escapes",
		discover: true,
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			return [][]byte{s.reply(t, req, "198.18.0.100", dhcpv4.WithOption(dhcpv4.OptDomainName(escDomain)),
				opt(12, []byte("host\x1b[31m")), opt(56, []byte("msg\r\nfake")), opt(60, []byte("vendor\x9b2J")),
				opt(66, []byte("tftp\x1b[H")), opt(67, []byte("boot\nfile")),
				func(m *dhcpv4.DHCPv4) { m.ServerHostName, m.BootFileName = "sname\x1b[2J", "file\r\u202egnp.exe" })}
		},
		check: func(t *testing.T, s *fakeDHCP, j hostileJSON, text string) {
			if strings.ContainsAny(text, "\x1b\x07\r\x9b\u202e") {
				t.Errorf("control characters reach the terminal:\n%q", text)
			}
			for _, line := range strings.Split(text, "\n") {
				if strings.HasPrefix(line, "Lease 6.6.6.6") {
					t.Errorf("forged line printed: %q", line)
				}
			}
			if j.Lease.Domain != escDomain {
				t.Errorf("JSON domain %q, want %q exactly", j.Lease.Domain, escDomain)
			}
		},
	}, {
		name: "rogue copies option 54",
		args: []string{"--expect-server", "198.18.0.1"},
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			// The rogue answers first, forging the real server identifier.
			return [][]byte{s.replyTo(t, req, "198.18.0.166", rogueIP, rogueMAC), s.reply(t, req, "198.18.0.100")}
		},
		text: []string{"Lease 198.18.0.100/24", "ignored (rogue server)"},
		check: func(t *testing.T, s *fakeDHCP, j hostileJSON, text string) {
			for _, r := range s.requests() {
				if r.MessageType() == dhcpv4.MessageTypeRequest && r.RequestedIPAddress().String() != "198.18.0.100" {
					t.Errorf("requested %s: the rogue's offer", r.RequestedIPAddress())
				}
			}
			if j.Report.Stats.Ignored["rogue"] == 0 {
				t.Errorf("no rogue counted: %+v", j.Report.Stats)
			}
		},
	}, {
		name: "only a rogue answers",
		args: []string{"--expect-server", "198.18.0.1", "--timeout", "300ms", "--retries", "1"},
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			return [][]byte{s.replyTo(t, req, "198.18.0.166", rogueIP, rogueMAC)}
		},
		code: 3,
		check: func(t *testing.T, s *fakeDHCP, j hostileJSON, text string) {
			for _, r := range s.requests() {
				if r.MessageType() == dhcpv4.MessageTypeRequest {
					t.Errorf("a DHCPREQUEST went out for %s", r.RequestedIPAddress())
				}
			}
		},
	}, {
		name: "inconsistent T1 T2",
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			return [][]byte{s.reply(t, req, "198.18.0.100", dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(600*time.Second)),
				dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(700*time.Second)), dhcpv4.WithOption(dhcpv4.OptRebindingTimeValue(650*time.Second)))}
		},
		text: []string{"T1 renew   5m", "T2 rebind  8m45s", "WARNING", "inconsistent"},
		check: func(t *testing.T, s *fakeDHCP, j hostileJSON, text string) {
			if j.Lease.T1 != 300 || j.Lease.T2 != 525 || len(j.Lease.Warnings) == 0 {
				t.Errorf("T1 %d T2 %d warnings %q, want 300, 525 and a warning", j.Lease.T1, j.Lease.T2, j.Lease.Warnings)
			}
		},
	}, {
		name: "bad checksum then good reply",
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			bad := s.reply(t, req, "198.18.0.101")
			if err := craft.SetTransportChecksum(bad, 0x1234); err != nil {
				t.Fatal(err)
			}
			badIP := s.reply(t, req, "198.18.0.102")
			if err := craft.SetIPv4Checksum(badIP, 0x1234); err != nil {
				t.Fatal(err)
			}
			return [][]byte{bad, badIP, s.reply(t, req, "198.18.0.100")}
		},
		text: []string{"Lease 198.18.0.100/24", "ignored (bad checksum)"},
		check: func(t *testing.T, s *fakeDHCP, j hostileJSON, text string) {
			if j.Report.Stats.Ignored["bad_checksum"] < 2 {
				t.Errorf("bad checksums counted: %+v", j.Report.Stats.Ignored)
			}
		},
	}, {
		name: "no End option",
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			return [][]byte{rewrite(t, s.reply(t, req, "198.18.0.100"), func(b []byte) []byte {
				return b[:endAt(t, b)]
			})}
		},
		text: []string{"Lease 198.18.0.100/24", "no End option"},
	}, {
		name: "lease 0",
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			return [][]byte{s.reply(t, req, "198.18.0.100", dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(0)))}
		},
		text: []string{"lease      1h (3600 s) (DEFAULT", "WARNING", "lease time (option 51) is 0"},
		check: func(t *testing.T, s *fakeDHCP, j hostileJSON, text string) {
			if !j.Lease.Defaulted || j.Lease.LeaseTime != 3600 || j.Lease.T1 != 1800 {
				t.Errorf("lease %+v", j.Lease)
			}
		},
	}, {
		name: "lease 0 refused for --apply",
		args: []string{"--apply"},
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			return [][]byte{s.reply(t, req, "198.18.0.100", dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(0)))}
		},
		code:   1,
		stderr: "cannot be applied: the DHCPACK has no usable lease time",
	}, {
		name: "no lease time",
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			return [][]byte{s.reply(t, req, "198.18.0.100", func(m *dhcpv4.DHCPv4) { m.Options.Del(dhcpv4.OptionIPAddressLeaseTime) })}
		},
		text: []string{"(DEFAULT", "no usable lease time"},
	}, {
		name: "duplicated option 53 and broadcast yiaddr",
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			dup := rewrite(t, s.reply(t, req, "198.18.0.101"), func(b []byte) []byte {
				e := endAt(t, b)
				return append(append(b[:e:e], 53, 1, 5), 255)
			})
			return [][]byte{dup, s.reply(t, req, "198.18.0.255"), s.reply(t, req, "198.18.0.100")}
		},
		text: []string{"Lease 198.18.0.100/24", "ignored (malformed)", "option 53", "ignored (unusable yiaddr)", "broadcast address"},
		check: func(t *testing.T, s *fakeDHCP, j hostileJSON, text string) {
			if strings.Contains(text, "BOOTP") {
				t.Errorf("a duplicated option 53 is called BOOTP:\n%s", text)
			}
		},
	}, {
		name: "malformed mask and router",
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			return [][]byte{s.reply(t, req, "198.18.0.100", opt(1, []byte{255, 255, 255}), opt(3, []byte{198, 18, 0, 1, 9}))}
		},
		text: []string{"Lease 198.18.0.100/32", "mask       MALFORMED", "router     MALFORMED", "option 1 (Subnet Mask) malformed"},
	}, {
		name: "flood of other transactions",
		args: []string{"--timeout", "1s", "--retries", "1"},
		serve: func(t *testing.T, s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte {
			// The first DHCPDISCOVER gets only a flood; the second an offer.
			if len(s.requests())%3 != 1 {
				return [][]byte{s.reply(t, req, "198.18.0.100")}
			}
			var out [][]byte
			for i := range 3000 {
				out = append(out, s.reply(t, req, "198.18.0.101", func(m *dhcpv4.DHCPv4) { m.TransactionID[0] ^= byte(1 + i%255) }))
			}
			return out
		},
		text: []string{"Lease 198.18.0.100/24", "dropped by the kernel"},
		check: func(t *testing.T, s *fakeDHCP, j hostileJSON, text string) {
			st := j.Report.Stats
			if got := st.Ignored["wrong_xid"] + st.Dropped; got != 3000 {
				t.Errorf("%d ignored for their xid + %d dropped by the kernel = %d, want the 3000 sent", st.Ignored["wrong_xid"], st.Dropped, got)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, cli := netnstest.Pair(t, "dhcphs", "198.18.0.1/24", "")
			s := startFakeDHCP(t, srv, func(s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte { return tt.serve(t, s, req) })
			base := []string{"dhcp", "lease", "-i", "eth0", "--no-arp-check", "--timeout", "2s", "--retries", "0"}
			args := append(base, tt.args...)
			if tt.discover {
				code, out, stderr := rawlabIn(t, cli, "dhcp", "discover", "-i", "eth0", "--timeout", "2s", "--retries", "0")
				if code != 0 || strings.ContainsAny(out, "\x1b\x07\r\x9b\u202e") || !strings.Contains(out, `"sname\x1b[2J"`) {
					t.Errorf("discover: exit %d, output not escaped:\n%q\n%s", code, out, stderr)
				}
			}
			code, text, stderr := rawlabIn(t, cli, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tt.code, text, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q: %q", tt.stderr, stderr)
			}
			if a := cli.Exec(t, "ip", "-4", "addr", "show", "dev", "eth0"); strings.Contains(a, "inet ") {
				t.Errorf("an address was configured:\n%s", a)
			}
			for _, w := range tt.text {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			if tt.check == nil {
				return
			}
			code, out, stderr := rawlabIn(t, cli, append(args, "--json")...)
			var j hostileJSON
			if err := json.Unmarshal([]byte(out), &j); code != tt.code || err != nil {
				t.Fatalf("--json: exit %d, %v\n%s\n%s", code, errors.Join(err), out, stderr)
			}
			if err := jsoncheck.Document([]byte(out)); err != nil {
				t.Errorf("--json breaks docs/json.md: %v", err)
			}
			tt.check(t, s, j, text)
		})
	}
}

// TestDHCPOptionAndLog checks that --option 53 changes the message type
// sent and the transcript says so, and that -v logs each step.
func TestDHCPOptionAndLog(t *testing.T) {
	netnstest.Require(t)
	srv, cli := netnstest.Pair(t, "dhcpol", "198.18.0.1/24", "")
	s := startFakeDHCP(t, srv, func(s *fakeDHCP, req *dhcpv4.DHCPv4) [][]byte { return [][]byte{s.reply(t, req, "198.18.0.100")} })
	code, out, stderr := rawlabIn(t, cli, "dhcp", "discover", "-i", "eth0", "--timeout", "500ms", "--retries", "0", "--option", "53=3")
	reqs := s.requests()
	if code != 1 || len(reqs) == 0 || reqs[0].MessageType() != dhcpv4.MessageTypeRequest ||
		!strings.Contains(out, "-> DHCPREQUEST (init)") || !strings.Contains(out, "ignored (not an offer): DHCPACK") {
		t.Errorf("discover --option 53=3: exit %d, server saw %v\n%s\n%s", code, reqs, out, stderr)
	}
	code, out, stderr = rawlabIn(t, cli, "-v", "dhcp", "lease", "-i", "eth0", "--no-arp-check", "--timeout", "1s")
	if code != 0 || !strings.Contains(stderr, "level=INFO") || !strings.Contains(stderr, "DHCPDISCOVER (init)") ||
		!strings.Contains(stderr, "DHCPACK") {
		t.Errorf("-v lease: exit %d, stderr logs no steps:\n%s\n%s", code, stderr, out)
	}
}
