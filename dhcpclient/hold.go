package dhcpclient

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrLeaseExpired says a held lease ran out before any server extended it.
var ErrLeaseExpired = errors.New("dhcpclient: lease expired")

// minRetry is the shortest wait between renewal attempts (RFC 2131 §4.4.5).
const minRetry = 60 * time.Second

// Hold keeps l bound until ctx ends, as RFC 2131 §4.4.5 describes: at T1 it
// renews with the leasing server (RENEWING); from T2 it rebinds with any
// server (REBINDING). After a retransmission schedule with no reply it
// tries again after half the time left until T2 (renewing) or until expiry
// (rebinding), but at least 60 s. Every extended lease is passed to update
// (to save or apply it); an error from update ends Hold.
//
// Hold returns the lease held when ctx ends, with a nil error (the caller
// then usually releases it); a *NAKError when a server refuses the lease;
// or ErrLeaseExpired.
func (c *Client) Hold(ctx context.Context, l *Lease, update func(*Lease) error) (*Lease, error) {
	if err := l.check(); err != nil {
		return l, err
	}
	if l.Infinite() {
		<-ctx.Done()
		return l, nil
	}
	var next time.Time // when to try next; zero: at T1
	for {
		now := time.Now()
		t1, t2, exp := l.Acquired.Add(l.T1), l.Acquired.Add(l.T2), l.Expiry()
		if !now.Before(exp) {
			return l, ErrLeaseExpired
		}
		at := next
		if at.IsZero() {
			at = t1
		}
		if at.After(exp) {
			at = exp
		}
		if d := time.Until(at); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-ctx.Done():
				timer.Stop()
				return l, nil
			case <-timer.C:
			}
			continue // re-evaluate: the lease may have expired meanwhile
		}
		if ctx.Err() != nil {
			return l, nil
		}
		var nl *Lease
		var err error
		rebinding := !now.Before(t2)
		if rebinding {
			nl, err = c.Rebind(ctx, l)
		} else {
			nl, err = c.Renew(ctx, l)
		}
		var nr *NoReplyError
		switch {
		case err == nil:
			l, next = nl, time.Time{}
			if update != nil {
				if err := update(l); err != nil {
					return l, err
				}
			}
		case ctx.Err() != nil:
			return l, nil
		case errors.As(err, &nr):
			limit := t2
			if rebinding {
				limit = exp
			}
			wait := max(time.Until(limit)/2, minRetry)
			next = time.Now().Add(wait)
			if !rebinding && next.After(t2) {
				next = t2
			}
			c.log.Info("dhcp: no reply while extending the lease", "retry", next.Format(time.RFC3339))
		default:
			return l, fmt.Errorf("dhcpclient: hold %s: %w", l.Address, err)
		}
	}
}
