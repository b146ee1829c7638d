package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/namespace"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// netnsDir is where ip-netns(8) keeps the bind mounts of named namespaces.
const netnsDir = "/run/netns"

// maxNameLen bounds namespace names to what also fits an interface name
// (IFNAMSIZ-1), so that scripts may reuse a name for a link.
const maxNameLen = 15

// Timeouts that bound the harness's own waits.
const (
	// ExecTimeout bounds a command run by Exec or Output.
	ExecTimeout = 2 * time.Minute
	// killTimeout bounds how long cleanup waits for killed processes to leave
	// a namespace.
	killTimeout = 10 * time.Second
	// execDrainTimeout bounds reading the output of Output's command after
	// it exited.
	execDrainTimeout = time.Second
)

// NS is a named network namespace created for one test, visible to
// `ip netns` under Name. It is deleted, and every process still inside it is
// killed by PID, when the test that created it ends.
type NS struct {
	// Name is the namespace's name under /run/netns, for `ip netns exec Name`.
	Name string

	fd netns.NsHandle  // keeps a handle for Do and for moving links in
	h  *netlink.Handle // rtnetlink sockets opened inside the namespace
}

// New creates a network namespace named prefix plus a random suffix (at most
// 15 characters), brings lo up and turns IPv6 off in it (so that no router
// solicitation or MLD report lands in a capture). It calls Require first, so a
// test that cannot run is skipped (or failed) rather than broken. Cleanup kills
// every process left in the namespace and deletes it.
func New(t testing.TB, prefix string) *NS {
	t.Helper()
	return NewMany(t, prefix, 1)[0]
}

// NewMany creates n namespaces as New does (through package namespace, the
// one implementation the lab uses too).
func NewMany(t testing.TB, prefix string, n int) []*NS {
	t.Helper()
	Require(t)
	sweepStale(t)
	if n < 1 {
		t.Fatalf("netnstest: NewMany(%q, %d): need at least one namespace", prefix, n)
	}
	names := make([]string, 0, n)
	seen := make(map[string]bool, n)
	for len(names) < n {
		name := newName(prefix)
		if seen[name] || exists(name) {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	nss := make([]*NS, n)
	for i, name := range names {
		nss[i] = &NS{Name: name, fd: netns.None()}
	}
	// Registered before creating anything, so that a half-built batch is
	// removed too.
	t.Cleanup(func() { destroy(t, nss) })
	for _, name := range names {
		if err := markOwned(name); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range names {
		if _, err := namespace.Create(name); err != nil {
			t.Fatalf("netnstest: create namespace %s: %v", name, err)
		}
	}
	for _, ns := range nss {
		if err := ns.setup(); err != nil {
			t.Fatalf("netnstest: set up namespace %s: %v", ns.Name, err)
		}
	}
	return nss
}

// newName returns prefix, trimmed and cleaned, plus "-" and a random suffix.
func newName(prefix string) string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	suffix := "-" + hex.EncodeToString(b[:])
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return -1
	}, prefix)
	if clean == "" {
		clean = "rl"
	}
	if max := maxNameLen - len(suffix); len(clean) > max {
		clean = clean[:max]
	}
	return clean + suffix
}

func exists(name string) bool {
	_, err := os.Lstat(filepath.Join(netnsDir, name))
	return err == nil
}

// setup opens the namespace and the rtnetlink handle inside it
// (namespace.Create has turned IPv6 off and brought lo up).
func (ns *NS) setup() error {
	fd, err := netns.GetFromName(ns.Name)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	ns.fd = fd
	h, err := netlink.NewHandleAt(fd)
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	ns.h = h
	return nil
}

// destroy kills every process in the namespaces, closes the harness's
// handles and deletes the namespaces. Errors are reported with t.Errorf: a
// failed cleanup is a failed test.
func destroy(t testing.TB, nss []*NS) {
	t.Helper()
	for _, ns := range nss {
		if ns.h != nil {
			ns.h.Close()
			ns.h = nil
		}
		if exists(ns.Name) {
			if err := ns.killAll(); err != nil {
				t.Errorf("netnstest: cleanup %s: %v", ns.Name, err)
			}
			if err := namespace.Delete(ns.Name); err != nil {
				t.Errorf("netnstest: cleanup %s: %v", ns.Name, err)
			}
		}
		if ns.fd.IsOpen() {
			ns.fd.Close()
			ns.fd = netns.None()
		}
	}
	for _, ns := range nss {
		// A namespace that could not be deleted keeps its owner record, so
		// that a later process removes it once this one has exited.
		if !exists(ns.Name) {
			unmarkOwned(ns.Name)
		}
	}
}

// PIDs lists the processes whose network namespace is ns, as
// `ip netns pids` does. The calling process itself is never listed.
func (ns *NS) PIDs() ([]int, error) {
	pids, err := namespace.PIDs(ns.Name)
	if err != nil {
		return nil, fmt.Errorf("netnstest: %w", err)
	}
	return pids, nil
}

// killAll sends SIGKILL to every process in the namespace, by pidfd, and
// waits for them to go (namespace.Kill, shared with the lab).
func (ns *NS) killAll() error {
	return namespace.Kill(ns.Name, 0)
}

// Do runs fn on a goroutine locked to an OS thread that has entered the
// namespace, and returns fn's error (namespace.Do). Sockets that fn opens
// stay in the namespace after Do returns. A panic in fn is returned as an
// error.
func (ns *NS) Do(fn func() error) error {
	if !ns.fd.IsOpen() {
		return fmt.Errorf("netnstest: %s: namespace not open", ns.Name)
	}
	return namespace.Do(ns.Name, fn)
}

// Netlink returns an rtnetlink handle whose sockets live in the namespace,
// for link and address work the harness does not wrap. It is closed at
// cleanup.
func (ns *NS) Netlink() *netlink.Handle { return ns.h }

// Command returns a command that runs name inside the namespace through
// `ip netns exec`, which execs it in place: the process's PID is the command's
// own. It is not started.
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Output runs args inside the namespace and returns its combined stdout and
// stderr, and an error if it could not run or exited non-zero. It is bounded by
// ExecTimeout. If the command leaves a background process holding its output
// open (`dhclient -1` once bound), Output returns a second after the command
// itself exited, with what was written until then.
func (ns *NS) Output(args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("netnstest: no command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
	defer cancel()
	cmd := ns.Command(ctx, args[0], args[1:]...)
	// A daemon the command forked may keep its stdout open: stop reading a
	// second after the command itself exited, and do not count that as a
	// failure (the command's own status is what matters).
	cmd.WaitDelay = execDrainTimeout
	out, err := cmd.CombinedOutput()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	if err != nil {
		return string(out), fmt.Errorf("netnstest: %s: %s: %w", ns.Name, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// Exec runs args inside the namespace, fails the test (showing the output) if
// the command fails, and returns its combined stdout and stderr.
func (ns *NS) Exec(t testing.TB, args ...string) string {
	t.Helper()
	out, err := ns.Output(args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// Sysctl sets a sysctl (dotted key, e.g. "net.ipv4.conf.all.arp_ignore") in
// the namespace.
func (ns *NS) Sysctl(t testing.TB, key, value string) {
	t.Helper()
	if err := namespace.Sysctl(ns.Name, key, value); err != nil {
		t.Fatalf("netnstest: %s: %v", ns.Name, err)
	}
}

// Link returns the named link of the namespace, failing the test if it does
// not exist.
func (ns *NS) Link(t testing.TB, ifname string) netlink.Link {
	t.Helper()
	l, err := ns.h.LinkByName(ifname)
	if err != nil {
		t.Fatalf("netnstest: %s: link %s: %v", ns.Name, ifname, err)
	}
	return l
}

// LinkUp brings the named link up.
func (ns *NS) LinkUp(t testing.TB, ifname string) {
	t.Helper()
	if err := ns.h.LinkSetUp(ns.Link(t, ifname)); err != nil {
		t.Fatalf("netnstest: %s: %s up: %v", ns.Name, ifname, err)
	}
}

// LinkDown sets the named link down (to test "interface is down" errors).
func (ns *NS) LinkDown(t testing.TB, ifname string) {
	t.Helper()
	if err := ns.h.LinkSetDown(ns.Link(t, ifname)); err != nil {
		t.Fatalf("netnstest: %s: %s down: %v", ns.Name, ifname, err)
	}
}

// HardwareAddr returns the MAC address of the named link.
func (ns *NS) HardwareAddr(t testing.TB, ifname string) net.HardwareAddr {
	t.Helper()
	return ns.Link(t, ifname).Attrs().HardwareAddr
}

// SetHardwareAddr sets the MAC address of the named link.
func (ns *NS) SetHardwareAddr(t testing.TB, ifname string, mac net.HardwareAddr) {
	t.Helper()
	if err := ns.h.LinkSetHardwareAddr(ns.Link(t, ifname), mac); err != nil {
		t.Fatalf("netnstest: %s: %s address %s: %v", ns.Name, ifname, mac, err)
	}
}

// AddAddr assigns cidr (e.g. "198.18.0.2/24") to the named link. It refuses,
// failing the test, any address outside 198.18.0.0/15 or a prefix shorter than
// /15.
func (ns *NS) AddAddr(t testing.TB, ifname, cidr string) {
	t.Helper()
	p, err := ParseLabPrefix(cidr)
	if err != nil {
		t.Fatalf("netnstest: %s: AddAddr %s: %v", ns.Name, ifname, err)
	}
	if err := ns.addAddr(ifname, p.String()); err != nil {
		t.Fatalf("netnstest: %s: %v", ns.Name, err)
	}
}

func (ns *NS) addAddr(ifname, cidr string) error {
	l, err := ns.h.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("link %s: %w", ifname, err)
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return fmt.Errorf("address %s: %w", cidr, err)
	}
	if err := ns.h.AddrAdd(l, a); err != nil {
		return fmt.Errorf("add %s to %s: %w", cidr, ifname, err)
	}
	return nil
}

// Veth creates a veth pair with one end named aIf in namespace a and the
// other named bIf in namespace b, created directly there (nothing touches the
// host's own namespace), and brings both ends up.
func Veth(t testing.TB, a *NS, aIf string, b *NS, bIf string) {
	t.Helper()
	if err := veth(a, aIf, b, bIf); err != nil {
		t.Fatalf("netnstest: %v", err)
	}
}

func veth(a *NS, aIf string, b *NS, bIf string) error {
	if len(aIf) > maxNameLen || len(bIf) > maxNameLen {
		return fmt.Errorf("veth %s/%s: name longer than %d", aIf, bIf, maxNameLen)
	}
	l := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: aIf, Namespace: netlink.NsFd(a.fd)},
		PeerName:      bIf,
		PeerNamespace: netlink.NsFd(b.fd),
	}
	if err := netlink.LinkAdd(l); err != nil {
		return fmt.Errorf("veth %s:%s <-> %s:%s: %w", a.Name, aIf, b.Name, bIf, err)
	}
	for _, end := range []struct {
		ns     *NS
		ifname string
	}{{a, aIf}, {b, bIf}} {
		link, err := end.ns.h.LinkByName(end.ifname)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", end.ns.Name, end.ifname, err)
		}
		if err := end.ns.h.LinkSetUp(link); err != nil {
			return fmt.Errorf("%s: %s up: %w", end.ns.Name, end.ifname, err)
		}
	}
	return nil
}

// Bridge creates a Linux bridge (a learning switch, STP off, so ports forward
// at once) named name in the namespace and brings it up.
func (ns *NS) Bridge(t testing.TB, name string) {
	t.Helper()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := ns.h.LinkAdd(br); err != nil {
		t.Fatalf("netnstest: %s: bridge %s: %v", ns.Name, name, err)
	}
	ns.LinkUp(t, name)
}
