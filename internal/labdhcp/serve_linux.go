package labdhcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/rawlab/rawlab/internal/privdrop"
)

func (s *Server) serve(ctx context.Context, ifname string, ready func() error) error {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("labdhcp: %w", err)
	}
	conn, err := server4.NewIPv4UDPConn(ifname, &net.UDPAddr{Port: dhcpv4.ServerPort})
	if err != nil {
		return fmt.Errorf("labdhcp: listen on %s: %w", ifname, err)
	}
	defer conn.Close()
	nl, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("labdhcp: netlink: %w", err)
	}
	defer nl.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	if ready != nil {
		if err := ready(); err != nil {
			return fmt.Errorf("labdhcp: %w", err)
		}
	}
	s.log.Info("serving", "interface", ifname, "server", s.cfg.ServerIP,
		"pool", fmt.Sprintf("%v-%v", s.cfg.PoolStart, s.cfg.PoolEnd))
	buf := make([]byte, 4096)
	for {
		n, peer, err := conn.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("labdhcp: read: %w", err)
		}
		req, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			s.log.Debug("malformed request ignored", "from", peer, "err", err)
			continue
		}
		s.log.Debug("received", "from", peer, "msg", req.Summary())
		reply := s.Handle(req)
		if reply == nil {
			continue
		}
		dst := s.destination(req, reply, peer)
		if dst.IP.Equal(net.IPv4bcast) || dst.Port == dhcpv4.ServerPort {
			// broadcast needs no neighbour; a relay answers ARP itself
		} else if err := neighbour(nl, ifi.Index, dst.IP, req.ClientHWAddr); err != nil {
			s.log.Warn("no neighbour entry, replying by broadcast", "ip", dst.IP, "err", err)
			dst = &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
		}
		if _, err := conn.WriteTo(reply.ToBytes(), dst); err != nil {
			s.log.Error("send reply", "to", dst, "err", err)
			continue
		}
		s.log.Debug("sent", "to", dst, "msg", reply.Summary())
	}
}

// destination picks where a reply goes (RFC 2131 §4.1, fourth paragraph).
func (s *Server) destination(req, reply *dhcpv4.DHCPv4, peer *net.UDPAddr) *net.UDPAddr {
	bcast := &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
	if gi := ip4(req.GatewayIPAddr); gi.IsValid() && !gi.IsUnspecified() {
		if reply.MessageType() == dhcpv4.MessageTypeNak {
			reply.SetBroadcast()
		}
		return &net.UDPAddr{IP: gi.AsSlice(), Port: dhcpv4.ServerPort}
	}
	if reply.MessageType() == dhcpv4.MessageTypeNak {
		return bcast
	}
	if ci := ip4(req.ClientIPAddr); ci.IsValid() && !ci.IsUnspecified() {
		port := dhcpv4.ClientPort
		if peer != nil && peer.Port != 0 {
			port = peer.Port
		}
		return &net.UDPAddr{IP: ci.AsSlice(), Port: port}
	}
	if req.IsBroadcast() {
		return bcast
	}
	if yi := ip4(reply.YourIPAddr); yi.IsValid() && !yi.IsUnspecified() {
		return &net.UDPAddr{IP: yi.AsSlice(), Port: dhcpv4.ClientPort}
	}
	return bcast
}

// neighbour installs ip -> mac on the interface so that the kernel sends a
// unicast reply without an ARP exchange the client cannot answer.
func neighbour(nl *netlink.Handle, ifindex int, ip net.IP, mac net.HardwareAddr) error {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok || len(mac) != 6 {
		return fmt.Errorf("labdhcp: neighbour %v %v: not IPv4 over Ethernet", ip, mac)
	}
	err := privdrop.WithNetAdmin(func() error {
		return nl.NeighSet(&netlink.Neigh{
			LinkIndex:    ifindex,
			Family:       netlink.FAMILY_V4,
			State:        netlink.NUD_REACHABLE,
			IP:           a.AsSlice(),
			HardwareAddr: mac,
		})
	})
	if err != nil {
		return fmt.Errorf("labdhcp: neighbour %v: %w", ip, err)
	}
	return nil
}

// readNoFollow reads a regular file without following a symlink at its
// final component (O_NOFOLLOW).
func readNoFollow(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return io.ReadAll(io.LimitReader(f, 16<<20))
}
