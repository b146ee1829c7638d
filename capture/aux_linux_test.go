//go:build linux

package capture

import (
	"errors"
	"io"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzParseControlUnix checks parseControl's walk over the control
// messages against x/sys/unix's ParseSocketControlMessage: where
// parseControl accepts a buffer, x/sys accepts it too, and decoding the
// messages x/sys finds, in order, gives what parseControl reported.
func FuzzParseControlUnix(f *testing.F) {
	f.Add(concat(cmsg(solSocket, scmTimestampNSOld, timespec(1, 2)), cmsg(solPacket, packetAuxdata, auxdata(0x50, 60, 10, 0x8100))))
	f.Add(concat(cmsg(solSocket, 99, []byte{1, 2, 3}), cmsg(solPacket, packetAuxdata, auxdata(tpStatusCsumNotReady, 60, 0, 0))))
	f.Add(cmsg(solSocket, scmTimestampNSNew, make([]byte, 16)))
	f.Fuzz(func(t *testing.T, oob []byte) {
		var got FrameInfo
		if err := parseControl(oob, &got); err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("error %v is not io.ErrUnexpectedEOF", err)
			}
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob)
		if err != nil {
			t.Fatalf("parseControl accepted what x/sys refuses: %v", err)
		}
		var want FrameInfo
		for _, m := range msgs {
			if err := parseControl(cmsg(m.Header.Level, m.Header.Type, m.Data), &want); err != nil {
				t.Fatalf("message %+v alone: %v", m.Header, err)
			}
		}
		if !got.Time.Equal(want.Time) {
			t.Fatalf("time %v, x/sys walk gives %v", got.Time, want.Time)
		}
		got.Time = want.Time
		if got != want {
			t.Fatalf("info %+v, x/sys walk gives %+v", got, want)
		}
	})
}
