package lab

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
)

// WriteText writes the human form of the status: a table of namespaces
// and links, the server, and a table of leases (hostnames quoted: clients
// chose them).
func (st *Status) WriteText(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if len(st.Namespaces) == 0 {
		fmt.Fprintln(w, "lab is down (no namespaces)")
		return w.Flush()
	}
	fmt.Fprintln(w, "NAMESPACE\tROLE\tLINK\tMAC\tSTATE\tADDRESSES")
	for _, ns := range st.Namespaces {
		for _, lk := range ns.Links {
			addrs := strings.Join(lk.Addrs, ",")
			if addrs == "" {
				addrs = "-"
			}
			if lk.Master != "" {
				addrs = "port of " + lk.Master
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", ns.Name, ns.Role, lk.Name, lk.MAC, lk.State, addrs)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if st.Server.Running {
		fmt.Fprintf(out, "\nDHCP server: running, pid %d, log %s\n", st.Server.PID, st.Server.LogFile)
	} else {
		fmt.Fprintf(out, "\nDHCP server: not running (log %s)\n", st.Server.LogFile)
	}
	if len(st.Leases) == 0 {
		fmt.Fprintln(out, "leases: none")
		return nil
	}
	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "IP\tMAC\tSTATE\tEXPIRES\tHOSTNAME")
	for _, ls := range st.Leases {
		host := "-"
		if ls.Hostname != "" {
			host = strconv.Quote(ls.Hostname)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", ls.IP, ls.MAC, ls.State, ls.Expires.Local().Format(time.DateTime), host)
	}
	return w.Flush()
}

// WriteDHCPFields writes, for each DHCP frame of a capture, the fields a
// newcomer reads first: op, xid, chaddr, yiaddr and options 53, 54 and 55.
func WriteDHCPFields(w io.Writer, path string) error {
	r, err := capture.OpenFile(path)
	if err != nil {
		return err
	}
	defer r.Close()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\top\txid\tchaddr\tyiaddr\t53 type\t54 server id\t55 parameter request list")
	for n := 1; ; n++ {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		p, err := craft.DecodeDHCP(rec.Data)
		if err != nil {
			continue // the ARP probe
		}
		m := p.Msg
		sid, prl := "-", "-"
		if id := m.ServerIdentifier(); id != nil {
			sid = id.String()
		}
		if l := m.ParameterRequestList(); len(l) > 0 {
			codes := make([]string, len(l))
			for i, c := range l {
				codes[i] = strconv.Itoa(int(c.Code()))
			}
			prl = strings.Join(codes, ",")
		}
		fmt.Fprintf(tw, "%d\t%d %s\t%#08x\t%s\t%s\t%d %s\t%s\t%s\n", n, m.OpCode, m.OpCode, binaryXID(m.TransactionID),
			m.ClientHWAddr, m.YourIPAddr, uint8(m.MessageType()), m.MessageType(), sid, prl)
	}
	return tw.Flush()
}

// binaryXID returns a transaction ID as a number.
func binaryXID(x [4]byte) uint32 {
	return uint32(x[0])<<24 | uint32(x[1])<<16 | uint32(x[2])<<8 | uint32(x[3])
}

// WriteCapture writes each frame of a pcap/pcapng file: number, time offset,
// one-line summary and, on the next line, its comment.
func WriteCapture(w io.Writer, path string) error {
	r, err := capture.OpenFile(path)
	if err != nil {
		return err
	}
	defer r.Close()
	var first time.Time
	for n := 1; ; n++ {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			if n == 1 {
				return fmt.Errorf("%s: no frames recorded", path)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if first.IsZero() {
			first = rec.Time
		}
		dir := ""
		switch rec.Dir {
		case capture.Inbound:
			dir = "in "
		case capture.Outbound:
			dir = "out"
		}
		fmt.Fprintf(w, "%3d  +%.6fs %s %s\n", n, rec.Time.Sub(first).Seconds(), dir, craft.Summarize(rec.Data))
		if rec.Comment != "" {
			fmt.Fprintf(w, "       # %s\n", rec.Comment)
		}
	}
}
