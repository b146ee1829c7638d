package filter

import "testing"

const dhcpAnyT = "(ip[6:2] & 0x3fff = 0 and (udp port 67 or udp port 68))"

func BenchmarkZZ(b *testing.B) {
	e := dhcpAnyT + " or (vlan and (" + dhcpAnyT + " or (vlan and " + dhcpAnyT + ")))"
	for b.Loop() {
		if _, err := Compile(e, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
