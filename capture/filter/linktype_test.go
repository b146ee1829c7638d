package filter

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLinkTypes(t *testing.T) {
	for _, lt := range []uint32{101, 12, 14, 276, 127, 0xffffffff} {
		_, err := Compile("ip", Options{LinkType: lt})
		var le *UnsupportedLinkTypeError
		if !errors.As(err, &le) || le.LinkType != lt {
			t.Errorf("link type %d: %v, want *UnsupportedLinkTypeError", lt, err)
		}
	}
	for _, lt := range []uint32{0, LinkTypeEthernet} {
		if _, err := Compile("ether host 02:00:00:00:00:01 and vlan", Options{LinkType: lt}); err != nil {
			t.Errorf("link type %d: %v", lt, err)
		}
	}
	// Linux cooked captures: the protocol at byte 14, the payload at 16.
	prog, err := Compile("ip", Options{LinkType: LinkTypeLinuxSLL})
	if err != nil {
		t.Fatal(err)
	}
	want := "(000) ldh      [14]\n(001) jeq      #0x800           jt 2\tjf 3\n(002) ret      #262144\n(003) ret      #0\n"
	if diff := cmp.Diff(want, Dump(prog)); diff != "" {
		t.Errorf("ip on SLL (-want +got):\n%s", diff)
	}
	// What the cooked header cannot tell, refused with libpcap's words.
	for e, msg := range map[string]string{
		"ether host 02:00:00:00:00:01": "ethernet addresses supported only",
		"ether broadcast":              "not a broadcast link",
		"multicast":                    "link-layer multicast filters supported only",
		"vlan 10":                      "no VLAN support for Linux cooked v1",
	} {
		_, err := Compile(e, Options{LinkType: LinkTypeLinuxSLL})
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q on SLL: %v, want a *SyntaxError saying %q", e, err, msg)
		}
	}
}
