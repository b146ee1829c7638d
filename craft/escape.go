package craft

import "strconv"

// Escape returns s as a double-quoted Go string literal (strconv.Quote):
// control characters, invalid UTF-8 and quotes are escaped, so a string
// from the wire (a host name, a DHCP sname or file, an option's text)
// cannot move the cursor or recolour a terminal, and its bounds show. Every
// human line rawlab prints passes wire strings through it; JSON carries
// them exact instead.
func Escape(s string) string { return strconv.Quote(s) }
