package dhcpinterop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// Relay topology: the client on segment A (198.18.1.0/24), the server on
// segment B (198.18.0.0/24), ISC dhcrelay between them on both.
const (
	relayA       = "198.18.1.1"   // the relay's address on the client's segment: giaddr
	relayB       = "198.18.0.254" // its address on the server's segment
	relayedFirst = "198.18.1.100"
	relayedLast  = "198.18.1.150"
	relayDomain  = "relayed.rawlab.test" // given only when option 82 carries circuit ID "eth0"
)

// relayServers start a server on eth0 of ns (198.18.0.1) that serves
// 198.18.1.0/24 to relayed clients and gives relayDomain only to requests
// whose option 82 circuit ID is "eth0", the relay's client interface.
var relayServers = []struct {
	name, bin string
	start     func(t *testing.T, ns *netnstest.NS, dir string) *netnstest.Proc
}{
	{"dnsmasq", "dnsmasq", func(t *testing.T, ns *netnstest.NS, dir string) *netnstest.Proc {
		return ns.Start(t, contains("DHCP, IP range"), "dnsmasq",
			"--no-daemon", "--conf-file=/dev/null", "--port=0", "--user=root", "--group=root",
			"--log-facility=-", "--log-dhcp", "--no-ping", "--dhcp-authoritative",
			"--pid-file="+filepath.Join(dir, "dnsmasq.pid"), "--interface=eth0", "--bind-interfaces",
			"--dhcp-leasefile="+filepath.Join(dir, "dnsmasq.leases"),
			fmt.Sprintf("--dhcp-range=%s,%s,%s,%ds", relayedFirst, relayedLast, mask, leaseSecs),
			"--dhcp-option=option:router,"+relayA,
			"--dhcp-circuitid=set:relayed,eth0",
			"--dhcp-option=tag:relayed,option:domain-name,"+relayDomain)
	}},
	{"kea", "kea-dhcp4", func(t *testing.T, ns *netnstest.NS, dir string) *netnstest.Proc {
		conf := fmt.Sprintf(`{
"Dhcp4": {
  "interfaces-config": {"interfaces": ["eth0"], "dhcp-socket-type": "raw"},
  "lease-database": {"type": "memfile", "persist": true, "name": %q, "lfc-interval": 0},
  "valid-lifetime": %d,
  "client-classes": [{"name": "relayed", "test": "relay4[1].hex == 'eth0'",
    "option-data": [{"name": "domain-name", "data": %q}]}],
  "subnet4": [{"id": 2, "subnet": "198.18.1.0/24", "pools": [{"pool": "%s - %s"}],
    "option-data": [{"name": "routers", "data": %q}]}],
  "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "INFO"}]
}
}`, filepath.Join(dir, "kea-leases4.csv"), leaseSecs, relayDomain, relayedFirst, relayedLast, relayA)
		path := filepath.Join(dir, "kea-dhcp4.conf")
		writeFile(t, path, conf)
		cmd := ns.Command(t.Context(), "kea-dhcp4", "-c", path)
		cmd.Env = append(os.Environ(), "KEA_PIDFILE_DIR="+dir, "KEA_LOCKFILE_DIR="+dir, "KEA_LOGGER_DESTINATION=stdout")
		return netnstest.StartCmd(t, cmd, contains("DHCP4_STARTED"), netnstest.ReadyTimeout)
	}},
}

// TestRelay leases through a real ISC dhcrelay (-a: it sets giaddr and
// appends option 82 with the circuit ID of its client interface), with
// dnsmasq and Kea behind it: the lease comes from the relayed subnet, names
// the relay (giaddr), and carries what the server gives only to requests
// whose option 82 it read.
func TestRelay(t *testing.T) {
	netnstest.Require(t)
	for _, s := range relayServers {
		t.Run(s.name, func(t *testing.T) {
			for _, bin := range []string{s.bin, "dhcrelay"} {
				if _, err := exec.LookPath(bin); err != nil {
					if os.Getenv("RAWLAB_REQUIRE_NETNS") == "1" {
						t.Fatalf("%s is needed for this test: %v", bin, err)
					}
					t.Skipf("%s not installed (apt-get install isc-dhcp-relay %s): %v", bin, s.bin, err)
				}
			}
			segA, segB := netnstest.NewSegment(t, "rla"), netnstest.NewSegment(t, "rlb")
			client, relay, srv := netnstest.New(t, "rlc"), netnstest.New(t, "rlr"), netnstest.New(t, "rls")
			segA.Attach(t, client, "rl0")
			segA.Attach(t, relay, "eth0")
			segB.Attach(t, relay, "eth1")
			segB.Attach(t, srv, "eth0")
			relay.AddAddr(t, "eth0", relayA+"/24")
			relay.AddAddr(t, "eth1", relayB+"/24")
			srv.AddAddr(t, "eth0", serverIP+"/24")
			srv.Exec(t, "ip", "route", "add", "198.18.1.0/24", "via", relayB)
			dir := t.TempDir()
			s.start(t, srv, dir)
			relay.Start(t, contains("Sending on"), "dhcrelay", "-d", "-4", "-a", "--no-pid",
				"-id", "eth0", "-iu", "eth1", serverIP)

			checkRelayed(t, &env{client: client, dir: dir})
		})
		// rawlab itself as the relay agent: --giaddr and --relay-circuit-id,
		// the server answering to giaddr (on-link for it), port 67.
		t.Run(s.name+" rawlab as relay", func(t *testing.T) {
			if _, err := exec.LookPath(s.bin); err != nil {
				if os.Getenv("RAWLAB_REQUIRE_NETNS") == "1" {
					t.Fatalf("%s is needed for this test: %v", s.bin, err)
				}
				t.Skipf("%s not installed: %v", s.bin, err)
			}
			srv, client := netnstest.Pair(t, "rlg", serverIP+"/24", "")
			client.AddAddr(t, "eth0", relayA+"/32")
			srv.Exec(t, "ip", "route", "add", "198.18.1.0/24", "dev", "eth0")
			dir := t.TempDir()
			s.start(t, srv, dir)
			checkRelayed(t, &env{client: client, dir: dir}, "-i", "eth0", "--giaddr", relayA, "--relay-circuit-id", "eth0")
		})
	}
}

// checkRelayed leases through a relay and checks the lease: an address of
// 198.18.1.0/24 from serverIP, giaddr relayA, and the domain the server
// gives only when it read circuit ID "eth0" in option 82.
func checkRelayed(t *testing.T, e *env, args ...string) {
	t.Helper()
	if len(args) == 0 {
		args = []string{"-i", "rl0"}
	}
	out, errOut, code := e.rawlab(t, 60*time.Second, append([]string{"dhcp", "lease", "--json", "--no-arp-check", "--timeout", "2s"}, args...)...)
	if code != 0 {
		t.Fatalf("lease through a relay: exit %d\n%s\n%s", code, out, errOut)
	}
	var l struct {
		Lease struct {
			Address string   `json:"address"`
			Relay   string   `json:"relay"`
			Server  string   `json:"server"`
			Domain  string   `json:"domain"`
			Routers []string `json:"routers"`
		} `json:"lease"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("lease --json: %v\n%s", err, out)
	}
	if !strings.HasPrefix(l.Lease.Address, "198.18.1.") || l.Lease.Relay != relayA || l.Lease.Server != serverIP {
		t.Errorf("lease %+v, want an address of 198.18.1.0/24 from %s relayed by %s", l.Lease, serverIP, relayA)
	}
	if l.Lease.Domain != relayDomain {
		t.Errorf("domain %q, want %q: the server did not see option 82 circuit ID eth0", l.Lease.Domain, relayDomain)
	}
}
