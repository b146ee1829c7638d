package main

import (
	"errors"

	"github.com/rawlab/rawlab/capture"
)

// isInterfaceError reports whether err says the interface is missing, down or
// not Ethernet, or that a file is not a capture file: all problems of the
// environment the user can fix, reported with exit status 2.
func isInterfaceError(err error) bool {
	return errors.Is(err, capture.ErrNoInterface) ||
		errors.Is(err, capture.ErrInterfaceDown) ||
		errors.Is(err, capture.ErrNotEthernet) ||
		errors.Is(err, capture.ErrNotPcap)
}
