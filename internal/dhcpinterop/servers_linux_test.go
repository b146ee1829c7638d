package dhcpinterop

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawlab/rawlab/internal/labdhcp"
	"github.com/rawlab/rawlab/internal/netnstest"
)

// Lab values every server is configured with.
const (
	serverIP  = "198.18.0.1"
	serverIP2 = "198.18.0.2" // the second server's address
	subnet    = "198.18.0.0/24"
	mask      = "255.255.255.0"
	poolStart = "198.18.0.100"
	poolEnd   = "198.18.0.199"
	pool2     = "198.18.0.200" // the second server's pool, one address
	dnsIP     = "198.18.0.53"
	domain    = "interop.rawlab.test"
	leaseSecs = 600
	t1Secs    = 300
	t2Secs    = 525
)

// server is one DHCP server implementation under test. "rawlab" is the lab's
// own server (internal/labdhcp), held to the same checks.
type server struct {
	name string
	bin  string // executable that must exist, else the test fails (CI installs it)
	// start runs the server in ns on ifname with address ip and pool
	// [first, last], keeping its files in dir, and returns once it is ready.
	start func(t *testing.T, ns *netnstest.NS, dir, ifname, ip, first, last string) *netnstest.Proc
	// lease looks mac up in the server's lease database: the address it
	// holds ("" if none, or released) and until when.
	lease func(t *testing.T, p *netnstest.Proc, dir, mac string) (ip string, expires time.Time)
}

var servers = []server{
	{name: "dnsmasq", bin: "dnsmasq", start: startDnsmasq, lease: dnsmasqLease},
	{name: "kea", bin: "kea-dhcp4", start: startKea, lease: keaLease},
	{name: "dhcpd", bin: "dhcpd", start: startDhcpd, lease: dhcpdLease},
	{name: "udhcpd", bin: "busybox", start: startUdhcpd, lease: udhcpdLease},
	{name: "rawlab", bin: "ip", start: startRawlab, lease: rawlabLease},
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func contains(s string) func(string) bool {
	return func(line string) bool { return strings.Contains(line, s) }
}

// --- dnsmasq (dnsmasq(8)) ---

func startDnsmasq(t *testing.T, ns *netnstest.NS, dir, ifname, ip, first, last string) *netnstest.Proc {
	return ns.Start(t, contains("DHCP, IP range"), "dnsmasq",
		"--no-daemon", "--conf-file=/dev/null", "--port=0", "--user=root", "--group=root",
		"--log-facility=-", "--log-dhcp", "--no-ping", "--dhcp-authoritative", "--dhcp-sequential-ip",
		"--pid-file="+filepath.Join(dir, "dnsmasq.pid"),
		"--interface="+ifname, "--bind-interfaces", "--except-interface=lo",
		"--dhcp-leasefile="+filepath.Join(dir, "dnsmasq.leases"),
		fmt.Sprintf("--dhcp-range=%s,%s,%s,%ds", first, last, mask, leaseSecs),
		fmt.Sprintf("--dhcp-option=option:T1,%d", t1Secs),
		fmt.Sprintf("--dhcp-option=option:T2,%d", t2Secs),
		"--dhcp-option=option:router,"+ip,
		"--dhcp-option=option:dns-server,"+dnsIP,
		"--dhcp-option=option:domain-name,"+domain,
		"--dhcp-option=option:domain-search,"+domain+",rawlab.test",
		"--dhcp-option=option:classless-static-route,198.19.0.0/16,"+ip+",0.0.0.0/0,"+ip,
	)
}

// dnsmasqLease reads the lease file: "EXPIRY MAC IP HOSTNAME CLIENT-ID" per line.
func dnsmasqLease(t *testing.T, _ *netnstest.Proc, dir, mac string) (string, time.Time) {
	b, err := os.ReadFile(filepath.Join(dir, "dnsmasq.leases"))
	if err != nil {
		return "", time.Time{}
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.EqualFold(f[1], mac) {
			sec, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				t.Fatalf("dnsmasq lease line %q: %v", line, err)
			}
			return f[2], time.Unix(sec, 0)
		}
	}
	return "", time.Time{}
}

// --- ISC Kea (kea-dhcp4(8)) ---

func startKea(t *testing.T, ns *netnstest.NS, dir, ifname, ip, first, last string) *netnstest.Proc {
	// Kea 2.2 takes option 121 only as hex: width, significant octets, router.
	routes := "10c613" + hexIP(ip) + "00" + hexIP(ip)
	conf := fmt.Sprintf(`{
"Dhcp4": {
  "interfaces-config": {"interfaces": [%q], "dhcp-socket-type": "raw"},
  "lease-database": {"type": "memfile", "persist": true, "name": %q, "lfc-interval": 0},
  "authoritative": true,
  "valid-lifetime": %d, "renew-timer": %d, "rebind-timer": %d,
  "subnet4": [{
    "id": 1, "subnet": %q,
    "pools": [{"pool": "%s - %s"}],
    "option-data": [
      {"name": "routers", "data": %q},
      {"name": "domain-name-servers", "data": %q},
      {"name": "domain-name", "data": %q},
      {"name": "domain-search", "data": "%s, rawlab.test"},
      {"code": 121, "csv-format": false, "data": %q}
    ]
  }],
  "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "INFO"}]
}
}`, ifname, filepath.Join(dir, "kea-leases4.csv"), leaseSecs, t1Secs, t2Secs, subnet, first, last, ip, dnsIP, domain, domain, routes)
	conf = strings.Replace(conf, `"subnet": "198.18.0.0/24"`, `"subnet": "`+subnet+`"`, 1)
	path := filepath.Join(dir, "kea-dhcp4.conf")
	writeFile(t, path, conf)
	cmd := ns.Command(t.Context(), "kea-dhcp4", "-c", path)
	cmd.Env = append(os.Environ(), "KEA_PIDFILE_DIR="+dir, "KEA_LOCKFILE_DIR="+dir, "KEA_LOGGER_DESTINATION=stdout")
	return netnstest.StartCmd(t, cmd, contains("DHCP4_STARTED"), netnstest.ReadyTimeout)
}

func hexIP(ip string) string {
	var b strings.Builder
	for _, o := range strings.Split(ip, ".") {
		n, _ := strconv.Atoi(o)
		fmt.Fprintf(&b, "%02x", n)
	}
	return b.String()
}

// keaLease reads the memfile CSV (address,hwaddr,client_id,valid_lifetime,
// expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,...): the last row for an
// address is its current state; a released lease is written with
// valid_lifetime 0 or a state other than 0 (default).
func keaLease(t *testing.T, _ *netnstest.Proc, dir, mac string) (string, time.Time) {
	f, err := os.Open(filepath.Join(dir, "kea-leases4.csv"))
	if err != nil {
		return "", time.Time{}
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("kea lease file: %v", err)
	}
	// The last row of each address is its state.
	last := map[string][]string{}
	var order []string
	for _, row := range rows {
		if len(row) < 10 || row[0] == "address" {
			continue
		}
		if _, ok := last[row[0]]; !ok {
			order = append(order, row[0])
		}
		last[row[0]] = row
	}
	for _, ip := range order {
		row := last[ip]
		valid, _ := strconv.ParseInt(row[3], 10, 64)
		expire, _ := strconv.ParseInt(row[4], 10, 64)
		if strings.EqualFold(row[1], mac) && valid > 0 && row[9] == "0" {
			return ip, time.Unix(expire, 0)
		}
	}
	return "", time.Time{}
}

// --- ISC dhcpd (dhcpd(8), dhcpd.conf(5), dhcpd.leases(5)) ---

func startDhcpd(t *testing.T, ns *netnstest.NS, dir, ifname, ip, first, last string) *netnstest.Proc {
	// dhcp-cache-threshold 0: without it a renewal within the first 25% of
	// the lease is answered from the old lease and not written down.
	conf := fmt.Sprintf(`authoritative;
ping-check false;
dhcp-cache-threshold 0;
default-lease-time %d;
max-lease-time %d;
option rfc3442-classless-static-routes code 121 = array of integer 8;
subnet 198.18.0.0 netmask %s {
  range %s %s;
  option routers %s;
  option domain-name-servers %s;
  option domain-name "%s";
  option domain-search "%s", "rawlab.test";
  option dhcp-renewal-time %d;
  option dhcp-rebinding-time %d;
  option rfc3442-classless-static-routes 16, 198, 19, %s, 0, %s;
}
`, leaseSecs, leaseSecs, mask, first, last, ip, dnsIP, domain, domain, t1Secs, t2Secs,
		strings.ReplaceAll(ip, ".", ", "), strings.ReplaceAll(ip, ".", ", "))
	cf, lf := filepath.Join(dir, "dhcpd.conf"), filepath.Join(dir, "dhcpd.leases")
	writeFile(t, cf, conf)
	writeFile(t, lf, "")
	return ns.Start(t, contains("Server starting service"), "dhcpd",
		"-4", "-f", "-d", "-cf", cf, "-lf", lf, "-pf", filepath.Join(dir, "dhcpd.pid"), ifname)
}

// dhcpdLease reads dhcpd.leases: the last "lease IP { ... }" block for an
// address is its state; "binding state free" after a release.
func dhcpdLease(t *testing.T, _ *netnstest.Proc, dir, mac string) (string, time.Time) {
	f, err := os.Open(filepath.Join(dir, "dhcpd.leases"))
	if err != nil {
		return "", time.Time{}
	}
	defer f.Close()
	type state struct {
		ours bool
		ends time.Time
	}
	last := map[string]state{} // the last block of each address wins
	var order []string
	var in, active, ours bool
	var ip string
	var ends time.Time
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "lease ") && strings.HasSuffix(line, " {"):
			in, active, ours, ends = true, false, false, time.Time{}
			ip = strings.TrimSuffix(strings.TrimPrefix(line, "lease "), " {")
		case in && line == "}":
			in = false
			if _, ok := last[ip]; !ok {
				order = append(order, ip)
			}
			last[ip] = state{active && ours, ends}
		case in && strings.HasPrefix(line, "binding state "):
			active = line == "binding state active;"
		case in && strings.HasPrefix(line, "hardware ethernet "):
			ours = strings.EqualFold(strings.TrimSuffix(strings.TrimPrefix(line, "hardware ethernet "), ";"), mac)
		case in && strings.HasPrefix(line, "ends "):
			// ends W YYYY/MM/DD HH:MM:SS; in UTC
			f := strings.Fields(strings.TrimSuffix(line, ";"))
			if len(f) == 4 {
				e, err := time.Parse("2006/01/02 15:04:05", f[2]+" "+f[3])
				if err != nil {
					t.Fatalf("dhcpd lease %q: %v", line, err)
				}
				ends = e
			}
		}
	}
	for _, ip := range order {
		if st := last[ip]; st.ours {
			return ip, st.ends
		}
	}
	return "", time.Time{}
}

// --- busybox udhcpd (udhcpd.conf as busybox documents it) ---

func startUdhcpd(t *testing.T, ns *netnstest.NS, dir, ifname, ip, first, last string) *netnstest.Proc {
	conf := fmt.Sprintf(`start %s
end %s
interface %s
server %s
lease_file %s
pidfile %s
auto_time 0
option subnet %s
option router %s
option dns %s
option domain %s
option search %s rawlab.test
option lease %d
option 58 %08x
option 59 %08x
option staticroutes 198.19.0.0/16 %s, 0.0.0.0/0 %s
`, first, last, ifname, ip, filepath.Join(dir, "udhcpd.leases"), filepath.Join(dir, "udhcpd.pid"),
		mask, ip, dnsIP, domain, domain, leaseSecs, t1Secs, t2Secs, ip, ip)
	cf := filepath.Join(dir, "udhcpd.conf")
	writeFile(t, cf, conf)
	writeFile(t, filepath.Join(dir, "udhcpd.leases"), "")
	p := ns.Start(t, nil, "busybox", "udhcpd", "-f", "-a", "0", cf)
	// udhcpd prints nothing once its socket is bound: wait for UDP port 67
	// to appear in its namespace's socket table.
	netnstest.WaitFor(t, 10*time.Second, "udhcpd listening on UDP 67", func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/udp", p.Pid()))
		return err == nil && strings.Contains(string(b), ":0043 ")
	})
	return p
}

// udhcpdLease asks udhcpd to write its lease file (SIGUSR1), waits until it
// has closed it (inotify IN_CLOSE_WRITE: udhcpd rewrites the file in place,
// so a read before that could see half of it), and reads it back with
// `busybox dumpleases -f FILE -a` (absolute expiry times).
func udhcpdLease(t *testing.T, p *netnstest.Proc, dir, mac string) (string, time.Time) {
	lf := filepath.Join(dir, "udhcpd.leases")
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, lf, unix.IN_CLOSE_WRITE); err != nil {
		t.Fatalf("inotify %s: %v", lf, err)
	}
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		t.Fatalf("udhcpd SIGUSR1: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(in), Events: unix.POLLIN}}, int(time.Until(deadline).Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll inotify: %v", err)
		}
		if n == 0 {
			t.Fatalf("udhcpd did not rewrite %s within 5s of SIGUSR1", lf)
		}
		break
	}
	out, err := exec.Command("busybox", "dumpleases", "-f", lf, "-a").CombinedOutput()
	if err != nil {
		t.Fatalf("dumpleases: %v: %s", err, out)
	}
	// Mac Address       IP Address      Host Name           Expires at
	// 02:52:4c:00:00:02 198.18.0.100                        Sun Nov 22 05:04:40 2026
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.EqualFold(f[0], mac) {
			continue
		}
		if strings.Contains(line, "expired") {
			return "", time.Time{}
		}
		when := strings.Join(f[len(f)-5:], " ")
		e, err := time.ParseInLocation("Mon Jan 2 15:04:05 2006", when, time.Local)
		if err != nil {
			t.Fatalf("dumpleases line %q: %v", line, err)
		}
		return f[1], e
	}
	return "", time.Time{}
}

// --- rawlab's own lab server (internal/labdhcp, `rawlab lab serve`) ---

func startRawlab(t *testing.T, ns *netnstest.NS, dir, ifname, ip, first, last string) *netnstest.Proc {
	if ip != "198.18.0.1" {
		t.Fatalf("the lab server answers as 198.18.0.1, not %s", ip)
	}
	return ns.Start(t, func(l string) bool { return l == "ready" }, netnstest.Rawlab(t), "lab", "serve", "--outside-lab", "-i", ifname,
		"--lease-file", filepath.Join(dir, "leases.json"), "--pool", first+"-"+last,
		"--lease", fmt.Sprintf("%ds", leaseSecs), "--t1", fmt.Sprintf("%ds", t1Secs), "--t2", fmt.Sprintf("%ds", t2Secs),
		"--dns", dnsIP, "--domain", domain, "--search", domain+",rawlab.test")
}

// rawlabLease reads the lab server's JSON lease table.
func rawlabLease(t *testing.T, _ *netnstest.Proc, dir, mac string) (string, time.Time) {
	ls, err := labdhcp.ReadLeaseFile(filepath.Join(dir, "leases.json"))
	if err != nil {
		t.Fatalf("lab server lease file: %v", err)
	}
	for _, l := range ls {
		if strings.EqualFold(l.MAC, mac) && l.State == labdhcp.StateBound {
			return l.IP.String(), l.Expires
		}
	}
	return "", time.Time{}
}
