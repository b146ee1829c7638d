package dhcpinterop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// TestLabServerDhclient checks the lab's own server with ISC dhclient, a
// client that is strict about what it accepts: the lease must be bound in
// dhclient's lease file with the server's options, and in the server's table.
func TestLabServerDhclient(t *testing.T) {
	var s server
	for _, x := range servers {
		if x.name == "rawlab" {
			s = x
		}
	}
	e := newEnv(t, s)
	if !haveOrSkip(t, "dhclient") {
		return
	}
	lf, pf := filepath.Join(e.dir, "dhclient.leases"), filepath.Join(e.dir, "dhclient.pid")
	// -1: one try, fork to the background once bound; -sf /bin/true: configure nothing.
	e.client.Exec(t, "dhclient", "-1", "-4", "-sf", "/bin/true", "-lf", lf, "-pf", pf, "rl0")
	t.Cleanup(func() {
		b, err := os.ReadFile(pf)
		if err != nil {
			return
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	})
	netnstest.WaitFile(t, lf, true, 5*time.Second)
	b, err := os.ReadFile(lf)
	if err != nil {
		t.Fatal(err)
	}
	ip, _ := e.held(t)
	for _, want := range []string{
		"fixed-address " + ip + ";",
		"option subnet-mask " + mask + ";",
		"option routers " + serverIP + ";",
		"option domain-name-servers " + dnsIP + ";",
		`option domain-name "` + domain + `";`,
		"option dhcp-lease-time " + strconv.Itoa(leaseSecs) + ";",
		"option dhcp-server-identifier " + serverIP + ";",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("dhclient's lease lacks %q:\n%s", want, b)
		}
	}
	if !inPool(ip) {
		t.Errorf("the lab server's table gives %s the address %q", clientMAC, ip)
	}
}

// haveOrSkip reports whether the named program is installed; when it is not
// it skips the test, or fails it under RAWLAB_REQUIRE_NETNS=1.
func haveOrSkip(t *testing.T, name string) bool {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("RAWLAB_REQUIRE_NETNS") == "1" {
			t.Fatalf("%s is needed for this test: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
		return false
	}
	return true
}
