package jsoncheck

import (
	"strings"
	"testing"
)

func TestDocument(t *testing.T) {
	tests := []struct {
		name, in string
		bad      string // substring of the error; "" means valid
	}{
		{"valid", `{"xid":"0x0000002a","msg_type":"ACK","server_mac":"02:00:5e:00:53:01","rtt_ms":1.5,"lease_time_s":3600,"time":"2026-12-04T21:00:00.123456789Z","direction":"in","len":60,"caplen":60,"vlans":[{"id":10,"priority":0,"dei":false,"tpid":"0x8100"}]}`, ""},
		{"null allowed", `{"mac":null,"router":null}`, ""},
		{"two documents", `{"a":1}{"b":2}`, "more than one"},
		{"array", `[1]`, "not an object"},
		{"camelCase", `{"leaseTime":1}`, "snake_case"},
		{"upper MAC", `{"mac":"02:00:5E:00:53:01"}`, "MAC"},
		{"dash MAC", `{"src_mac":"02-00-5e-00-53-01"}`, "MAC"},
		{"numeric xid", `{"xid":42}`, "xid"},
		{"short xid", `{"xid":"0x2a"}`, "xid"},
		{"lower msg type", `{"msg_type":"ack"}`, "message type"},
		{"DHCP prefix", `{"msg_type":"DHCPACK"}`, "message type"},
		{"other type", `{"msg_type":"type(18)"}`, ""},
		{"direction", `{"direction":"inbound"}`, `"in" or "out"`},
		{"time", `{"time":"yesterday"}`, "RFC 3339"},
		{"duration string", `{"elapsed_ms":"5ms"}`, "a number"},
		{"unitless duration", `{"rtt":5}`, "unit"},
		{"float len", `{"len":1.5}`, "integer"},
		{"nested", `{"hosts":[{"mac":"AA:BB:CC:DD:EE:FF"}]}`, "$.hosts[0].mac"},
		{"tpid", `{"vlans":[{"tpid":33024}]}`, "TPID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Document([]byte(tt.in))
			switch {
			case tt.bad == "" && err != nil:
				t.Fatalf("Document(%s) = %v, want nil", tt.in, err)
			case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad)):
				t.Fatalf("Document(%s) = %v, want an error containing %q", tt.in, err, tt.bad)
			}
		})
	}
}

func TestLines(t *testing.T) {
	tests := []struct {
		name, in string
		bad      string
	}{
		{"valid", "{\"record\":\"host\",\"ip\":\"198.18.0.1\",\"mac\":\"02:00:5e:00:53:01\"}\n{\"record\":\"summary\",\"elapsed_ms\":3}\n", ""},
		{"no record", "{\"ip\":\"198.18.0.1\"}\n", "record"},
		{"summary not last", "{\"record\":\"summary\"}\n{\"record\":\"host\"}\n", "not the last"},
		{"two on a line", "{\"record\":\"a\"}{\"record\":\"b\"}\n", "more than one"},
		{"empty", "", "no lines"},
		{"one document pretty", "{\n\"record\":\"a\"\n}\n", "line 1"},
		{"bad field", "{\"record\":\"frame\",\"xid\":\"42\"}\n", "xid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Lines([]byte(tt.in))
			switch {
			case tt.bad == "" && err != nil:
				t.Fatalf("Lines(%q) = %v, want nil", tt.in, err)
			case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad)):
				t.Fatalf("Lines(%q) = %v, want an error containing %q", tt.in, err, tt.bad)
			}
		})
	}
}
