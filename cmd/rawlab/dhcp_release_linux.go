package main

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// deferSocketRelease makes the exit of a short `rawlab dhcp` run fast.
//
// Releasing a packet socket waits for an RCU grace period (packet_release
// calls synchronize_net in net/packet/af_packet.c): 8 to 30 ms on the lab
// VMs, more than the whole DHCP exchange. dhclient never pays it on its way
// out because its daemon keeps the socket. rawlab instead hands an extra
// reference to each of its packet sockets to a child `cat` that reads a pipe
// only this process writes to: rawlab's own close is then cheap, and when
// rawlab exits the pipe closes, cat exits, and the kernel's wait happens in
// the child, after rawlab has returned to its caller. The child gets no
// stdout or stderr, so a caller reading rawlab's output does not wait for it
// either. Any failure leaves things as they were: the sockets are then
// closed normally.
func deferSocketRelease() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	var fds []int
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		if dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN); err == nil && dom == unix.AF_PACKET {
			fds = append(fds, fd)
		}
	}
	if len(fds) == 0 {
		return
	}
	cat, err := exec.LookPath("cat")
	if err != nil {
		return
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return
	}
	closed := ^uintptr(0) // -1: the child gets no such descriptor
	files := []uintptr{uintptr(p[0]), closed, closed}
	for _, fd := range fds {
		files = append(files, uintptr(fd))
	}
	_, err = syscall.ForkExec(cat, []string{"cat"}, &syscall.ProcAttr{Files: files})
	unix.Close(p[0])
	if err != nil {
		unix.Close(p[1])
	}
	// p[1] stays open until this process exits; then cat reads EOF.
}
