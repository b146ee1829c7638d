package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/rawlab/rawlab/dhcpclient"
	"github.com/rawlab/rawlab/internal/privdrop"
)

// dhcpOut writes a dhcp verb's results: human text, one JSON document
// (--json) or JSON lines (--jsonl). Everything but streamed offers is
// buffered and written by flush, while the socket closes.
type dhcpOut struct {
	a    *app
	p    *dhcpPlan
	c    *dhcpclient.Client
	buf  bytes.Buffer
	held *dhcpclient.Lease
	// leaseFile is --lease-file, opened before privileges were dropped.
	leaseFile *os.File
}

func (o *dhcpOut) flush() error {
	_, err := o.a.stdout.Write(o.buf.Bytes())
	o.buf.Reset()
	return err
}

// record returns v, a JSON object with fields, as a line with "record":
// kind first.
func record(kind string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(append([]byte(`{"record":"`+kind+`",`), b[1:]...), '\n'), nil
}

// emit writes the verb's result: doc as the --json document, or as the
// --jsonl summary line after one line per step.
func (o *dhcpOut) emit(doc any) error {
	if o.a.jsonl {
		for _, s := range o.c.Report().Steps {
			b, err := record("step", s)
			if err != nil {
				return err
			}
			o.buf.Write(b)
		}
		b, err := record("summary", doc)
		o.buf.Write(b)
		return err
	}
	enc := json.NewEncoder(&o.buf)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// offerLine streams one offer as a JSON line (discover --jsonl).
func (o *dhcpOut) offerLine(r *dhcpclient.Reply) {
	if b, err := record("offer", r); err == nil {
		o.a.stdout.Write(b)
	}
}

// finish prints r, the verb's outcome err included, and maps err to an
// exit status.
func (o *dhcpOut) finish(r *dhcpclient.Result, err error) error {
	r.Interface, r.Verb, r.Report = o.p.ifi.Name, o.p.verb, o.c.Report()
	if err != nil {
		r.Error, r.Interrupted = err.Error(), errors.Is(err, context.Canceled)
	}
	if o.a.json || o.a.jsonl {
		if o.p.verb == "discover" {
			r.Report.Offers = nil
		}
		if werr := o.emit(r); werr != nil {
			return werr
		}
	} else {
		dhcpclient.WriteReport(&o.buf, r.Report)
		for i, x := range append(r.Offers, r.ACK) {
			if x != nil && i > 0 {
				fmt.Fprintln(&o.buf)
			}
			if x != nil {
				dhcpclient.WriteReply(&o.buf, x)
			}
		}
		if r.Lease != nil {
			dhcpclient.WriteLease(&o.buf, r.Lease)
		}
		if r.Sent != "" && err == nil {
			fmt.Fprintf(&o.buf, "Sent DHCP%s for %s to %s (no reply is expected).\n", r.Sent, o.p.ip, o.p.leaseForVerb().Server)
		}
	}
	if err != nil {
		return outcome(o.p.verb, err)
	}
	return nil
}

func (o *dhcpOut) discover(offers []*dhcpclient.Reply, err error) error {
	var rogues []*dhcpclient.Reply
	for _, x := range o.c.Report().Offers {
		if x.Rogue {
			rogues = append(rogues, x)
		}
	}
	r := &dhcpclient.Result{Offers: append(offers, rogues...)}
	if o.a.jsonl {
		r.Offers = nil // streamed already
	}
	if err := o.finish(r, err); err != nil {
		return err
	}
	for _, s := range rogues {
		fmt.Fprintf(o.a.stderr, "rawlab: unexpected DHCP server %s (from %s, %s) offered %s\n", s.Server, s.SrcIP, s.ServerMAC, s.Address)
	}
	if len(rogues) > 0 {
		return silent(exitRogue)
	}
	return nil
}

// lease applies, saves and prints a lease from lease, request, renew or
// rebind.
func (o *dhcpOut) lease(ctx context.Context, f *dhcpFlags, l *dhcpclient.Lease, err error) error {
	if err == nil {
		err = privdrop.WithNetAdmin(func() error { return dhcpclient.Commit(l, o.p.apply, o.leaseFile) })
		// RFC 5227 §2.3: a host that begins to use an address it probed
		// with the full check announces it.
		if err == nil && f.apply && o.p.cfg.ARPCheck == dhcpclient.ARPCheckRFC5227 {
			err = o.c.Announce(ctx, l.Address)
		}
	}
	if err == nil {
		o.held = l
	}
	if err := o.finish(&dhcpclient.Result{Lease: l, Applied: l != nil && l.Applied != nil}, err); err != nil || !f.releaseOnExit {
		return err
	}
	return o.flush()
}

// sent runs release or decline (one message, no reply) and prints it.
func (o *dhcpOut) sent(ctx context.Context) error {
	l := o.p.leaseForVerb()
	var err error
	if o.p.verb == "release" {
		if err = o.c.Release(ctx, l); err == nil {
			err = privdrop.WithNetAdmin(func() error { return dhcpclient.Retire(l, o.leaseFile) })
		}
	} else {
		err = o.c.Decline(ctx, l.Address, l.Server, "")
	}
	return o.finish(&dhcpclient.Result{Sent: strings.ToUpper(o.p.verb)}, err)
}
