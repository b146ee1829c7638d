package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestClassify checks the exit status and the one line printed for each
// kind of error: joined errors stay apart, a permission error gets the
// setcap hint, and nothing spans two lines.
func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		code     int
		contains string
	}{
		{"joined", usageError(errors.Join(errors.New("--dst-ip is required"), errors.New("--size -1: want 0-1472"))), exitUsage, "--dst-ip is required; --size -1: want 0-1472"},
		{"failure", failure(errors.New("no lease")), exitFailed, "no lease"},
		{"permission", fmt.Errorf("capture: open eth0: %w", os.ErrPermission), exitUsage, "setcap cap_net_raw+ep"},
		{"folded space", errors.New("a  \t b\n\n c"), exitUnknown, "a b; c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := classify(tt.err)
			if code != tt.code || !strings.Contains(msg, tt.contains) || strings.Contains(msg, "\n") {
				t.Errorf("classify(%q) = %d, %q; want %d and one line containing %q", tt.err, code, msg, tt.code, tt.contains)
			}
		})
	}
}
