package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rawlab/rawlab/internal/namespace"
	"github.com/rawlab/rawlab/internal/outfile"
	"github.com/rawlab/rawlab/internal/privdrop"
)

// Default names of the lab, shared with scripts/lab.sh.
const (
	DefaultPrefix = "rl-"           // namespace name prefix
	ClientIface   = "rl0"           // the client's interface, with no address
	Iface         = "eth0"          // the interface of the server and the hosts
	Bridge        = "br0"           // the bridge in the switch namespace
	ServerCIDR    = "198.18.0.1/24" // the server namespace's address
	DefaultHosts  = 5               // host namespaces whose kernels answer ARP
	// LinkAlias is the ifalias of every link the lab creates.
	LinkAlias = "rawlab-lab"
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
	RunDir string // lock, record, pid file and log of the server

	proc *os.Process // the server, when this process started it
}

// New returns the lab with the given prefix ("" = DefaultPrefix): at most 8
// characters from [a-z0-9-]. Its RunDir is $RAWLAB_RUN_DIR/<prefix> when
// that variable is set, else /run/rawlab/<prefix>.
func New(prefix string) (*Lab, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if len(prefix) > 8 || !allowed(prefix) || strings.Trim(prefix, "-") == "" {
		return nil, fmt.Errorf("lab: prefix %q: want 1 to 8 characters from [a-z0-9-]", prefix)
	}
	base := os.Getenv("RAWLAB_RUN_DIR")
	if base == "" {
		base = "/run/rawlab"
	}
	return &Lab{Prefix: prefix, RunDir: filepath.Join(base, strings.TrimSuffix(prefix, "-"))}, nil
}

// allowed reports whether s holds only [a-z0-9-].
func allowed(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
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

// ServerDir is the directory the server writes to after dropping root.
func (l *Lab) ServerDir() string { return filepath.Join(l.RunDir, "server") }

// LeaseFile is the DHCP server's lease table, JSON (see labdhcp.ReadLeaseFile).
func (l *Lab) LeaseFile() string { return filepath.Join(l.ServerDir(), "leases.json") }

func (l *Lab) recordFile() string { return filepath.Join(l.RunDir, "lab.json") }
func (l *Lab) lockFile() string   { return filepath.Join(l.RunDir, "lock") }

// Config says how to build the lab.
type Config struct {
	Hosts int // host namespaces rl-h1..N (DefaultHosts is what `lab up` uses)
	// Exe is the rawlab binary that runs the server ("" = /proc/self/exe,
	// this very binary, never one found through PATH); ServeArgs are
	// passed to `rawlab lab serve` after the interface and lease file.
	Exe       string
	ServeArgs []string
	// User is who the server becomes after opening its sockets (-Z); ""
	// means the sudo user, or root without sudo (privdrop.Resolve).
	User string
	// ReadyTimeout bounds the wait for the server's ready signal (0 = 10 s).
	ReadyTimeout time.Duration
	// NoServer builds the namespaces only, for running another DHCP server
	// (dnsmasq, Kea, ...) in the server namespace.
	NoServer bool
}

// ErrUp is returned by Up when a namespace named like the lab's exists.
var ErrUp = errors.New("lab: already up")

// ErrBusy is returned by Up and Down while another process holds the lab's lock.
var ErrBusy = errors.New("lab: another rawlab is bringing this lab up or down")

// ErrNotLab reports a namespace or interface that is not the lab's own.
var ErrNotLab = errors.New("lab: not the lab's own")

// record is RunDir/lab.json: what Up created, so that Down removes only that.
type record struct {
	Prefix     string                  `json:"prefix"`
	Namespaces map[string]namespace.ID `json:"namespaces"`
}

// readRecord returns the lab's record; a missing one is empty.
func (l *Lab) readRecord() (*record, error) {
	rec := &record{Prefix: l.Prefix, Namespaces: map[string]namespace.ID{}}
	fi, err := os.Lstat(l.recordFile())
	if errors.Is(err, fs.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("lab: %s is not a regular file", l.recordFile())
	}
	b, err := os.ReadFile(l.recordFile())
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", l.recordFile(), err)
	}
	if rec.Namespaces == nil {
		rec.Namespaces = map[string]namespace.ID{}
	}
	return rec, nil
}

// writeRecord replaces the record (a temporary file and a rename).
func (l *Lab) writeRecord(rec *record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	tmp := l.recordFile() + ".new"
	f, err := outfile.CreateFor(tmp, 0o600, privdrop.Identity{UID: -1, GID: -1})
	if err != nil {
		return fmt.Errorf("lab: record: %w", err)
	}
	_, werr := f.Write(append(b, '\n'))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, l.recordFile())
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("lab: record: %w", werr)
	}
	return nil
}

// owned reports whether the named namespace exists and is the one rec
// recorded (same device and inode), not a namesake.
func owned(rec *record, name string) bool {
	want, ok := rec.Namespaces[name]
	if !ok {
		return false
	}
	got, err := namespace.Lookup(name)
	return err == nil && got == want
}

// Namespaces lists the lab's namespaces that exist and that Up recorded
// as its own, sorted.
func (l *Lab) Namespaces() ([]string, error) {
	rec, err := l.readRecord()
	if err != nil {
		return nil, err
	}
	var out []string
	for name := range rec.Namespaces {
		if l.isOurs(name) && owned(rec, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// isOurs reports whether name is shaped like one of this lab's namespaces.
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

// end is one veth pair: ifname in ns, port in the switch.
type end struct{ ns, ifname, port, mac, cidr string }

// Up builds the lab and starts its DHCP server, waiting for the server's
// ready signal. If anything fails, what this call built is removed again;
// nothing else is touched.
func (l *Lab) Up(ctx context.Context, cfg Config) (err error) {
	if cfg.Hosts < 0 || cfg.Hosts > 50 {
		return fmt.Errorf("lab: %d hosts: want 0 to 50", cfg.Hosts)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("lab: building namespaces needs root: %w", fs.ErrPermission)
	}
	if err := outfile.MkdirPrivate(l.RunDir, privdrop.Identity{UID: -1, GID: -1}); err != nil {
		return fmt.Errorf("lab: run directory: %w", err)
	}
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	// A namespace by one of the lab's names, whoever made it, is left
	// alone, and so is the record of the lab that may own it.
	wanted := []string{l.NS(RoleClient), l.NS(RoleSwitch), l.NS(RoleServer)}
	for i := 1; i <= cfg.Hosts; i++ {
		wanted = append(wanted, l.NS(fmt.Sprintf("%s%d", roleHost, i)))
	}
	for _, name := range wanted {
		if _, err := os.Lstat(filepath.Join(namespace.Dir, name)); err == nil {
			return fmt.Errorf("%w: %s exists (run `rawlab lab down` first)", ErrUp, name)
		}
	}
	rec := &record{Prefix: l.Prefix, Namespaces: map[string]namespace.ID{}}
	defer func() {
		if err != nil {
			if derr := l.teardown(rec, true); derr != nil {
				err = fmt.Errorf("%w (and cleaning up: %v)", err, derr)
			}
		}
	}()
	ends := []end{
		{l.NS(RoleClient), ClientIface, "c0", MAC(2), ""},
		{l.NS(RoleServer), Iface, "s0", MAC(1), ServerCIDR},
	}
	for i := 1; i <= cfg.Hosts; i++ {
		ends = append(ends, end{l.NS(fmt.Sprintf("%s%d", roleHost, i)), Iface, fmt.Sprintf("h%d", i), MAC(10 + i), HostCIDR(i)})
	}
	for _, e := range ends {
		if e.cidr == "" {
			continue
		}
		if p := netip.MustParsePrefix(e.cidr); !labNet.Contains(p.Addr()) || p.Bits() < labNet.Bits() {
			return fmt.Errorf("lab: %s is outside %s", p, labNet)
		}
	}
	names := []string{l.NS(RoleClient), l.NS(RoleSwitch), l.NS(RoleServer)}
	for _, e := range ends[2:] {
		names = append(names, e.ns)
	}
	// 1. The namespaces (IPv6 off, lo up), each recorded as soon as it
	// exists, so that a crash leaves a record Down can act on.
	for _, name := range names {
		id, err := namespace.Create(name)
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		rec.Namespaces[name] = id
		if err := l.writeRecord(rec); err != nil {
			return err
		}
	}
	// 2. Links, the bridge and addresses.
	if err := build(l.NS(RoleSwitch), ends); err != nil {
		return err
	}
	if cfg.NoServer {
		return nil
	}
	return l.startServer(ctx, cfg)
}

// Down stops the server and removes the namespaces Up recorded and that
// are still the ones it created. It is idempotent: a lab that is not up is
// not an error.
func (l *Lab) Down(ctx context.Context) error {
	if _, err := os.Lstat(l.RunDir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := outfile.MkdirPrivate(l.RunDir, privdrop.Identity{UID: -1, GID: -1}); err != nil {
		return fmt.Errorf("lab: run directory: %w", err)
	}
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := l.readRecord()
	if err != nil {
		return err
	}
	return l.teardown(rec, false)
}

// teardown stops the server and removes what rec records. With mine (a
// failed Up), only a server this process started is stopped.
func (l *Lab) teardown(rec *record, mine bool) error {
	var errs []error
	if !mine || l.proc != nil {
		if err := l.stopServer(); err != nil {
			errs = append(errs, err)
		}
	}
	var ours []string
	for name := range rec.Namespaces {
		if owned(rec, name) {
			ours = append(ours, name)
		}
	}
	sort.Strings(ours)
	for _, ns := range ours {
		// Processes left in the lab (a client someone started with
		// `lab exec`) would keep the namespace alive after its name is gone.
		if err := namespace.Kill(ns, 2*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ns := range ours {
		if err := namespace.Delete(ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if mine && len(rec.Namespaces) == 0 {
		return nil // nothing built, no record written: leave the file alone
	}
	if err := os.Remove(l.recordFile()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("lab: %w", err)
	}
	return nil
}

// InServerNamespace reports, for `lab serve`, whether the calling thread is
// in this lab's server namespace as Up recorded it; ErrNotLab if not.
func (l *Lab) InServerNamespace() error {
	rec, err := l.readRecord()
	if err != nil {
		return err
	}
	name := l.NS(RoleServer)
	self, err := namespace.Self()
	if err != nil {
		return err
	}
	if want, ok := rec.Namespaces[name]; !ok || want != self || !owned(rec, name) {
		return fmt.Errorf("%w: this process is not in the lab's server namespace %s", ErrNotLab, name)
	}
	return nil
}

// ServerInterface checks, in the calling thread's namespace, that ifname
// is a link the lab made (its alias is LinkAlias); ErrNotLab if not.
func ServerInterface(ifname string) error { return serverInterface(ifname) }

// IsName reports whether s is meant as a lab namespace: a short name, or
// anything carrying the prefix (Exec then says whether it is one).
func (l *Lab) IsName(s string) bool {
	switch s {
	case "client", "srv", "server", "sw", "switch":
		return true
	}
	return strings.HasPrefix(s, l.Prefix) || l.isOurs(l.NS(s))
}

// ServeHere refuses to serve anywhere but on the lab's own link (ifname)
// in its server namespace as Up recorded it. With outside, for tests that
// build namespaces of their own, it accepts any named namespace (one under
// /run/netns), never an unnamed one such as the host's.
func (l *Lab) ServeHere(ifname string, outside bool) error {
	if outside {
		if _, err := namespace.Named(); err != nil {
			return fmt.Errorf("lab: refusing to serve outside a named network namespace: %w", err)
		}
		return nil
	}
	if err := l.InServerNamespace(); err != nil {
		return err
	}
	return ServerInterface(ifname)
}
