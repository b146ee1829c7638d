package dhcpopt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

func b(s ...any) []byte {
	var out []byte
	for _, x := range s {
		switch v := x.(type) {
		case int:
			out = append(out, byte(v))
		case string:
			out = append(out, v...)
		case []byte:
			out = append(out, v...)
		}
	}
	return out
}

// rfc3397 is the example of RFC 3397 §2: "eng.apple.com." and
// "marketing.apple.com.", the second compressed with a pointer to offset 4.
var rfc3397 = b(3, "eng", 5, "apple", 3, "com", 0, 9, "marketing", 0xc0, 4)

func TestDecodeDomainSearch(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []string
		wantErr error // nil, errMalformed or io.ErrUnexpectedEOF
	}{
		{"rfc3397 example", rfc3397, []string{"eng.apple.com", "marketing.apple.com"}, nil},
		{"one name", b(3, "lab", 4, "test", 0), []string{"lab.test"}, nil},
		{"root", b(0), []string{"."}, nil},
		{"pointer to pointer", b(3, "com", 0, 3, "lab", 0xc0, 0, 1, "a", 0xc0, 5), []string{"com", "lab.com", "a.lab.com"}, nil},
		{"escaped bytes", b(3, "a.b", 2, 0, 0xff, 0), []string{`a\.b.\000\255`}, nil},
		{"empty", nil, nil, errMalformed},
		{"self pointer", b(0xc0, 0), nil, errMalformed},
		{"forward pointer", b(0xc0, 2, 1, "a", 0), nil, errMalformed},
		{"loop through two pointers", b(1, "a", 0xc0, 4, 1, "b", 0xc0, 0), nil, errMalformed},
		{"pointer into itself later", b(1, "a", 0, 1, "b", 0xc0, 3), nil, errMalformed},
		{"reserved label type", b(0x40, 0), nil, errMalformed},
		{"truncated label", b(5, "ab"), nil, io.ErrUnexpectedEOF},
		{"no terminator", b(2, "ab"), nil, io.ErrUnexpectedEOF},
		{"truncated pointer", b(1, "a", 0, 0xc0), nil, io.ErrUnexpectedEOF},
		{"name too long", b(strings.Repeat("\x3f"+strings.Repeat("x", 63), 4), 0), nil, errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeDomainSearch(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("DecodeDomainSearch(% x) = %v, %v; want error %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeDomainSearch(% x): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeDomainSearch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeDomainSearch(t *testing.T) {
	got, err := EncodeDomainSearch("eng.apple.com.", "marketing.apple.com")
	if err != nil {
		t.Fatal(err)
	}
	want := b(3, "eng", 5, "apple", 3, "com", 0, 9, "marketing", 5, "apple", 3, "com", 0)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EncodeDomainSearch (-want +got):\n%s", diff)
	}
	if _, err := EncodeDomainSearch("a..b"); err == nil {
		t.Errorf("EncodeDomainSearch(a..b): no error")
	}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

func TestDecodeClasslessRoutes(t *testing.T) {
	gw := b(198, 18, 0, 1)
	tests := []struct {
		name    string
		in      []byte
		want    []Route
		wantErr error
	}{
		// The destination encodings of RFC 3442 §2.
		{"rfc3442 default", b(0, gw), []Route{{pfx("0.0.0.0/0"), ip("198.18.0.1")}}, nil},
		{"rfc3442 /8", b(8, 10, gw), []Route{{pfx("10.0.0.0/8"), ip("198.18.0.1")}}, nil},
		{"rfc3442 /16", b(16, 10, 17, gw), []Route{{pfx("10.17.0.0/16"), ip("198.18.0.1")}}, nil},
		{"rfc3442 /24", b(24, 10, 27, 129, gw), []Route{{pfx("10.27.129.0/24"), ip("198.18.0.1")}}, nil},
		{"rfc3442 /25", b(25, 10, 229, 0, 128, gw), []Route{{pfx("10.229.0.128/25"), ip("198.18.0.1")}}, nil},
		{"rfc3442 /32", b(32, 10, 198, 122, 47, gw), []Route{{pfx("10.198.122.47/32"), ip("198.18.0.1")}}, nil},
		{"two routes", b(24, 198, 19, 1, 198, 18, 0, 254, 0, gw), []Route{
			{pfx("198.19.1.0/24"), ip("198.18.0.254")}, {pfx("0.0.0.0/0"), ip("198.18.0.1")},
		}, nil},
		{"extra bits cleared", b(9, 10, 255, gw), []Route{{pfx("10.128.0.0/9"), ip("198.18.0.1")}}, nil},
		{"empty", nil, nil, errMalformed},
		{"width 33", b(33, 1, 2, 3, 4, gw), nil, errMalformed},
		{"truncated router", b(8, 10, 198, 18), nil, io.ErrUnexpectedEOF},
		{"truncated destination", b(24, 10), nil, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeClasslessRoutes(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("DecodeClasslessRoutes(% x) = %v, %v; want error %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("DecodeClasslessRoutes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		code     Code
		in       []byte
		wantName string
		wantText string
		wantErr  bool
	}{
		{1, b(255, 255, 255, 0), "Subnet Mask", "255.255.255.0 (/24)", false},
		{1, b(255, 0, 255, 0), "Subnet Mask", "255.0.255.0 (non-contiguous)", false},
		{1, b(255, 255, 255), "Subnet Mask", "ffffff", true},
		{3, b(198, 18, 0, 1, 198, 18, 0, 2), "Router", "198.18.0.1, 198.18.0.2", false},
		{3, b(198, 18, 0), "Router", "c61200", true},
		{6, b(198, 18, 0, 53), "Domain Server", "198.18.0.53", false},
		{12, b("client1"), "Hostname", "client1", false},
		{15, b("lab.test", 0), "Domain Name", "lab.test", false},
		{15, b("bad\nname"), "Domain Name", `"bad\nname"`, false},
		{26, b(5, 220), "MTU Interface", "1500", false},
		{28, b(198, 18, 0, 255), "Broadcast Address", "198.18.0.255", false},
		{42, b(198, 18, 0, 123), "NTP Servers", "198.18.0.123", false},
		{43, b(1, 4, 0xde, 0xad, 0xbe, 0xef), "Vendor Specific", "0104deadbeef", false},
		{51, b(0, 0, 14, 16), "Address Time", "3600 s (1h)", false},
		{51, b(0xff, 0xff, 0xff, 0xff), "Address Time", "infinite", false},
		{53, b(2), "DHCP Msg Type", "DHCPOFFER", false},
		{53, b(5, 5), "DHCP Msg Type", "0505", true},
		{54, b(198, 18, 0, 1), "DHCP Server Id", "198.18.0.1", false},
		{55, b(1, 3, 6, 121), "Parameter List", "1 subnet-mask, 3 router, 6 dns, 121 classless-static-route", false},
		{58, b(0, 0, 7, 8), "Renewal Time", "1800 s (30m)", false},
		{59, b(0, 0, 0x0c, 0x4e), "Rebinding Time", "3150 s (52m30s)", false},
		{60, b("PXEClient:Arch:00000"), "Class Id", "PXEClient:Arch:00000", false},
		{61, b(1, 0x02, 0, 0, 0, 0, 1), "Client Id", "Ethernet 02:00:00:00:00:01", false},
		{61, b(255, 0, 0, 0, 1, 0, 4, 0xaa), "Client Id", "IAID 0x00000001 DUID 00:04:aa", false},
		{66, b("198.18.0.1"), "Server-Name", "198.18.0.1", false},
		{67, b("pxelinux.0"), "Bootfile-Name", "pxelinux.0", false},
		{81, b(0x01, 0, 0, "host.lab.test"), "Client FQDN", "host.lab.test (flags S)", false},
		{81, b(0x05, 0, 0, 4, "host", 3, "lab", 0), "Client FQDN", "host.lab. (flags S,E)", false},
		{81, b(0x04, 0, 0, 4, "host"), "Client FQDN", "host (flags E)", false},
		{82, b(1, 8, "eth0:100", 2, 6, 0x02, 0, 0, 0, 0, 1), "Relay Agent Information",
			`Agent Circuit ID (1): eth0:100; Agent Remote ID (2): 020000000001`, false},
		{82, b(1, 9, "eth0"), "Relay Agent Information", "010965746830", true},
		{119, rfc3397, "Domain Search", "eng.apple.com, marketing.apple.com", false},
		{121, b(0, 198, 18, 0, 1), "Classless Static Route Option", "0.0.0.0/0 via 198.18.0.1", false},
		{150, b(198, 18, 0, 69), "TFTP server address", "198.18.0.69", false},
		{252, b("http://wpad.lab.test/wpad.dat", 0), "Private/Proxy autodiscovery", "http://wpad.lab.test/wpad.dat", false},
		{80, nil, "Rapid Commit", "(present)", false},
		{200, b(1, 2), "Unassigned", "0102", false},
		{230, nil, "Private use", "(empty)", false},
		{108, b(0, 0, 7, 8), "IPv6-Only Preferred", "1800 s (30m)", false},
		{120, b(1, 198, 18, 0, 5), "SIP Servers DHCP Option", "198.18.0.5", false},
		{33, b(10, 0, 0, 0, 198, 18, 0, 1), "Static Route", "10.0.0.0 via 198.18.0.1", false},
		{77, b(4, "iPXE"), "User-Class", "iPXE", false},
		{97, b(0, 0x12, 0x34, 0x56, 0x78, 0, 1, 0, 2, 0, 3, 0, 4, 5, 6, 7, 8), "UUID/GUID", "12345678-0001-0002-0003-000405060708", false},
	}
	for _, tt := range tests {
		t.Run(tt.wantName+"/"+tt.wantText, func(t *testing.T) {
			o := Decode(tt.code, tt.in)
			if o.Name != tt.wantName || o.Text != tt.wantText || (o.Err != "") != tt.wantErr {
				t.Errorf("Decode(%d, % x) = name %q text %q err %q; want %q %q err=%v", tt.code, tt.in, o.Name, o.Text, o.Err, tt.wantName, tt.wantText, tt.wantErr)
			}
			if tt.wantErr {
				if _, ok := o.Value.(Hex); !ok {
					t.Errorf("malformed option value is %T, want Hex", o.Value)
				}
			}
		})
	}
}

func TestOptionJSON(t *testing.T) {
	opts := []Option{
		Decode(53, b(5)),
		Decode(3, b(198, 18, 0, 1)),
		Decode(51, b(0, 0, 14, 16)),
		Decode(55, b(1, 3)),
		Decode(121, b(24, 198, 19, 1, 198, 18, 0, 1)),
		Decode(1, b(1)),
	}
	got, err := json.Marshal(opts)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"code":53,"name":"DHCP Msg Type","value":"DHCPACK","text":"DHCPACK","raw":"05"},` +
		`{"code":3,"name":"Router","value":["198.18.0.1"],"text":"198.18.0.1","raw":"c6120001"},` +
		`{"code":51,"name":"Address Time","value":3600,"text":"3600 s (1h)","raw":"00000e10"},` +
		`{"code":55,"name":"Parameter List","value":[1,3],"text":"1 subnet-mask, 3 router","raw":"0103"},` +
		`{"code":121,"name":"Classless Static Route Option","value":[{"destination":"198.19.1.0/24","router":"198.18.0.1"}],"text":"198.19.1.0/24 via 198.18.0.1","raw":"18c61301c6120001"},` +
		`{"code":1,"name":"Subnet Mask","value":"01","text":"01","raw":"01","error":"malformed: length 1, want 4"}]`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestParse(t *testing.T) {
	// Option 119 split over two instances (RFC 3396), with padding and an
	// option after End that must not be read.
	in := b(53, 1, 2, 0, 0, 119, 4, 3, "lab", 119, 6, 4, "test", 0, 54, 4, 198, 18, 0, 1, 255, 3, 4, 1, 2, 3, 4)
	got, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, o := range got {
		texts = append(texts, o.String())
	}
	want := []string{"DHCP Msg Type (53): DHCPOFFER", "Domain Search (119): lab.test", "DHCP Server Id (54): 198.18.0.1"}
	if diff := cmp.Diff(want, texts); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}

	got, err = Parse(b(53, 1, 5, 3, 8, 198, 18))
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 1 {
		t.Errorf("Parse(truncated) = %v, %v; want one option and io.ErrUnexpectedEOF", got, err)
	}
	if _, err := Parse(b(53)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Parse(no length) error = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestFromMessage(t *testing.T) {
	m, err := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeAck),
		dhcpv4.WithOption(dhcpv4.OptRouter(ip("198.18.0.1").AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptSubnetMask([]byte{255, 255, 255, 0})))
	if err != nil {
		t.Fatal(err)
	}
	var codes []Code
	for _, o := range FromMessage(m) {
		codes = append(codes, o.Code)
	}
	if diff := cmp.Diff([]Code{53, 1, 3}, codes); diff != "" {
		t.Errorf("FromMessage codes (-want +got):\n%s", diff)
	}
	if o, ok := Find(FromMessage(m), Router); !ok || o.Text != "198.18.0.1" {
		t.Errorf("Find(Router) = %v, %v", o, ok)
	}
}

func TestParseCode(t *testing.T) {
	tests := []struct {
		in      string
		want    Code
		wantErr bool
	}{
		{"3", 3, false}, {"0x79", 121, false}, {"router", 3, false}, {"Domain Server", 6, false},
		{"DNS", 6, false}, {"domain_search", 119, false}, {"routers", 3, false}, {"netmask", 1, false},
		{"classless-static-route", 121, false}, {"wpad", 252, false}, {"256", 0, true}, {"-1", 0, true},
		{"nosuch", 0, true}, {"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCode(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseCode(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
	got, err := ParseCodeList("1,3,dns,3, domain-search ,121")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Code{1, 3, 6, 119, 121}, got); diff != "" {
		t.Errorf("ParseCodeList (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", ",", "1,end", "1,x"} {
		if _, err := ParseCodeList(bad); err == nil {
			t.Errorf("ParseCodeList(%q): no error", bad)
		}
	}
}

func TestParseSetting(t *testing.T) {
	tests := []struct {
		in      string
		want    Setting
		wantErr bool
	}{
		{"252=str:http://wpad/wpad.dat", Setting{252, b("http://wpad/wpad.dat")}, false},
		{"43=hex:01:04:de:ad:be:ef", Setting{43, b(1, 4, 0xde, 0xad, 0xbe, 0xef)}, false},
		{"43=hex:0x0102", Setting{43, b(1, 2)}, false},
		{"80=hex:", Setting{80, []byte{}}, false},
		{"ntp-server=ip:198.18.0.1,198.18.0.2", Setting{42, b(198, 18, 0, 1, 198, 18, 0, 2)}, false},
		{"57=u16:1500", Setting{57, b(5, 220)}, false},
		{"51=u32:0x10", Setting{51, b(0, 0, 0, 16)}, false},
		{"116=u8:1", Setting{116, b(1)}, false},
		{"116=u8:256", Setting{}, true},
		{"3=ip:198.18.0.1,::1", Setting{}, true},
		{"3=198.18.0.1", Setting{3, b(198, 18, 0, 1)}, false},
		{"6=198.18.0.1,198.18.0.2", Setting{6, b(198, 18, 0, 1, 198, 18, 0, 2)}, false},
		{"55=1,3,6,15", Setting{55, b(1, 3, 6, 15)}, false},
		{"53=5", Setting{53, b(5)}, false},
		{"55=1,256", Setting{}, true},
		{"55=1,,3", Setting{}, true},
		{"6=198.18.0.1,x", Setting{}, true},
		{"12=lab", Setting{}, true},
		{"3", Setting{}, true},
		{"nosuch=str:x", Setting{}, true},
		{"255=hex:00", Setting{}, true},
		{"43=hex:0g", Setting{}, true},
		{"43=bin:01", Setting{}, true},
		{"43=str:" + strings.Repeat("x", 1201), Setting{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSetting(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseSetting(%q) = %v; want error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSetting (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRelayAgentInfoRoundTrip(t *testing.T) {
	data, err := EncodeRelayAgentInfo(SubOption{Code: AgentCircuitID, Raw: b("sw1/0/7")}, SubOption{Code: AgentRemoteID, Raw: b("rack42")})
	if err != nil {
		t.Fatal(err)
	}
	o := Decode(RelayAgentInfo, data)
	want := []SubOption{
		{Code: 1, Name: "Agent Circuit ID", Text: "sw1/0/7", Raw: b("sw1/0/7")},
		{Code: 2, Name: "Agent Remote ID", Text: "rack42", Raw: b("rack42")},
	}
	if diff := cmp.Diff(any(want), o.Value); diff != "" {
		t.Errorf("option 82 (-want +got):\n%s", diff)
	}
}

func TestHuman(t *testing.T) {
	tests := map[time.Duration]string{
		0: "0s", 90 * time.Minute: "1h30m", 26 * time.Hour: "1d2h", 1500 * time.Millisecond: "1.5s",
		1234 * time.Microsecond: "1.234ms", 45 * time.Second: "45s",
	}
	for d, want := range tests {
		if got := Human(d); got != want {
			t.Errorf("Human(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCompile(t *testing.T) {
	fixed := map[Code][]byte{53: {1}} // a DISCOVER chosen by other means
	mods, settings, err := Compile([]string{"55=1,3,6", "53=1", "hostname=str:lab", "55=hex:010306"}, fixed)
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{{55, b(1, 3, 6)}, {12, b("lab")}}
	if diff := cmp.Diff(want, settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	m, err := dhcpv4.New(mods...)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Options.Get(dhcpv4.GenericOptionCode(55)); string(got) != "\x01\x03\x06" || m.HostName() != "lab" {
		t.Errorf("message options: 55=% x hostname %q", got, m.HostName())
	}
	var ce *ConflictError
	for _, opts := range [][]string{{"53=5"}, {"55=1", "55=2"}} {
		if _, _, err := Compile(opts, fixed); !errors.As(err, &ce) {
			t.Errorf("Compile(%q): %v, want a *ConflictError", opts, err)
		}
	}
	if _, _, err := Compile([]string{"nosuch=1"}, nil); err == nil {
		t.Error("unknown option name: no error")
	}
}

func TestParseClientID(t *testing.T) {
	mac := b(2, 0, 0x5e, 0, 0x53, 1)
	tests := []struct {
		in   string
		want []byte
	}{
		{"mac", b(1, 2, 0, 0x5e, 0, 0x53, 1)},
		{"01:02:00:5e:00:53:01", b(1, 2, 0, 0x5e, 0, 0x53, 1)},
		{"ff-00-01", b(0xff, 0, 1)},
		{"0a0b", b(10, 11)},
		{"str:host-1", b("host-1")},
		{"hex:00aabb", b(0, 0xaa, 0xbb)},
		{"01", nil},
		{"zz", nil},
		{"str:", nil},
	}
	for _, tt := range tests {
		got, err := ParseClientID(tt.in, mac)
		if tt.want == nil {
			if err == nil {
				t.Errorf("ParseClientID(%q) = % x, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("ParseClientID(%q) = % x, %v; want % x", tt.in, got, err, tt.want)
		}
	}
}

func TestMessageSpecBuild(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0x5e, 0, 0x53, 1}
	spec := MessageSpec{Type: dhcpv4.MessageTypeOffer, XID: 0x2a, CHAddr: mac, YIAddr: netip.MustParseAddr("198.18.0.9"),
		ServerID: netip.MustParseAddr("198.18.0.1"), Hostname: "h", Request: []Code{1, 3}, Broadcast: true,
		Options: []string{"53=2", "51=u32:3600", "12=str:h"}}
	m, err := spec.Build()
	if err != nil {
		t.Fatal(err)
	}
	if m.OpCode != dhcpv4.OpcodeBootReply || m.MessageType() != dhcpv4.MessageTypeOffer || m.TransactionID != (dhcpv4.TransactionID{0, 0, 0, 0x2a}) ||
		!m.YourIPAddr.Equal(net.IP{198, 18, 0, 9}) || m.HostName() != "h" || m.IPAddressLeaseTime(0) != time.Hour || !m.IsBroadcast() ||
		!bytes.Equal(m.Options.Get(dhcpv4.OptionParameterRequestList), []byte{1, 3}) {
		t.Errorf("built %s", m.Summary())
	}
	var ce *ConflictError
	for _, opts := range [][]string{{"53=5"}, {"12=str:other"}, {"55=1"}} {
		s := spec
		s.Options = opts
		if _, err := s.Build(); !errors.As(err, &ce) {
			t.Errorf("options %q: %v, want a *ConflictError", opts, err)
		}
	}
	for in, want := range map[string]dhcpv4.MessageType{"discover": 1, "ACK": 5, "Inform": 8, "3": 3} {
		if got, err := ParseMessageType(in); err != nil || got != want {
			t.Errorf("ParseMessageType(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"hello", "9", "0", "DHCPDISCOVER"} {
		if _, err := ParseMessageType(in); err == nil {
			t.Errorf("ParseMessageType(%q): no error", in)
		}
	}
}

func TestParseXID(t *testing.T) {
	for in, want := range map[string]uint32{"0": 0, "0x0000002a": 42, "4294967295": 0xffffffff} {
		if got, err := ParseXID(in); err != nil || got != want {
			t.Errorf("ParseXID(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"-1", "0x100000000", "x"} {
		if _, err := ParseXID(bad); err == nil {
			t.Errorf("ParseXID(%q): no error", bad)
		}
	}
	a, _ := ParseXID("")
	b, _ := ParseXID("")
	c, _ := ParseXID("")
	if a == b && b == c {
		t.Errorf("three random xids are all %#x", a)
	}
}
