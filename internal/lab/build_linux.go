package lab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/rawlab/rawlab/internal/namespace"
)

// handle opens an rtnetlink handle whose sockets live in the named namespace.
func handle(name string) (*netlink.Handle, error) {
	ns, err := netns.GetFromPath(filepath.Join(namespace.Dir, name))
	if err != nil {
		return nil, fmt.Errorf("lab: open namespace %s: %w", name, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("lab: netlink in %s: %w", name, err)
	}
	return h, nil
}

// build creates each veth pair directly in its two namespaces (nothing
// touches the caller's namespace), the bridge in the switch (STP off, so
// ports forward at once), and the ends' addresses, labelling every link.
func build(sw string, ends []end) error {
	hs := map[string]*netlink.Handle{}
	defer func() {
		for _, h := range hs {
			h.Close()
		}
	}()
	get := func(name string) (*netlink.Handle, error) {
		if h, ok := hs[name]; ok {
			return h, nil
		}
		h, err := handle(name)
		if err == nil {
			hs[name] = h
		}
		return h, err
	}
	swh, err := get(sw)
	if err != nil {
		return err
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: Bridge}}
	if err := swh.LinkAdd(br); err != nil {
		return fmt.Errorf("lab: %s: bridge %s: %w", sw, Bridge, err)
	}
	if err := labelUp(swh, Bridge); err != nil {
		return fmt.Errorf("lab: %s: %w", sw, err)
	}
	swfd, err := netns.GetFromPath(filepath.Join(namespace.Dir, sw))
	if err != nil {
		return fmt.Errorf("lab: %s: %w", sw, err)
	}
	defer swfd.Close()
	for _, e := range ends {
		h, err := get(e.ns)
		if err != nil {
			return err
		}
		mac, err := net.ParseMAC(e.mac)
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		// Created from the end's namespace, with the peer sent straight
		// into the switch's.
		v := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: e.ifname, HardwareAddr: mac},
			PeerName:      e.port,
			PeerNamespace: netlink.NsFd(swfd),
		}
		if err := h.LinkAdd(v); err != nil {
			return fmt.Errorf("lab: veth %s:%s <-> %s:%s: %w", e.ns, e.ifname, sw, e.port, err)
		}
		port, err := swh.LinkByName(e.port)
		if err != nil {
			return fmt.Errorf("lab: %s: %s: %w", sw, e.port, err)
		}
		if err := swh.LinkSetMasterByIndex(port, br.Attrs().Index); err != nil {
			return fmt.Errorf("lab: %s: %s master %s: %w", sw, e.port, Bridge, err)
		}
		if err := labelUp(swh, e.port); err != nil {
			return fmt.Errorf("lab: %s: %w", sw, err)
		}
		if err := labelUp(h, e.ifname); err != nil {
			return fmt.Errorf("lab: %s: %w", e.ns, err)
		}
		if e.cidr == "" {
			continue
		}
		a, err := netlink.ParseAddr(e.cidr)
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		link, err := h.LinkByName(e.ifname)
		if err != nil {
			return fmt.Errorf("lab: %s: %w", e.ns, err)
		}
		if err := h.AddrAdd(link, a); err != nil {
			return fmt.Errorf("lab: %s: address %s: %w", e.ns, e.cidr, err)
		}
		if err := noTxChecksum(e.ns, e.ifname); err != nil {
			return err
		}
	}
	return nil
}

// labelUp sets the lab's alias on the link and brings it up.
func labelUp(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := h.LinkSetAlias(link, LinkAlias); err != nil {
		return fmt.Errorf("%s alias: %w", name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("%s up: %w", name, err)
	}
	return nil
}

// ethtoolSTXCSUM is ETHTOOL_STXCSUM (linux/ethtool.h): set TX checksumming.
const ethtoolSTXCSUM = 0x00000017

// noTxChecksum turns transmit checksum offload off on ifname in the
// namespace, as `ethtool -K IF tx off` does (SIOCETHTOOL, ETHTOOL_STXCSUM).
// A veth hands its peer UDP packets whose checksum the kernel never filled
// in; the peer's raw sockets, and so rawlab's captures, would show them as
// "bad udp cksum", which no real wire carries.
func noTxChecksum(name, ifname string) error {
	return namespace.Do(name, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("lab: %s: socket: %w", name, err)
		}
		defer unix.Close(fd)
		val := struct{ cmd, data uint32 }{ethtoolSTXCSUM, 0} // struct ethtool_value
		var ifr struct {
			name [unix.IFNAMSIZ]byte
			data uintptr
			_    [16]byte
		}
		copy(ifr.name[:], ifname)
		ifr.data = uintptr(unsafe.Pointer(&val))
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
		runtime.KeepAlive(&val)
		if errno != 0 {
			return fmt.Errorf("lab: %s: %s: turn TX checksum offload off: %w", name, ifname, errno)
		}
		return nil
	})
}

// lock takes the lab's flock(2), without waiting.
func (l *Lab) lock() (func(), error) {
	fd, err := unix.Open(l.lockFile(), unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lab: lock %s: %w", l.lockFile(), err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("lab: lock %s: %w", l.lockFile(), err)
	}
	return func() { unix.Close(fd) }, nil
}

// links lists the links of the named namespace, lo left out.
func links(name string) ([]Link, error) {
	h, err := handle(name)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	ls, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("lab: %s: links: %w", name, err)
	}
	byIndex := map[int]string{}
	for _, k := range ls {
		byIndex[k.Attrs().Index] = k.Attrs().Name
	}
	out := []Link{}
	for _, k := range ls {
		a := k.Attrs()
		if a.Name == "lo" {
			continue
		}
		lk := Link{Name: a.Name, MAC: a.HardwareAddr.String(), State: strings.ToUpper(a.OperState.String()),
			Up: a.Flags&net.FlagUp != 0, Master: byIndex[a.MasterIndex], Addrs: []string{}}
		addrs, err := h.AddrList(k, netlink.FAMILY_V4)
		if err != nil {
			return nil, fmt.Errorf("lab: %s: addresses of %s: %w", name, a.Name, err)
		}
		for _, ad := range addrs {
			lk.Addrs = append(lk.Addrs, ad.IPNet.String())
		}
		out = append(out, lk)
	}
	return out, nil
}

func serverInterface(ifname string) error {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("lab: %s: %w", ifname, err)
	}
	if link.Attrs().Alias != LinkAlias {
		return fmt.Errorf("%w: interface %s was not made by the lab", ErrNotLab, ifname)
	}
	return nil
}

// detached puts the server in its own session, away from the terminal.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// execIn replaces this process with path in the named namespace, as
// `ip netns exec` does: a locked thread enters the namespace and a new
// mount namespace in which /sys is the namespace's, then calls execve(2).
// It returns only on failure.
func execIn(name, path string, args, env []string) error {
	ns, err := netns.GetFromPath(filepath.Join(namespace.Dir, name))
	if err != nil {
		return fmt.Errorf("lab: open namespace %s: %w", name, err)
	}
	defer ns.Close()
	runtime.LockOSThread() // never unlocked: this thread execs or is left behind
	if err := netns.Set(ns); err != nil {
		return fmt.Errorf("lab: enter namespace %s: %w", name, err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("lab: unshare mounts: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("lab: mounts private: %w", err)
	}
	if err := unix.Unmount("/sys", unix.MNT_DETACH); err == nil {
		if err := unix.Mount(name, "/sys", "sysfs", 0, ""); err != nil {
			return fmt.Errorf("lab: mount /sys: %w", err)
		}
	}
	err = unix.Exec(path, args, env)
	return fmt.Errorf("lab: exec %s: %w", path, err)
}

// lookPath finds a command the user named for `lab exec`, as execvp(3)
// would, but only in absolute PATH directories that are owned by root and
// writable by no one else, as sudo's secure_path would hold: a directory
// any user can write could hand root their program.
func lookPath(file string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if !filepath.IsAbs(dir) || !rootOnly(dir) {
			continue
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("lab: %q not found in a root-owned PATH directory (give its full path)", file)
}

// rootOnly reports whether dir is owned by root and not writable by group
// or others (following symlinks, as the lookup does).
func rootOnly(dir string) bool {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return false
	}
	return st.Uid == 0 && st.Mode&0o022 == 0
}
