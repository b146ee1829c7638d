//go:build linux

package capture

import (
	"io"
	"os"
	"syscall"

	"unsafe"

	"golang.org/x/sys/unix"
)

// rawFile writes to a regular file with a raw write(2), which the Go
// scheduler does not see: entering a system call the ordinary way wakes the
// runtime's sysmon thread when it sleeps (it does, every time the capture
// waits for the ring), and it then polls every 20 µs for a while; at
// capture rates that thread's wake-ups cost more than the writes. A write
// to a local regular file returns promptly, so holding the scheduler's P
// through it is harmless. Anything else (a pipe, a device, a FIFO) is
// written through the *os.File.
type rawFile struct {
	fd int
	f  *os.File // kept alive while fd is in use
}

// fileWriter returns the writer the Recorder uses for f.
func fileWriter(f *os.File) io.Writer {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return f
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return f
	}
	fd := -1
	if err := rc.Control(func(d uintptr) { fd = int(d) }); err != nil || fd < 0 {
		return f
	}
	return &rawFile{fd: fd, f: f}
}

// Write writes all of b, as os.File does, retrying on EINTR and after
// short writes.
func (w *rawFile) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(w.fd), uintptr(unsafePointer(b[n:])), uintptr(len(b)-n))
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return n, &os.PathError{Op: "write", Path: w.f.Name(), Err: errno}
		}
		if m == 0 {
			return n, &os.PathError{Op: "write", Path: w.f.Name(), Err: io.ErrShortWrite}
		}
		n += int(m)
	}
	return n, nil
}

// unsafePointer is the address of b's first byte.
func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }
