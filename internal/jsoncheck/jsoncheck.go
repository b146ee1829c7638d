// Package jsoncheck enforces the rules of rawlab's one JSON schema
// (docs/json.md) on a command's output, so that every command's tests can
// check what it prints against the same rules: one document for --json, one
// object per line with a "record" field for --jsonl, snake_case keys, and one
// encoding per kind of field (MACs, xids, DHCP message types, directions,
// times, durations with their unit in the key).
package jsoncheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

var (
	keyRE  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	macRE  = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)
	xidRE  = regexp.MustCompile(`^0x[0-9a-f]{8}$`)
	tpidRE = regexp.MustCompile(`^0x[0-9a-f]{4}$`)
)

// msgTypes are the values of "msg_type" (RFC 2131 names without "DHCP").
var msgTypes = map[string]bool{
	"DISCOVER": true, "OFFER": true, "REQUEST": true, "DECLINE": true,
	"ACK": true, "NAK": true, "RELEASE": true, "INFORM": true,
}

var msgTypeOther = regexp.MustCompile(`^type\([0-9]+\)$`)

// Document checks that data is exactly one JSON value, an object, and that
// every field in it follows the rules.
func Document(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("jsoncheck: not a JSON document: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("jsoncheck: more than one JSON value (--json must print one document)")
	}
	if _, ok := v.(map[string]any); !ok {
		return fmt.Errorf("jsoncheck: the document is a %T, not an object", v)
	}
	return check("$", v)
}

// Lines checks that data is JSON lines: each non-empty line one object with
// a string "record" field, every field following the rules. A line that is
// a summary ("record":"summary") must be the last one.
func Lines(data []byte) error {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return errors.New("jsoncheck: no lines")
	}
	for i, line := range lines {
		where := fmt.Sprintf("line %d", i+1)
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("jsoncheck: %s: %w", where, err)
		}
		if dec.More() {
			return fmt.Errorf("jsoncheck: %s: more than one value on the line", where)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("jsoncheck: %s: a %T, not an object", where, v)
		}
		rec, ok := obj["record"].(string)
		if !ok || !keyRE.MatchString(rec) {
			return fmt.Errorf("jsoncheck: %s: no string \"record\" field naming its kind", where)
		}
		if rec == "summary" && i != len(lines)-1 {
			return fmt.Errorf("jsoncheck: %s: the summary is not the last line", where)
		}
		if err := check(where, v); err != nil {
			return err
		}
	}
	return nil
}

// check walks v; path names where it is, for the error.
func check(path string, v any) error {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			p := path + "." + k
			if !keyRE.MatchString(k) {
				return fmt.Errorf("jsoncheck: %s: key is not snake_case", p)
			}
			if err := field(p, k, val); err != nil {
				return err
			}
			if err := check(p, val); err != nil {
				return err
			}
		}
	case []any:
		for i, val := range x {
			if err := check(fmt.Sprintf("%s[%d]", path, i), val); err != nil {
				return err
			}
		}
	}
	return nil
}

// field applies the rule for key k, if it has one, to val.
func field(path, k string, val any) error {
	if val == nil {
		return nil // an absent value may be null
	}
	s, isString := val.(string)
	_, isNumber := val.(json.Number)
	bad := func(want string) error {
		return fmt.Errorf("jsoncheck: %s: %v is not %s", path, val, want)
	}
	switch {
	case k == "mac" || strings.HasSuffix(k, "_mac"):
		if !isString || (s != "" && !macRE.MatchString(s)) {
			return bad("a lower-case colon-separated MAC")
		}
	case k == "xid":
		if !isString || !xidRE.MatchString(s) {
			return bad(`an xid string "0x" + 8 lower-case hex digits`)
		}
	case k == "msg_type":
		if !isString || !(msgTypes[s] || msgTypeOther.MatchString(s)) {
			return bad("an upper-case DHCP message type name")
		}
	case k == "direction":
		if !isString || (s != "in" && s != "out") {
			return bad(`"in" or "out"`)
		}
	case k == "time" || strings.HasSuffix(k, "_time"):
		if !isString {
			return bad("an RFC 3339 time string")
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return bad("an RFC 3339 time string")
		}
	case strings.HasSuffix(k, "_ms") || strings.HasSuffix(k, "_s"):
		if !isNumber {
			return bad("a number (the unit is in the key)")
		}
	case k == "len" || k == "caplen":
		if !isNumber || strings.ContainsAny(string(val.(json.Number)), ".eE-") {
			return bad("a non-negative integer")
		}
	case k == "tpid":
		if !isString || !tpidRE.MatchString(s) {
			return bad(`a TPID string like "0x8100"`)
		}
	case k == "vlans":
		if _, ok := val.([]any); !ok {
			return bad("an array of VLAN tags")
		}
	case k == "duration" || k == "elapsed" || k == "rtt" || k == "timeout":
		return fmt.Errorf("jsoncheck: %s: a duration's key must carry its unit (%s_ms or %s_s)", path, k, k)
	}
	return nil
}
