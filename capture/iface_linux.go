//go:build linux

package capture

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// lookupInterface implements LookupInterface.
func lookupInterface(name string) (*net.Interface, error) {
	ifi, hwType, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if hwType != unix.ARPHRD_ETHER {
		return nil, fmt.Errorf("capture: interface %s: %w (%s)", name, ErrNotEthernet, arphrdName(hwType))
	}
	if ifi.Flags&net.FlagUp == 0 {
		return nil, fmt.Errorf("capture: interface %s: %w", name, ErrInterfaceDown)
	}
	return ifi, nil
}

// lookup asks the kernel, through ioctls on a throwaway AF_UNIX socket
// (netdevice(7)), for the index, flags and hardware type of an interface.
func lookup(name string) (*net.Interface, uint16, error) {
	if name == "" || len(name) >= unix.IFNAMSIZ {
		return nil, 0, fmt.Errorf("capture: interface %q: %w", name, ErrNoInterface)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("capture: interface %s: %w", name, os.NewSyscallError("socket", err))
	}
	defer unix.Close(fd)

	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return nil, 0, fmt.Errorf("capture: interface %q: %w", name, ErrNoInterface)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return nil, 0, fmt.Errorf("capture: interface %s: %w", name, ErrNoInterface)
		}
		return nil, 0, fmt.Errorf("capture: interface %s: %w", name, os.NewSyscallError("ioctl SIOCGIFINDEX", err))
	}
	index := int(ifr.Uint32())

	ifr, _ = unix.NewIfreq(name)
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return nil, 0, fmt.Errorf("capture: interface %s: %w", name, os.NewSyscallError("ioctl SIOCGIFHWADDR", err))
	}
	// ifr_hwaddr is a struct sockaddr whose sa_family holds the ARPHRD_*
	// type (netdevice(7)); Uint16 reads those first two bytes.
	hwType := ifr.Uint16()

	ifi, err := net.InterfaceByIndex(index)
	if err != nil {
		// Renamed or deleted between the two calls.
		return nil, 0, fmt.Errorf("capture: interface %s: %w", name, ErrNoInterface)
	}
	return ifi, hwType, nil
}

// arphrdName names the common ARPHRD_* types (linux/if_arp.h).
func arphrdName(t uint16) string {
	switch t {
	case unix.ARPHRD_LOOPBACK:
		return "loopback"
	case unix.ARPHRD_NONE:
		return "no link layer (tun, wireguard)"
	case unix.ARPHRD_IEEE80211_RADIOTAP:
		return "802.11 radiotap"
	case unix.ARPHRD_INFINIBAND:
		return "InfiniBand"
	case unix.ARPHRD_PPP:
		return "PPP"
	case unix.ARPHRD_IPGRE:
		return "GRE"
	case unix.ARPHRD_TUNNEL, unix.ARPHRD_SIT:
		return "IP tunnel"
	case unix.ARPHRD_CAN:
		return "CAN"
	default:
		return fmt.Sprintf("ARPHRD %d", t)
	}
}
