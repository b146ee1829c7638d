package main

import (
	"errors"
	"os"
	"strings"
	"syscall"
)

// isEnvironmentError reports whether err comes from the machine rather than
// from the operation: missing privileges, or a missing or unusable interface.
// Such errors exit with status 2.
func isEnvironmentError(err error) bool {
	return errors.Is(err, os.ErrPermission) || isInterfaceError(err)
}

// withHint returns err's text with advice appended where the cause is one a
// user can fix.
func withHint(err error) string {
	msg := err.Error()
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EPERM) {
		msg += " (run as root, or grant raw-socket access to a group-restricted binary: setcap cap_net_raw+ep; see README \"Security model\")"
	}
	return msg
}

// oneLine folds a multi-line message into one line: its lines (as
// errors.Join separates errors) joined by "; ", white space folded.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
