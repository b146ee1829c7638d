package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Default names of the lab, shared with scripts/lab.sh.
const (
	DefaultPrefix = "rl-"           // namespace name prefix
	ClientIface   = "rl0"           // the client's interface, with no address
	Iface         = "eth0"          // the interface of the server and the hosts
	Bridge        = "br0"           // the bridge in the switch namespace
	ServerCIDR    = "198.18.0.1/24" // the server namespace's address
	DefaultHosts  = 5               // host namespaces whose kernels answer ARP
)

// Roles of the namespaces, appended to the prefix to name them.
const (
	RoleClient = "client"
	RoleSwitch = "sw"
	RoleServer = "srv"
	roleHost   = "h" // h1, h2, ...
)

// labNet is the only block the lab may use.
var labNet = netip.MustParsePrefix("198.18.0.0/15")

// Lab names one lab: its namespace prefix and its run directory.
type Lab struct {
	Prefix string // DefaultPrefix unless tests need a private lab
	RunDir string // pid file, log and leases of the server

	proc *os.Process // the server, when this process started it
}

// New returns the lab with the given prefix ("" = DefaultPrefix). Its
// RunDir is $RAWLAB_RUN_DIR/<prefix> when that variable is set, else
// /run/rawlab/<prefix>.
func New(prefix string) (*Lab, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if len(prefix) > 8 || strings.ContainsAny(prefix, "/ .\x00") {
		return nil, fmt.Errorf("lab: prefix %q: want at most 8 characters and no '/', ' ' or '.'", prefix)
	}
	base := os.Getenv("RAWLAB_RUN_DIR")
	if base == "" {
		base = "/run/rawlab"
	}
	return &Lab{Prefix: prefix, RunDir: filepath.Join(base, strings.TrimSuffix(prefix, "-"))}, nil
}

// NS returns the full namespace name for a role or a short name ("client",
// "srv", "sw", "h2") or a full name already carrying the prefix.
func (l *Lab) NS(name string) string {
	if strings.HasPrefix(name, l.Prefix) {
		return name
	}
	switch name {
	case "server":
		name = RoleServer
	case "switch":
		name = RoleSwitch
	}
	return l.Prefix + name
}

// PIDFile is where the DHCP server's pid is kept.
func (l *Lab) PIDFile() string { return filepath.Join(l.RunDir, "server.pid") }

// LogFile is the DHCP server's log (its stdout and stderr).
func (l *Lab) LogFile() string { return filepath.Join(l.RunDir, "server.log") }

// LeaseFile is the DHCP server's lease table, JSON (see labdhcp.ReadLeaseFile).
func (l *Lab) LeaseFile() string { return filepath.Join(l.RunDir, "leases.json") }

// Config says how to build the lab.
type Config struct {
	Hosts int // host namespaces rl-h1..N (DefaultHosts is what `lab up` uses)
	// Exe is the rawlab binary that runs the server ("" = this process's
	// executable); ServeArgs are passed to `rawlab lab serve` after the
	// interface and lease file.
	Exe       string
	ServeArgs []string
	// ReadyTimeout bounds the wait for the server's ready signal (0 = 10 s).
	ReadyTimeout time.Duration
	// NoServer builds the namespaces only, for running another DHCP server
	// (dnsmasq, Kea, ...) in the server namespace.
	NoServer bool
}

// ErrUp is returned by Up when a namespace of the lab already exists.
var ErrUp = errors.New("lab: already up")

// Namespaces lists the lab's namespaces that exist, sorted.
func (l *Lab) Namespaces() ([]string, error) {
	ents, err := os.ReadDir("/run/netns")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	var out []string
	for _, e := range ents {
		if l.isOurs(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// isOurs reports whether name is one of this lab's namespaces.
func (l *Lab) isOurs(name string) bool {
	rest, ok := strings.CutPrefix(name, l.Prefix)
	if !ok {
		return false
	}
	switch rest {
	case RoleClient, RoleSwitch, RoleServer:
		return true
	}
	n, ok := strings.CutPrefix(rest, roleHost)
	if !ok {
		return false
	}
	i, err := strconv.Atoi(n)
	return err == nil && i > 0 && strconv.Itoa(i) == n
}

// MAC returns the lab's fixed MAC for last octet n: 02:52:4c:00:00:NN
// (locally administered). The server is 1, the client 2, host i is 10+i, so
// that a host's MAC ends like its address.
func MAC(n int) string { return fmt.Sprintf("02:52:4c:00:00:%02x", n) }

// HostCIDR is the address of host namespace i (1-based): 198.18.0.10+i/24.
func HostCIDR(i int) string { return fmt.Sprintf("198.18.0.%d/24", 10+i) }

// Up builds the lab and starts its DHCP server, waiting for the server's
// ready signal. If anything fails, what was built is removed again.
func (l *Lab) Up(ctx context.Context, cfg Config) (err error) {
	if cfg.Hosts < 0 || cfg.Hosts > 50 {
		return fmt.Errorf("lab: %d hosts: want 0 to 50", cfg.Hosts)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("lab: iproute2's ip(8) is needed: %w", err)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("lab: building namespaces needs root: %w", fs.ErrPermission)
	}
	if have, err := l.Namespaces(); err != nil {
		return err
	} else if len(have) > 0 {
		return fmt.Errorf("%w: %s exists (run `rawlab lab down` first)", ErrUp, have[0])
	}
	defer func() {
		if err != nil {
			if derr := l.Down(context.WithoutCancel(ctx)); derr != nil {
				err = fmt.Errorf("%w (and cleaning up: %v)", err, derr)
			}
		}
	}()
	// The same steps, names and MACs as scripts/lab.sh.
	type end struct{ ns, ifname, port, mac, cidr string }
	ends := []end{
		{l.NS(RoleClient), ClientIface, "c0", MAC(2), ""},
		{l.NS(RoleServer), Iface, "s0", MAC(1), ServerCIDR},
	}
	for i := 1; i <= cfg.Hosts; i++ {
		ends = append(ends, end{l.NS(fmt.Sprintf("%s%d", roleHost, i)), Iface, fmt.Sprintf("h%d", i), MAC(10 + i), HostCIDR(i)})
	}
	sw := l.NS(RoleSwitch)
	all := []string{l.NS(RoleClient), sw, l.NS(RoleServer)}
	for _, e := range ends[2:] {
		all = append(all, e.ns)
	}
	// 1. The namespaces, then IPv6 off in each before any link arrives.
	var b strings.Builder
	for _, ns := range all {
		fmt.Fprintf(&b, "netns add %s\n", ns)
	}
	if err := ipBatch(ctx, "", b.String()); err != nil {
		return err
	}
	for _, ns := range all {
		if err := noIPv6(ns); err != nil {
			return err
		}
	}
	// 2. Each veth pair created directly in its two namespaces.
	b.Reset()
	for _, e := range ends {
		fmt.Fprintf(&b, "link add %s netns %s address %s type veth peer name %s netns %s\n", e.ifname, e.ns, e.mac, e.port, sw)
	}
	if err := ipBatch(ctx, "", b.String()); err != nil {
		return err
	}
	// 3. The switch: a bridge (STP off: ports forward at once) with every port.
	b.Reset()
	fmt.Fprintf(&b, "link set lo up\nlink add %s type bridge\nlink set %s up\n", Bridge, Bridge)
	for _, e := range ends {
		fmt.Fprintf(&b, "link set %s master %s\nlink set %s up\n", e.port, Bridge, e.port)
	}
	if err := ipBatch(ctx, sw, b.String()); err != nil {
		return err
	}
	// 4. The ends: up, with their address (none for the client).
	for _, e := range ends {
		b.Reset()
		fmt.Fprintf(&b, "link set lo up\nlink set %s up\n", e.ifname)
		if e.cidr != "" {
			p := netip.MustParsePrefix(e.cidr)
			if !labNet.Contains(p.Addr()) || p.Bits() < labNet.Bits() {
				return fmt.Errorf("lab: %s is outside %s", p, labNet)
			}
			fmt.Fprintf(&b, "address add %s dev %s\n", e.cidr, e.ifname)
		}
		if err := ipBatch(ctx, e.ns, b.String()); err != nil {
			return err
		}
		if e.cidr != "" {
			if err := noTxChecksum(e.ns, e.ifname); err != nil {
				return err
			}
		}
	}
	if cfg.NoServer {
		return nil
	}
	return l.startServer(ctx, cfg)
}

// Down stops the server and removes every namespace of the lab. It is
// idempotent: a lab that is not up is not an error.
func (l *Lab) Down(ctx context.Context) error {
	var errs []error
	if err := l.stopServer(); err != nil {
		errs = append(errs, err)
	}
	nss, err := l.Namespaces()
	if err != nil {
		return err
	}
	for _, ns := range nss {
		// Processes left in the lab (a client someone started with
		// `lab exec`) would keep the namespace alive after its name is gone.
		if err := killNS(ns); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ns := range nss {
		if err := ip(ctx, "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ip runs ip(8) with args, returning its stderr in the error.
func ip(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("lab: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// ipBatch runs `ip [-n ns] -batch -` with the given commands.
func ipBatch(ctx context.Context, ns, cmds string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	args := []string{"-batch", "-"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdin = strings.NewReader(cmds)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("lab: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// ipOutput runs ip(8) and returns its stdout.
func ipOutput(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("lab: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
