package dhcpopt

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// FuzzDecodeOption checks that no code and data make Decode panic, that the
// result always has a name and a text, and that it encodes to JSON.
func FuzzDecodeOption(f *testing.F) {
	f.Add(uint8(119), rfc3397)
	f.Add(uint8(121), b(24, 198, 19, 1, 198, 18, 0, 1, 0, 198, 18, 0, 1))
	f.Add(uint8(82), b(1, 8, "eth0:100", 2, 6, 2, 0, 0, 0, 0, 1))
	f.Add(uint8(81), b(0x05, 0, 0, 4, "host", 3, "lab", 0))
	f.Add(uint8(61), b(255, 0, 0, 0, 1, 0, 4, 0xaa))
	f.Add(uint8(55), b(1, 3, 6, 15, 119, 121))
	f.Add(uint8(1), b(255, 255, 255, 0))
	f.Add(uint8(120), b(0, 3, "sip", 0))
	f.Add(uint8(77), b(4, "iPXE"))
	f.Add(uint8(97), make([]byte, 17))
	f.Add(uint8(200), b(1, 2, 3))
	for _, name := range goldenNames {
		for _, m := range goldenOptions(f, name) {
			opts, _ := Parse(m)
			for _, o := range opts {
				f.Add(uint8(o.Code), []byte(o.Raw))
			}
		}
	}
	f.Fuzz(func(t *testing.T, code uint8, data []byte) {
		o := Decode(Code(code), data)
		if o.Name == "" || o.Text == "" {
			t.Fatalf("Decode(%d, % x) = %+v: empty name or text", code, data, o)
		}
		if !slices.Equal(o.Raw, data) {
			t.Fatalf("Raw = % x, want % x", o.Raw, data)
		}
		if _, err := json.Marshal(o); err != nil {
			t.Fatalf("json.Marshal(%+v): %v", o, err)
		}
		_ = o.String()
	})
}

// FuzzDomainSearch checks DecodeDomainSearch on hostile data: no panic,
// and names without escapes re-encode and decode to the same list.
func FuzzDomainSearch(f *testing.F) {
	f.Add(rfc3397)
	f.Add(b(3, "com", 0, 3, "lab", 0xc0, 0, 1, "a", 0xc0, 5))
	f.Add(b(0xc0, 0))
	f.Add(b(1, "a", 0xc0, 4, 1, "b", 0xc0, 0))
	f.Add(b(0x40, 0))
	f.Add(b(0))
	for _, m := range goldenOptions(f, "dnsmasq") {
		opts, _ := Parse(m)
		if o, ok := Find(opts, DomainSearch); ok {
			f.Add([]byte(o.Raw))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		names, err := DecodeDomainSearch(data)
		if err != nil {
			return
		}
		for _, n := range names {
			if len(n) > 4*maxName {
				t.Fatalf("name of %d bytes", len(n))
			}
			if strings.Contains(n, `\`) || n == "." {
				return
			}
		}
		enc, err := EncodeDomainSearch(names...)
		if err != nil {
			t.Fatalf("EncodeDomainSearch(%q): %v", names, err)
		}
		again, err := DecodeDomainSearch(enc)
		if err != nil || !slices.Equal(again, names) {
			t.Fatalf("round trip %q -> % x -> %q, %v", names, enc, again, err)
		}
	})
}

// FuzzClasslessRoutes checks DecodeClasslessRoutes on hostile data: no panic,
// and what decodes re-encodes to data that decodes the same.
func FuzzClasslessRoutes(f *testing.F) {
	f.Add(b(0, 198, 18, 0, 1))
	f.Add(b(24, 198, 19, 1, 198, 18, 0, 254, 0, 198, 18, 0, 1))
	f.Add(b(25, 10, 229, 0, 128, 1, 2, 3, 4))
	f.Add(b(33, 1, 2, 3, 4, 5, 6, 7, 8, 9))
	f.Add(b(32, 10))
	for _, name := range []string{"dnsmasq", "kea"} {
		for _, m := range goldenOptions(f, name) {
			opts, _ := Parse(m)
			if o, ok := Find(opts, ClasslessStaticRoute); ok {
				f.Add([]byte(o.Raw))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		routes, err := DecodeClasslessRoutes(data)
		if err != nil {
			return
		}
		enc, err := EncodeClasslessRoutes(routes...)
		if err != nil {
			t.Fatalf("EncodeClasslessRoutes(%v): %v", routes, err)
		}
		if len(enc) != len(data) {
			t.Fatalf("re-encoded %d bytes from %d", len(enc), len(data))
		}
		again, err := DecodeClasslessRoutes(enc)
		if err != nil || !slices.Equal(again, routes) {
			t.Fatalf("round trip %v -> % x -> %v, %v", routes, enc, again, err)
		}
	})
}

// FuzzParse checks the options-area walker.
func FuzzParse(f *testing.F) {
	f.Add(b(53, 1, 2, 0, 119, 4, 3, "lab", 119, 6, 4, "test", 0, 255))
	f.Add(b(53))
	for _, name := range goldenNames {
		for _, m := range goldenOptions(f, name) {
			f.Add(m)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts, _ := Parse(data)
		for _, o := range opts {
			if o.Code == Pad || o.Code == End {
				t.Fatalf("Parse returned %v", o)
			}
		}
	})
}

// FuzzParseSetting checks the --option parser never panics.
func FuzzParseSetting(f *testing.F) {
	f.Add("252=str:http://wpad/wpad.dat")
	f.Add("43=hex:01:02")
	f.Add("router=ip:198.18.0.1,198.18.0.2")
	f.Add("57=u16:1500")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseSetting(s)
		if err == nil && (st.Code == Pad || st.Code == End || len(st.Data) > maxSetting) {
			t.Fatalf("ParseSetting(%q) = %v", s, st)
		}
	})
}

// FuzzCompile checks that no --option values make Compile or
// ParseClientID panic, that what Compile accepts builds a message holding
// each setting, and that a client identifier is 2 to 255 bytes.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"55=1,3,6,15", "6=198.18.0.1,198.18.0.2", "53=5", "12=str:lab", "43=hex:0102", "mac", "01:02:03", "str:x", "hex:"} {
		f.Add(s, "51=u32:60")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		mods, settings, err := Compile([]string{a, b}, map[Code][]byte{53: {1}})
		if err == nil {
			m, err := dhcpv4.New(mods...)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range settings {
				if s.Code == 53 || !slices.Equal(m.Options.Get(dhcpv4.GenericOptionCode(s.Code)), s.Data) && len(s.Data) <= 255 {
					t.Fatalf("setting %v not in the message", s)
				}
			}
		}
		if id, err := ParseClientID(a, []byte{2, 0, 0x5e, 0, 0x53, 1}); err == nil && (len(id) < 2 || len(id) > 255) {
			t.Fatalf("client id %q: %d bytes", a, len(id))
		}
	})
}
