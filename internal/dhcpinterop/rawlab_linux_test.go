package dhcpinterop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/internal/netnstest"
)

// leaseJSON is the part of `rawlab dhcp lease|renew --json` the tests read.
type leaseJSON struct {
	Lease struct {
		Address   string    `json:"address"`
		Mask      string    `json:"mask"`
		Routers   []string  `json:"routers"`
		DNS       []string  `json:"dns"`
		Domain    string    `json:"domain"`
		Search    []string  `json:"search"`
		Server    string    `json:"server"`
		LeaseTime int       `json:"lease_time_s"`
		T1        int       `json:"t1_s"`
		T2        int       `json:"t2_s"`
		Expires   time.Time `json:"expires_time"`
		Options   []struct {
			Code int    `json:"code"`
			Text string `json:"text"`
		} `json:"options"`
	} `json:"lease"`
	Report reportJSON `json:"report"`
}

type reportJSON struct {
	Steps []struct {
		Elapsed float64 `json:"elapsed_ms"`
		Dir     string  `json:"direction"`
		Text    string  `json:"text"`
	} `json:"exchange"`
	Stats struct {
		Sent     int `json:"sent"`
		Received int `json:"received"`
		Ignored  struct {
			XID    int `json:"wrong_xid"`
			CHAddr int `json:"wrong_chaddr"`
		} `json:"ignored"`
	} `json:"stats"`
	NAKs []struct {
		Server    string `json:"server"`
		Requested string `json:"requested"`
	} `json:"naks"`
	Offers []struct {
		Server  string `json:"server"`
		Address string `json:"yiaddr"`
	} `json:"offers"`
}

// rawlab runs the rawlab binary in the client namespace, bounded by timeout,
// and returns its stdout, stderr and exit status.
func (e *env) rawlab(t *testing.T, timeout time.Duration, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := e.client.Command(ctx, netnstest.Rawlab(t), args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("rawlab %s: still running after %v\n%s", strings.Join(args, " "), timeout, stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("rawlab %s: %v", strings.Join(args, " "), err)
	}
	code := 0
	if ee != nil {
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

// lease runs `rawlab dhcp lease` with args and decodes its JSON; it fails
// the test unless the lease was acquired.
func (e *env) lease(t *testing.T, timeout time.Duration, args ...string) leaseJSON {
	t.Helper()
	out, errOut, code := e.rawlab(t, timeout, append([]string{"dhcp", "lease", "-i", "rl0", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("dhcp lease: exit %d\n%s", code, errOut)
	}
	var l leaseJSON
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("dhcp lease --json: %v\n%s", err, out)
	}
	return l
}

// checkLease compares a lease with the server's configuration and lease database.
func (e *env) checkLease(t *testing.T, l leaseJSON) {
	t.Helper()
	type view struct {
		Mask, Server, Domain string
		Routers, DNS, Search []string
		LeaseTime, T1, T2    int
		Routes               string
	}
	got := view{Mask: l.Lease.Mask, Server: l.Lease.Server, Domain: l.Lease.Domain, Routers: l.Lease.Routers,
		DNS: l.Lease.DNS, Search: l.Lease.Search, LeaseTime: l.Lease.LeaseTime, T1: l.Lease.T1, T2: l.Lease.T2}
	for _, o := range l.Lease.Options {
		if o.Code == 121 {
			got.Routes = o.Text
		}
	}
	want := view{Mask: mask, Server: serverIP, Domain: domain, Routers: []string{serverIP}, DNS: []string{dnsIP},
		Search: []string{domain, "rawlab.test"}, LeaseTime: leaseSecs, T1: t1Secs, T2: t2Secs,
		Routes: "198.19.0.0/16 via " + serverIP + ", 0.0.0.0/0 via " + serverIP}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lease from %s (-want +got):\n%s", e.s.name, diff)
	}
	ip, exp := e.held(t)
	if ip != l.Lease.Address || !inPool(ip) {
		t.Errorf("rawlab leased %q; %s's database gives %s %q (pool %s-%s)", l.Lease.Address, e.s.name, clientMAC, ip, poolStart, poolEnd)
	}
	if d := time.Until(exp); d < (leaseSecs-30)*time.Second || d > (leaseSecs+5)*time.Second {
		t.Errorf("%s's database: lease ends in %v, want about %ds", e.s.name, d.Round(time.Second), leaseSecs)
	}
}

// TestInterop runs rawlab dhcp against each real server.
func TestInterop(t *testing.T) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			e := newEnv(t, s)
			leaseFile := filepath.Join(e.dir, "rawlab-lease.json")

			var leased leaseJSON
			t.Run("lease", func(t *testing.T) {
				leased = e.lease(t, 30*time.Second, "--lease-file", leaseFile)
				for _, st := range leased.Report.Steps {
					t.Logf("  %8.1f ms %s %s", st.Elapsed, st.Dir, st.Text)
				}
				e.checkLease(t, leased)
			})
			if t.Failed() {
				return
			}

			t.Run("renew", func(t *testing.T) {
				_, before := e.held(t)
				// Lease databases count in whole seconds: let one pass so
				// that the renewed end is visibly later.
				waitUntil(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond))
				out, errOut, code := e.rawlab(t, 30*time.Second, "dhcp", "renew", "-i", "rl0", "--json", "--lease-file", leaseFile)
				if code != 0 {
					t.Fatalf("dhcp renew: exit %d\n%s", code, errOut)
				}
				var l leaseJSON
				if err := json.Unmarshal([]byte(out), &l); err != nil {
					t.Fatalf("dhcp renew --json: %v\n%s", err, out)
				}
				if l.Lease.Address != leased.Lease.Address || l.Lease.LeaseTime != leaseSecs {
					t.Errorf("renewed lease %s for %ds, want %s for %ds", l.Lease.Address, l.Lease.LeaseTime, leased.Lease.Address, leaseSecs)
				}
				netnstest.WaitFor(t, 5*time.Second, e.s.name+" database showing the renewed lease", func() bool {
					ip, after := e.held(t)
					return ip == leased.Lease.Address && after.After(before)
				})
			})

			t.Run("release", func(t *testing.T) {
				_, errOut, code := e.rawlab(t, 30*time.Second, "dhcp", "release", "-i", "rl0", "--lease-file", leaseFile)
				if code != 0 {
					t.Fatalf("dhcp release: exit %d\n%s", code, errOut)
				}
				netnstest.WaitFor(t, 5*time.Second, e.s.name+" database showing the lease freed", func() bool {
					ip, _ := e.held(t)
					return ip == ""
				})
			})

			t.Run("nak", func(t *testing.T) {
				// INIT-REBOOT for an address on another subnet: RFC 2131
				// §4.3.2 wants a DHCPNAK.
				wrong := "198.19.7.7"
				out, _, code := e.rawlab(t, 30*time.Second, "dhcp", "request", "-i", "rl0", "--ip", wrong, "--json", "--timeout", "1s", "--retries", "2")
				if code != 1 {
					t.Errorf("dhcp request --ip %s: exit %d, want 1 (NAK)", wrong, code)
				}
				var r struct {
					Report reportJSON `json:"report"`
				}
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatalf("dhcp request --json: %v\n%s", err, out)
				}
				if len(r.Report.NAKs) == 0 || r.Report.NAKs[0].Server != serverIP || r.Report.NAKs[0].Requested != wrong {
					t.Errorf("NAKs reported: %+v, want one from %s for %s", r.Report.NAKs, serverIP, wrong)
				}
			})

			t.Run("second_server", func(t *testing.T) {
				// A second server (dnsmasq, one address) on the same segment.
				other := netnstest.New(t, "di2")
				e.seg.Attach(t, other, "eth0")
				other.AddAddr(t, "eth0", serverIP2+"/24")
				p := startDnsmasq(t, other, t.TempDir(), "eth0", serverIP2, pool2, pool2)
				defer p.Stop()
				out, errOut, code := e.rawlab(t, 30*time.Second, "dhcp", "discover", "-i", "rl0", "--wait", "2s", "--json")
				if code != 0 {
					t.Fatalf("dhcp discover: exit %d\n%s", code, errOut)
				}
				var d reportJSON
				if err := json.Unmarshal([]byte(out), &d); err != nil {
					t.Fatalf("dhcp discover --json: %v\n%s", err, out)
				}
				seen := map[string]string{}
				for _, o := range d.Offers {
					seen[o.Server] = o.Address
				}
				if seen[serverIP2] != pool2 || !inPool(seen[serverIP]) {
					t.Errorf("offers %v, want %s from %s and one from %s", seen, pool2, serverIP2, serverIP)
				}
				// The rogue-server check names the stranger (exit status 3).
				_, errOut, code = e.rawlab(t, 30*time.Second, "dhcp", "discover", "-i", "rl0", "--wait", "2s", "--expect-server", serverIP)
				if code != 3 || !strings.Contains(errOut, serverIP2) {
					t.Errorf("discover --expect-server %s: exit %d, stderr %q; want 3 naming %s", serverIP, code, errOut, serverIP2)
				}
				// lease --expect-server requests from the expected server only,
				// whichever answers first.
				for range 3 {
					if l := e.lease(t, 30*time.Second, "--no-arp-check", "--expect-server", serverIP); l.Lease.Server != serverIP || !inPool(l.Lease.Address) {
						t.Errorf("lease --expect-server %s: %s from %s", serverIP, l.Lease.Address, l.Lease.Server)
					}
				}
			})

			t.Run("loss", func(t *testing.T) {
				// 30% of the frames the client's veth sends are lost (netem, or
				// the harness's eBPF dropper): DISCOVERs and REQUESTs vanish and
				// only retransmission (0.25 s doubling, 8 retries)
				// gets the lease. Ten leases must all succeed (each fails with
				// odds of about 2*0.3^9), and some message must have been sent
				// again: ten clean runs would take 0.7^20, 0.08%.
				e.client.SetLoss(t, "rl0", 30)
				defer e.client.SetLoss(t, "rl0", 0)
				sent := 0
				for i := 0; i < 10; i++ {
					// The client's own budget, 0.25 s doubling to 64 s over 9
					// tries, is 128 s: the bound here is above it.
					l := e.lease(t, 150*time.Second, "--timeout", "250ms", "--retries", "8", "--no-arp-check")
					if !inPool(l.Lease.Address) || l.Lease.Server != serverIP {
						t.Errorf("lease under loss: %s from %s", l.Lease.Address, l.Lease.Server)
					}
					sent += l.Report.Stats.Sent
					for _, st := range l.Report.Steps {
						t.Logf("  %8.1f ms %s %s", st.Elapsed, st.Dir, st.Text)
					}
				}
				if sent <= 10*2 {
					t.Errorf("%d messages sent for ten leases under 30%% loss: no retransmission, is the loss in place?", sent)
				}
				t.Logf("ten leases under 30%% loss took %d messages (20 without loss)", sent)
			})

			t.Run("flood", func(t *testing.T) {
				// While the server's namespace floods the segment with
				// unrelated frames and decoy DHCP replies, lease must still
				// take the real server's answer; the socket's BPF filter keeps
				// the unrelated frames out, the client ignores the decoys.
				const xid = 0x5a5a0001
				stats := e.flood(t, xid, func() {
					l := e.lease(t, 60*time.Second, "--xid", fmt.Sprint(xid), "--timeout", "1s", "--retries", "4")
					if !inPool(l.Lease.Address) || l.Lease.Server != serverIP {
						t.Errorf("lease under flood: %s from %s", l.Lease.Address, l.Lease.Server)
					}
					st := l.Report.Stats
					t.Logf("flood: client received %d frames through its filter, ignored %d (xid) + %d (chaddr)", st.Received, st.Ignored.XID, st.Ignored.CHAddr)
					if st.Ignored.XID == 0 && st.Ignored.CHAddr == 0 {
						t.Errorf("no decoy reply reached the client: is the flood running?")
					}
				})
				t.Logf("flood sent %d unrelated frames and %d decoys", stats.unrelated.Load(), stats.decoys.Load())
			})
		})
	}
}

// waitUntil blocks until the wall clock reaches t.
func waitUntil(t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	<-timer.C
}

type floodStats struct{ unrelated, decoys atomic.Int64 }

// flood sends, from the server namespace, broadcast UDP to port 9, ARP
// requests for addresses outside the pool and decoy DHCP replies (our xid
// with another chaddr, our chaddr with another xid) while fn runs. It is
// bounded: at most 200,000 frames and 60 s.
func (e *env) flood(t *testing.T, xid uint32, fn func()) *floodStats {
	t.Helper()
	var st floodStats
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	started := make(chan struct{})
	done := make(chan error, 1)
	srvMAC := e.srv.HardwareAddr(t, "eth0")
	go func() {
		done <- e.srv.Do(func() error {
			c, err := capture.Listen("eth0", capture.Config{})
			if err != nil {
				close(started)
				return err
			}
			defer c.Close()
			frames, err := floodFrames(srvMAC, xid)
			if err != nil {
				close(started)
				return err
			}
			for i := 0; i < 200000 && ctx.Err() == nil; i++ {
				f := frames[i%len(frames)]
				if err := c.WriteFrame(ctx, f.b); err != nil {
					if ctx.Err() != nil {
						break
					}
					return err
				}
				if f.decoy {
					st.decoys.Add(1)
				} else {
					st.unrelated.Add(1)
				}
				if i == 100 {
					close(started)
				}
			}
			return nil
		})
	}()
	<-started
	fn()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("flood: %v", err)
	}
	return &st
}

type floodFrame struct {
	b     []byte
	decoy bool
}

func floodFrames(srcMAC net.HardwareAddr, xid uint32) ([]floodFrame, error) {
	src := netip.MustParseAddr(serverIP2)
	var out []floodFrame
	// Unrelated: UDP discard to the broadcast address, ARP requests for 198.18.0.2x.
	for i := 0; i < 8; i++ {
		b := craft.AppendUDP(nil, craft.Ethernet{Dst: craft.Broadcast, Src: srcMAC, EtherType: craft.EtherTypeIPv4},
			craft.IPv4{Protocol: 17, Src: src, Dst: netip.MustParseAddr("198.18.0.255"), TTL: 64},
			craft.UDP{SrcPort: 9, DstPort: 9}, make([]byte, 64))
		out = append(out, floodFrame{b: b})
		target := netip.AddrFrom4([4]byte{198, 18, 0, byte(20 + i)})
		out = append(out, floodFrame{b: craft.AppendARP(nil, craft.Ethernet{Dst: craft.Broadcast, Src: srcMAC, EtherType: craft.EtherTypeARP},
			craft.NewARPRequest(srcMAC, src, target))})
	}
	// Decoys: DHCPOFFERs the client must ignore.
	client, _ := net.ParseMAC(clientMAC)
	stranger := net.HardwareAddr{0x02, 0x52, 0x4c, 0, 0, 0x99}
	for _, d := range []struct {
		xid    uint32
		chaddr net.HardwareAddr
	}{{xid, stranger}, {xid + 1, client}} {
		m, err := dhcpv4.New(
			dhcpv4.WithReply(&dhcpv4.DHCPv4{OpCode: dhcpv4.OpcodeBootRequest, HWType: 1, ClientHWAddr: d.chaddr,
				TransactionID: dhcpv4.TransactionID{byte(d.xid >> 24), byte(d.xid >> 16), byte(d.xid >> 8), byte(d.xid)}}),
			dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer),
			dhcpv4.WithYourIP(net.ParseIP("198.18.0.250")),
			dhcpv4.WithServerIP(net.ParseIP(serverIP2)),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(serverIP2))),
			dhcpv4.WithBroadcast(true),
		)
		if err != nil {
			return nil, err
		}
		b, err := craft.EncodeDHCP(m, craft.DHCPAddressing{SrcMAC: srcMAC, SrcIP: src})
		if err != nil {
			return nil, err
		}
		out = append(out, floodFrame{b: b, decoy: true})
	}
	return out, nil
}
