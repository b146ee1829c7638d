package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// TestDHCPApplyOwnsOnlyItsChanges runs `dhcp lease --apply` in a namespace
// that already has a default route on another interface: that route stays
// as it was, the lease's default route is added beside it at metric
// 1024+ifindex, option 121 routes go in only with --apply-routes, and
// release restores the namespace's routes and addresses exactly.
func TestDHCPApplyOwnsOnlyItsChanges(t *testing.T) {
	netnstest.Require(t)
	for _, tt := range []struct {
		name    string
		opts    []string // dnsmasq --dhcp-option values
		flags   []string
		want    []string // routes added, as `ip route` prints them (prefix)
		notWant []string
	}{
		{"router option", []string{"option:router,198.18.0.1"}, nil,
			[]string{"default via 198.18.0.1 dev eth0 proto dhcp src 198.18.0."}, nil},
		{"option 121 without --apply-routes", []string{"121,0.0.0.0/0,198.18.0.1,198.18.64.0/24,198.18.0.254"}, nil,
			[]string{"default via 198.18.0.1 dev eth0 proto dhcp"}, []string{"198.18.64.0/24"}},
		{"option 121 with --apply-routes", []string{"121,0.0.0.0/0,198.18.0.1,198.18.64.0/24,198.18.0.254"},
			[]string{"--apply-routes"}, []string{"default via 198.18.0.1 dev eth0 proto dhcp", "198.18.64.0/24 via 198.18.0.254 dev eth0 proto dhcp"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, cli := netnstest.Pair(t, "dhcpap", "198.18.0.1/24", "")
			// Another interface with its own default route.
			up := netnstest.New(t, "dhcpup")
			netnstest.Veth(t, cli, "up0", up, "eth0")
			cli.AddAddr(t, "up0", "198.19.0.2/24")
			up.AddAddr(t, "eth0", "198.19.0.1/24")
			cli.Exec(t, "ip", "route", "add", "default", "via", "198.19.0.1", "dev", "up0")
			args := []string{"--no-daemon", "--conf-file=/dev/null", "--pid-file=", "--user=root", "--port=0", "--no-ping",
				"--interface=eth0", "--bind-interfaces", "--dhcp-authoritative", "--dhcp-range=198.18.0.100,198.18.0.110,255.255.255.0,1h",
				"--dhcp-leasefile=" + filepath.Join(t.TempDir(), "leases")}
			for _, o := range tt.opts {
				args = append(args, "--dhcp-option="+o)
			}
			srv.Start(t, func(l string) bool { return strings.Contains(l, "DHCP, IP range") }, "dnsmasq", args...)

			routes := func() string { return cli.Exec(t, "ip", "-4", "route", "show", "table", "all") }
			addrs := func() string { return cli.Exec(t, "ip", "-4", "-o", "addr", "show") }
			beforeRoutes, beforeAddrs := routes(), addrs()
			// Run as through sudo by nobody: root goes after the socket
			// opens, CAP_NET_ADMIN stays for --apply and its undoing.
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			lf, pcap := filepath.Join(dir, "lease.json"), filepath.Join(dir, "x.pcapng")
			code, stdout, stderr := rawlabAs(t, cli, append([]string{"dhcp", "lease", "-i", "eth0", "--no-arp-check",
				"--timeout", "1s", "--apply", "--lease-file", lf, "--pcap", pcap}, tt.flags...)...)
			if code != 0 {
				t.Fatalf("lease --apply: exit %d\n%s\n%s", code, stdout, stderr)
			}
			during := routes()
			if !strings.Contains(during, "default via 198.19.0.1 dev up0") {
				t.Errorf("the other interface's default route is gone:\n%s", during)
			}
			idx := cli.Link(t, "eth0").Attrs().Index
			for _, w := range tt.want {
				line := lineWith(during, w)
				if line == "" || !strings.Contains(line, fmt.Sprintf("metric %d", 1024+idx)) {
					t.Errorf("no route %q at metric %d:\n%s", w, 1024+idx, during)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(during, w) {
					t.Errorf("route %q added without --apply-routes:\n%s", w, during)
				}
			}
			if a := cli.Exec(t, "ip", "-4", "addr", "show", "dev", "eth0"); !strings.Contains(a, "valid_lft") || strings.Contains(a, "valid_lft forever") {
				t.Errorf("the address has no finite lifetime:\n%s", a)
			}
			var saved struct {
				Applied struct {
					Routes []json.RawMessage `json:"routes"`
				} `json:"applied"`
			}
			if b, err := os.ReadFile(lf); err != nil || json.Unmarshal(b, &saved) != nil || len(saved.Applied.Routes) != len(tt.want) {
				t.Errorf("lease file does not record the %d routes added: %v\n%s", len(tt.want), err, b)
			}

			for _, f := range []string{lf, pcap} {
				if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != 65534 {
					t.Errorf("%s: %v, want mode 0600 owned by the sudo user 65534", f, err)
				}
			}
			code, stdout, stderr = rawlabAs(t, cli, "dhcp", "release", "-i", "eth0", "--lease-file", lf)
			if code != 0 {
				t.Fatalf("release: exit %d\n%s\n%s", code, stdout, stderr)
			}
			if after := routes(); after != beforeRoutes {
				t.Errorf("routes after release differ:\nbefore:\n%s\nafter:\n%s", beforeRoutes, after)
			}
			if after := addrs(); after != beforeAddrs {
				t.Errorf("addresses after release differ:\nbefore:\n%s\nafter:\n%s", beforeAddrs, after)
			}
		})
	}
}

// rawlabAs runs rawlab in ns as sudo would for uid 65534 (SUDO_UID,
// SUDO_GID).
func rawlabAs(t *testing.T, ns *netnstest.NS, args ...string) (int, string, string) {
	t.Helper()
	cmd := ns.Command(t.Context(), netnstest.Rawlab(t), args...)
	cmd.Env = append(os.Environ(), "SUDO_UID=65534", "SUDO_GID=65534")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("rawlab %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

func lineWith(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
