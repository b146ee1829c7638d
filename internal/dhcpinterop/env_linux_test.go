package dhcpinterop

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// clientMAC is the client's fixed MAC (the lab's, see internal/lab).
const clientMAC = "02:52:4c:00:00:02"

// env is one segment with a client namespace (rl0, no address) and a server
// namespace (eth0, 198.18.0.1/24) running one server.
type env struct {
	seg    *netnstest.Segment
	client *netnstest.NS
	srv    *netnstest.NS
	dir    string
	proc   *netnstest.Proc
	s      server
}

func newEnv(t *testing.T, s server) *env {
	t.Helper()
	netnstest.Require(t)
	if _, err := exec.LookPath(s.bin); err != nil {
		// CI installs every server and sets RAWLAB_REQUIRE_NETNS=1: there a
		// missing one is a failure, elsewhere a reason to skip.
		if os.Getenv("RAWLAB_REQUIRE_NETNS") == "1" {
			t.Fatalf("%s is needed for this test: %v", s.bin, err)
		}
		t.Skipf("%s not installed (apt-get install dnsmasq-base kea-dhcp4-server isc-dhcp-server busybox): %v", s.bin, err)
	}
	e := &env{seg: netnstest.NewSegment(t, "di"), client: netnstest.New(t, "dic"), srv: netnstest.New(t, "dis"), dir: t.TempDir(), s: s}
	e.seg.Attach(t, e.srv, "eth0")
	e.srv.AddAddr(t, "eth0", serverIP+"/24")
	e.seg.Attach(t, e.client, "rl0")
	mac, err := net.ParseMAC(clientMAC)
	if err != nil {
		t.Fatal(err)
	}
	e.client.SetHardwareAddr(t, "rl0", mac)
	e.proc = s.start(t, e.srv, e.dir, "eth0", serverIP, poolStart, poolEnd)
	return e
}

// held returns the address the server's lease database gives the client
// ("" for none) and the lease's end.
func (e *env) held(t *testing.T) (string, time.Time) {
	t.Helper()
	return e.s.lease(t, e.proc, e.dir, clientMAC)
}

// inPool reports whether ip is in the server's pool.
func inPool(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && !a.Less(netip.MustParseAddr(poolStart)) && !netip.MustParseAddr(poolEnd).Less(a)
}
