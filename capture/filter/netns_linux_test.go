//go:build linux

package filter

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/netnstest"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// upLink adds an up Ethernet link rlf0 to ns: one end of a veth pair whose
// other end, rlf1, stays in ns too (the kernel may lack the dummy driver).
func upLink(t *testing.T, ns *netnstest.NS) {
	t.Helper()
	ns.Exec(t, "ip", "link", "add", "rlf0", "type", "veth", "peer", "name", "rlf1")
	ns.Exec(t, "ip", "link", "set", "rlf0", "up")
	ns.Exec(t, "ip", "link", "set", "rlf1", "up")
}

// dummyNamespace creates a namespace holding an up Ethernet interface rlf0
// (a veth connected to nothing else), so that tcpdump -d -i compiles for
// a live Linux interface. It returns a command builder for that namespace.
func dummyNamespace(t *testing.T) func(ctx context.Context, name string, args ...string) *exec.Cmd {
	t.Helper()
	ns := netnstest.New(t, "rlfd")
	upLink(t, ns)
	return ns.Command
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openPacket opens an AF_PACKET SOCK_RAW socket in ns. With receive set it
// is bound to ifname for every protocol, with prog attached first (nil:
// none); without, it only sends.
func openPacket(ns *netnstest.NS, ifname string, prog []bpf.RawInstruction, receive bool) (int, error) {
	fd := -1
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		// Protocol 0: no frame is queued before the filter is attached.
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if !receive {
			return nil
		}
		if prog != nil {
			if err := attach(fd, prog); err != nil {
				return err
			}
		}
		tv := unix.Timeval{Sec: 2}
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index})
	})
	if err != nil && fd >= 0 {
		unix.Close(fd)
		return -1, err
	}
	return fd, err
}

// packetSocket is openPacket closed at the end of the test.
func packetSocket(t *testing.T, ns *netnstest.NS, ifname string, prog []bpf.RawInstruction, receive bool) int {
	t.Helper()
	fd, err := openPacket(ns, ifname, prog, receive)
	if err != nil {
		t.Fatalf("packet socket on %s: %v", ifname, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func attach(fd int, prog []bpf.RawInstruction) error {
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fp := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp)
}

// TestKernelVerifier attaches every program compiled from the corpus, in
// both flavours, with SO_ATTACH_FILTER: the kernel's checker must accept
// them all. A broken program must be refused, so the check can fail.
func TestKernelVerifier(t *testing.T) {
	netnstest.Require(t)
	ns := netnstest.New(t, "rlfv")
	upLink(t, ns)
	fd := packetSocket(t, ns, "rlf0", nil, true)

	bad := []bpf.RawInstruction{{Op: 0x28, K: 12}, {Op: 0x15, Jt: 5, Jf: 0, K: 0x800}, {Op: 0x06, K: 0}}
	if err := attach(fd, bad); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("kernel accepted a program with a jump out of range: %v", err)
	}
	n := 0
	for _, e := range readExpressions(t) {
		for _, kernel := range []bool{false, true} {
			prog, err := CompileRaw(e, Options{KernelVLAN: kernel})
			if err != nil {
				t.Errorf("%q: %v", e, err)
				continue
			}
			if err := attach(fd, prog); err != nil {
				t.Errorf("%q (KernelVLAN %v): SO_ATTACH_FILTER: %v\n%s", e, kernel, err, DumpRaw(prog))
				continue
			}
			n++
		}
	}
	t.Logf("kernel accepted %d programs", n)
}

// TestKernelRunsFilter sends the frame corpus through a veth pair and checks
// that the kernel running each KernelVLAN program on the receiving side
// delivers exactly the frames the interpreter accepts. On receive the
// kernel strips the outer 802.1Q/802.1ad tag into auxiliary data, which is
// what the ancillary loads of the program see.
func TestKernelRunsFilter(t *testing.T) {
	netnstest.Require(t)
	a := netnstest.New(t, "rlfa")
	b := netnstest.New(t, "rlfb")
	netnstest.Veth(t, a, "va", b, "vb")
	tx := packetSocket(t, a, "va", nil, false)
	all := packetSocket(t, b, "vb", nil, true)
	txIfi := 0
	if err := a.Do(func() error {
		ifi, err := net.InterfaceByName("va")
		if err == nil {
			txIfi = ifi.Index
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// The veth carrier comes up asynchronously: probe until a frame gets
	// through (bounded), instead of sleeping.
	probe := make([]byte, 60)
	copy(probe, []byte{0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x98, 0x88, 0xb6})
	buf := make([]byte, 65536)
	tv := unix.Timeval{Usec: 50000}
	if err := unix.SetsockoptTimeval(all, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	for try := 0; ; try++ {
		if try == 100 {
			t.Fatal("veth never carried a probe frame")
		}
		if err := unix.Sendto(tx, probe, 0, &unix.SockaddrLinklayer{Ifindex: txIfi}); err != nil {
			t.Fatal(err)
		}
		if n, _, err := unix.Recvfrom(all, buf, 0); err == nil && string(buf[:n]) == string(probe) {
			break
		}
	}
	tv = unix.Timeval{Sec: 2}
	if err := unix.SetsockoptTimeval(all, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	var frames []frame
	for _, f := range testFrames(t) {
		if len(f.data) < 14 || len(f.data) > 1514 {
			continue // a packet socket cannot send these
		}
		if tpid := binary.BigEndian.Uint16(f.data[12:]); (tpid == 0x8100 || tpid == 0x88a8) && len(f.data) < 20 {
			// skb_vlan_untag drops a tagged frame without the 2 bytes of an
			// inner EtherType: no filter ever sees it.
			continue
		}
		frames = append(frames, f)
	}
	exprs := readExpressions(t)
	pairs := 0
	for i, e := range exprs {
		prog, err := CompileRaw(e, Options{KernelVLAN: true})
		if err != nil {
			t.Fatalf("%q: %v", e, err)
		}
		filtered, err := openPacket(b, "vb", prog, true)
		if err != nil {
			t.Fatalf("%q: %v", e, err)
		}
		// Send in batches, each followed by a sentinel frame: once the
		// unfiltered socket has the sentinel, everything before it has been
		// through the filtered socket too. Batches keep the backlog and the
		// socket buffers from overflowing.
		got := map[string]int{}
		var sentinels [][]byte
		const batch = 40
		for start := 0; start < len(frames); start += batch {
			sentinel := make([]byte, 60)
			copy(sentinel, []byte{0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x98, 0x88, 0xb5})
			binary.BigEndian.PutUint32(sentinel[14:], uint32(i))
			binary.BigEndian.PutUint32(sentinel[18:], uint32(start))
			sentinels = append(sentinels, sentinel)
			for _, f := range frames[start:min(start+batch, len(frames))] {
				if err := unix.Sendto(tx, f.data, 0, &unix.SockaddrLinklayer{Ifindex: txIfi}); err != nil {
					t.Fatalf("send %s: %v", f.name, err)
				}
			}
			if err := unix.Sendto(tx, sentinel, 0, &unix.SockaddrLinklayer{Ifindex: txIfi}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				n, _, err := unix.Recvfrom(all, buf, 0)
				if err != nil || time.Now().After(deadline) {
					t.Fatalf("%q: waiting for the sentinel: %v", e, err)
				}
				if n == len(sentinel) && string(buf[:n]) == string(sentinel) {
					break
				}
			}
			for {
				n, _, err := unix.Recvfrom(filtered, buf, unix.MSG_DONTWAIT)
				if errors.Is(err, unix.EAGAIN) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got[string(buf[:n])]++
			}
		}
		want := map[string]int{}
		for _, f := range frames {
			data, ax := f.data, aux{}
			if s, sax, ok := stripped(f.data); ok {
				data, ax = s, sax
			}
			v, err := run(prog, data, ax)
			if err != nil {
				t.Fatal(err)
			}
			if v != 0 {
				want[string(data)]++
			}
			pairs++
		}
		// The sentinels themselves may pass the filter.
		for _, sentinel := range sentinels {
			if v, _ := run(prog, sentinel, aux{}); v != 0 {
				want[string(sentinel)]++
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			missing, extra := 0, 0
			for k, n := range want {
				if got[k] < n {
					missing += n - got[k]
					t.Logf("missed % x", k)
				}
			}
			for k, n := range got {
				if want[k] < n {
					extra += n - want[k]
				}
			}
			t.Errorf("%q: kernel delivered %d frames the interpreter rejects and missed %d it accepts", e, extra, missing)
		}
		if err := unix.Close(filtered); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("kernel ran %d KernelVLAN programs over %d frames: %d verdicts matched the interpreter", len(exprs), len(frames), pairs)
}
