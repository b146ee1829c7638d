// Package arpscan finds the hosts on an Ethernet segment by sending them ARP
// requests (RFC 826) and listening for the replies, as arp-scan(1) does.
//
// The scanner builds its request frames from one template (craft.ARPFrame),
// patching only the sender and target protocol addresses per frame, and
// decodes replies in place, so that neither the send loop nor the receive
// loop allocates per frame. Requests go out on a token-bucket schedule
// (Config.Rate, or Bandwidth costed as arp-scan(1) costs a frame: see
// craft.ARPFrameBits), batched into one send call at high rates. Retries and
// waits are arp-scan's: Retry tries per host, Timeout after the first,
// times Backoff for each further one, so that the defaults find every host
// arp-scan's defaults find (slow stacks, proxy ARP answering up to 0.8 s
// late). Config.Fast shortens the waits to the round-trip times seen in the
// same scan (RFC 6298's SRTT + 4*RTTVAR), and the Report counts the targets
// it gave up on early. The scan ends as soon as every target has answered or
// used its tries and its last wait.
//
// Only a reply addressed to the scanner answers a target: its target
// hardware address or Ethernet destination is ours, and its target protocol
// address is the sender address the target was asked with (0.0.0.0 for RFC
// 5227 probes). Other replies, gratuitous ones included, are listed apart
// (Report.Unsolicited), never as hosts. A Sink is told of each answer as it
// comes, and of the flags arp-scan reports, DUP, CONFLICT and MISMATCH, when
// they are learnt; Writer is such a Sink printing arp-scan's table, JSON
// lines or a --format, and the report at the end. Each reply costs a map
// lookup at most, and the lists kept are bounded.
//
// The protocol logic runs over the Conn interface, so tests drive it with a
// fake connection and no privileges; Listen opens capture's AF_PACKET
// sockets: a send-only one, and a receive one whose compiled filter
// (ReplyFilter, ARPFilter) is attached before bind. Watch lists the hosts
// seen in ARP traffic without sending anything, and Ping resolves one
// address (arping(8)), with RFC 5227 probes if asked.
package arpscan
