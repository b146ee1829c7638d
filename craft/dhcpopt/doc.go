// Package dhcpopt decodes DHCPv4 options into typed, readable values named as
// in the IANA "BOOTP Vendor Extensions and DHCP Options" registry
// (https://www.iana.org/assignments/bootp-dhcp-parameters), and parses the
// option values users write on a command line.
//
// The decoders follow RFC 2132 (DHCP options and BOOTP vendor extensions),
// RFC 3046 (relay agent information, option 82), RFC 3397 and RFC 1035 §4.1.4
// (domain search list with compression pointers, option 119), RFC 3442
// (classless static routes, option 121), RFC 4702 (client FQDN, option 81),
// RFC 4361 (node-specific client identifiers), RFC 5859 (TFTP server
// addresses, option 150) and RFC 8925 (IPv6-only preferred, option 108).
//
// Decoding is pure and total: an unknown option, or a known one whose bytes do
// not fit its format, comes back as hex with its code and a reason in
// Option.Err. No input makes a decoder panic; every decoder is fuzzed.
package dhcpopt
