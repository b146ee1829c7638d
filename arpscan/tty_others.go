//go:build !linux

package arpscan

import "io"

// IsTerminal reports false: the progress bar is drawn on Linux only.
func IsTerminal(io.Writer) bool { return false }
