#!/usr/bin/env python3
"""inject.py IFACE: write 802.1Q / 802.1ad / QinQ tagged frames (ICMP echo,
UDP, TCP SYN, ARP between 198.18.0.1 and 198.18.0.2) on IFACE through an
AF_PACKET socket, for mklab.sh. Bounded: a fixed list of frames."""
import socket, struct, sys

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ipv4(proto, payload, src=b'\xc6\x12\x00\x01', dst=b'\xc6\x12\x00\x02'):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 7, 0, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload

def icmp_echo(seq):
    b = struct.pack('!BBHHH', 8, 0, 0, 0x77, seq) + b'rawlab'
    return b[:2] + struct.pack('!H', csum(b)) + b[4:]

A = bytes.fromhex('020000000001'); B = bytes.fromhex('020000000002')
def eth(tags, etype, payload, dst=B, src=A):
    b = dst + src
    for tpid, tci in tags: b += struct.pack('!HH', tpid, tci)
    b += struct.pack('!H', etype) + payload
    return b + b'\0' * max(0, 60 - len(b))

arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x800, 6, 4, 1, A, b'\xc6\x12\x00\x01', b'\0' * 6, b'\xc6\x12\x00\x02')
frames = []
for tags in ([(0x8100, 10)], [(0x8100, (3 << 13) | 20)], [(0x88a8, 100)], [(0x9100, 4095)],
             [(0x88a8, 100), (0x8100, 20)], [(0x8100, 10), (0x8100, 30)]):
    frames.append(eth(tags, 0x800, ipv4(1, icmp_echo(len(frames)))))
    frames.append(eth(tags, 0x800, ipv4(17, struct.pack('!HHHH', 5353, 53, 12, 0) + b'dns?')))
    frames.append(eth(tags, 0x800, ipv4(6, struct.pack('!HHIIBBHHH', 40000, 80, 1, 0, 0x50, 0x02, 0xffff, 0, 0))))
    frames.append(eth(tags, 0x806, arp, dst=b'\xff' * 6))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for f in frames:
    s.send(f)
