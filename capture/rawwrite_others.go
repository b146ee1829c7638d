//go:build !linux

package capture

import "os"

// createFlags are createFile's open(2) flags.
const createFlags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
