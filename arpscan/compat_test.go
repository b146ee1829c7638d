package arpscan

import (
	"errors"
	"net/netip"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// Short names for the tests, from the one ARP codec and capture's messages.
type (
	Packet = craft.ARPFrame
	Msg    = capture.Msg
)

const (
	opRequest = craft.ARPRequest
	opReply   = craft.ARPReply
)

func AppendFrame(b []byte, p *Packet) []byte { return craft.AppendARPFrame(b, p) }
func DecodeFrame(b []byte, p *Packet) error  { return craft.DecodeARPFrame(b, p) }

type netipPrefix = netip.Prefix

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }
