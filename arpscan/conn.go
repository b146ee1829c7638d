package arpscan

import (
	"time"
)

// Msg is one received frame, filled in by Conn.ReadFrames.
type Msg struct {
	Buf  []byte    // caller-owned buffer the frame is read into
	N    int       // bytes of Buf holding the frame
	Time time.Time // when the frame arrived (the kernel's timestamp when available)
	// VLAN is the 802.1Q VLAN ID the kernel took off the frame before
	// handing it over (Linux strips tags into metadata), or -1.
	VLAN int
}

// Conn is what the scanner needs from the network: whole Ethernet frames in
// and out. Dial returns the AF_PACKET implementation; tests use a fake.
type Conn interface {
	// WriteFrames sends the frames in order and returns how many went out.
	WriteFrames(frames [][]byte) (int, error)
	// ReadFrames fills msgs[:n] with received frames. It returns frames
	// already queued even when the read deadline has passed, and otherwise
	// blocks until at least one frame arrives; with nothing queued after the
	// deadline it returns an error whose Timeout method reports true.
	ReadFrames(msgs []Msg) (n int, err error)
	// SetReadDeadline sets the deadline for ReadFrames; a time in the past
	// wakes a blocked reader.
	SetReadDeadline(t time.Time) error
	// Close releases the connection; it is safe to call twice.
	Close() error
}

// timeout reports whether err says a deadline passed.
func timeout(err error) bool {
	t, ok := err.(interface{ Timeout() bool })
	if ok && t.Timeout() {
		return true
	}
	for u := err; u != nil; {
		if t, ok := u.(interface{ Timeout() bool }); ok && t.Timeout() {
			return true
		}
		w, ok := u.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		u = w.Unwrap()
	}
	return false
}
