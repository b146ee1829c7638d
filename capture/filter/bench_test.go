package filter

import (
	"fmt"
	"strings"
	"testing"
)

func longExpr(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(" or ")
		}
		fmt.Fprintf(&b, "ip[%d] = %d and ip[%d] = %d", i%40, i, i%37+1, i+1)
	}
	return b.String()
}

func BenchmarkCompile(b *testing.B) {
	for _, tt := range []struct{ name, expr string }{
		{"udp-port", "udp and port 9"},
		{"vlan-host-port", "vlan 10 and host 198.18.0.1 and (tcp port 80 or udp port 53)"},
		{"or-of-50", longExpr(50)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Compile(tt.expr, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
