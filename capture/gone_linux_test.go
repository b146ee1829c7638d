//go:build linux

package capture

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// goneWithin is how long a read may take to notice that its interface was
// deleted. The kernel reports it at once (packet_notifier); the bound only
// keeps a broken implementation from hanging the test.
const goneWithin = 10 * time.Second

// TestInterfaceGone starts a read that blocks on a quiet interface, deletes
// the interface, and expects the read to return an error wrapping
// ErrInterfaceGone (a *net.OpError), for each kind of reader. A later read
// fails the same way or as closed, never blocks, and a write on the gone
// interface (send-only too) fails with ErrInterfaceGone.
func TestInterfaceGone(t *testing.T) {
	// open builds a namespace with a0, opens the reader (and a writer)
	// on it, and returns them with a function that takes a0 "down" or
	// deletes it ("del").
	type reader struct {
		name string
		open func(t *testing.T) (read, write func(context.Context) error, link func(op string))
	}
	for _, tt := range []reader{
		{"recvmmsg", func(t *testing.T) (func(context.Context) error, func(context.Context) error, func(string)) {
			a, _ := labPair(t)
			c := listenIn(t, a, "a0", Config{Filter: discardFilter(t)})
			so := listenIn(t, a, "a0", Config{SendOnly: true})
			buf := make([]byte, 2048)
			return func(ctx context.Context) error {
					_, _, err := c.ReadFrame(ctx, buf)
					return err
				}, func(ctx context.Context) error {
					return so.WriteFrame(ctx, make([]byte, 60))
				}, linkCtl(t, a, "a0")
		}},
		{"conn ring", func(t *testing.T) (func(context.Context) error, func(context.Context) error, func(string)) {
			a, _ := labPair(t)
			c := listenIn(t, a, "a0", Config{Filter: discardFilter(t), RingSize: 128 << 10})
			msgs := []Msg{{Buf: make([]byte, 2048)}}
			return func(ctx context.Context) error {
					_, err := c.ReadFrames(ctx, msgs)
					return err
				}, func(ctx context.Context) error {
					return c.WriteFrame(ctx, make([]byte, 60))
				}, linkCtl(t, a, "a0")
		}},
		{"ring", func(t *testing.T) (func(context.Context) error, func(context.Context) error, func(string)) {
			a, _ := labPair(t)
			r := ringIn(t, a, "a0", RingConfig{Filter: discardFilter(t), BlockSize: 1 << 16, NumBlocks: 2})
			frames := make([]Frame, 8)
			return func(ctx context.Context) error {
				_, err := r.ReadBatch(ctx, frames)
				return err
			}, nil, linkCtl(t, a, "a0")
		}},
	} {
		for _, downFirst := range []bool{false, true} {
			name := tt.name
			if downFirst {
				// The link goes down first, which a read reports; the
				// deletion that follows, the kernel reports to nobody.
				name += "/down first"
			}
			t.Run(name, func(t *testing.T) {
				read, write, link := tt.open(t)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if downFirst {
					link("down")
					if err := read(ctx); !errors.Is(err, ErrInterfaceGone) {
						t.Fatalf("read after link down: %v; want ErrInterfaceGone", err)
					}
				}
				started := make(chan struct{})
				errc := make(chan error, 1)
				go func() {
					close(started)
					errc <- read(ctx)
				}()
				<-started
				deleted := time.Now()
				link("del")
				var err error
				select {
				case err = <-errc:
				case <-time.After(goneWithin):
					t.Fatalf("read still blocked %v after the interface was deleted", goneWithin)
				}
				var op *net.OpError
				if !errors.Is(err, ErrInterfaceGone) || !errors.As(err, &op) {
					t.Fatalf("read after delete: %v; want a *net.OpError wrapping ErrInterfaceGone", err)
				}
				t.Logf("read returned %v after %v", err, time.Since(deleted))
				// Reading again must not block either.
				short, cancelShort := context.WithTimeout(ctx, goneWithin)
				defer cancelShort()
				if err := read(short); !errors.Is(err, ErrInterfaceGone) {
					t.Errorf("second read: %v; want ErrInterfaceGone at once", err)
				}
				if write != nil {
					if err := write(ctx); !errors.Is(err, ErrInterfaceGone) {
						t.Errorf("write after delete: %v; want ErrInterfaceGone", err)
					}
				}
			})
		}
	}
}

// linkCtl returns a function that takes the link ifname in ns "down" or
// deletes it ("del").
func linkCtl(t *testing.T, ns *netnstest.NS, ifname string) func(op string) {
	link := ns.Link(t, ifname)
	return func(op string) {
		var err error
		switch op {
		case "down":
			err = ns.Netlink().LinkSetDown(link)
		case "del":
			err = ns.Netlink().LinkDel(link)
		default:
			t.Fatalf("linkCtl: unknown op %q", op)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", op, ifname, err)
		}
	}
}

// TestInterfaceDown: taking the interface down ends a read as libpcap
// ends it (ENETDOWN, "The interface disappeared"), with ErrInterfaceGone;
// once the interface is up again, the same socket receives again.
func TestInterfaceDown(t *testing.T) {
	a, b := labPair(t)
	rx := listenIn(t, a, "a0", Config{Filter: discardFilter(t)})
	tx := listenIn(t, b, "b0", Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	buf := make([]byte, 2048)
	go func() {
		_, _, err := rx.ReadFrame(ctx, buf)
		errc <- err
	}()
	a.LinkDown(t, "a0")
	select {
	case err := <-errc:
		if !errors.Is(err, ErrInterfaceGone) {
			t.Fatalf("read after link down: %v; want ErrInterfaceGone", err)
		}
	case <-time.After(goneWithin):
		t.Fatalf("read still blocked %v after the link went down", goneWithin)
	}
	a.LinkUp(t, "a0")
	frame := udpFrameTo(tx.Interface().HardwareAddr, rx.Interface().HardwareAddr)
	// The veth peer carries frames once both ends are up again (carrier):
	// resend until one arrives, a bounded number of times.
	for i := 0; ; i++ {
		if err := tx.WriteFrame(ctx, frame); err != nil {
			t.Fatal(err)
		}
		short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
		n, _, err := rx.ReadFrame(short, buf)
		cancelShort()
		if err == nil && n == len(frame) {
			break
		}
		if !errors.Is(err, context.DeadlineExceeded) || i == 50 {
			t.Fatalf("read after link up (try %d): %v", i, err)
		}
	}
}
