import struct
# The frames are built, not captured: the kernel makes none of these edges on
# demand. tcpdump -e -n reads each file into the .txt beside it (see edge.sh).
def pcap(name, lt, frames, snap=65535):
    with open(name,'wb') as f:
        f.write(struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,snap,lt))
        for i,fr in enumerate(frames):
            wl=len(fr)
            if isinstance(fr,tuple): fr,wl=fr
            f.write(struct.pack('<IIII',1+i,0,len(fr),wl)); f.write(fr)
def csum(b):
    if len(b)%2: b+=b'\0'
    s=sum(struct.unpack('!%dH'%(len(b)//2),b)); 
    while s>>16: s=(s&0xffff)+(s>>16)
    return (~s)&0xffff
def ip(src,dst,proto,payload,total=None,ident=1,flags=0):
    t = total or 20+len(payload)
    h=struct.pack('!BBHHHBBH4s4s',0x45,0,t,ident,flags,64,proto,0,bytes(src),bytes(dst))
    h=h[:10]+struct.pack('!H',csum(h))+h[12:]
    return h+payload
def icmp(t,c,rest,data):
    m=struct.pack('!BBH',t,c,0)+rest+data
    return m[:2]+struct.pack('!H',csum(m))+m[4:]
A=[198,18,0,1];B=[198,18,0,2];G=[198,18,0,254]
E=bytes.fromhex('020000000002020000000001')
def eth(t,p): 
    f=E+struct.pack('!H',t)+p
    return f+bytes(max(0,60-len(f)))
udp=struct.pack('!HHHH',40000,9,9,0)+b'x'
quoted=ip(A,B,17,udp)[:28]
tcpq=ip(A,B,6,struct.pack('!HHII',40000,80,1,0)+bytes(12))[:28]
fr=[]
for code in range(16): fr.append(eth(0x800,ip(B,A,1,icmp(3,code,b'\0\0\x05\x78' if code==4 else bytes(4),quoted))))
fr.append(eth(0x800,ip(B,A,1,icmp(3,3,bytes(4),tcpq))))
fr.append(eth(0x800,ip(B,A,1,icmp(3,3,bytes(4),ip(A,B,47,bytes(8))[:28]))))
for code in range(4): fr.append(eth(0x800,ip(B,A,1,icmp(5,code,bytes(G),quoted))))
for code in range(2): fr.append(eth(0x800,ip(B,A,1,icmp(11,code,bytes(4),quoted))))
fr.append(eth(0x800,ip(B,A,1,icmp(12,0,b'\x08\0\0\0',quoted))))
fr.append(eth(0x800,ip(B,A,1,icmp(4,0,bytes(4),quoted))))
fr.append(eth(0x800,ip(A,B,1,icmp(13,0,struct.pack('!HH',0x1234,7),struct.pack('!III',3723004,0,0)))))
fr.append(eth(0x800,ip(B,A,1,icmp(14,0,struct.pack('!HH',0x1234,7),struct.pack('!III',3723004,3723005,3723006)))))
# first fragment of ICMP echo
echo=icmp(8,0,struct.pack('!HH',5,6),bytes(1472))
fr.append(eth(0x800,ip(A,B,1,echo[:1480],ident=9,flags=0x2000)))
fr.append(eth(0x800,ip(A,B,1,echo[1480:],ident=9,flags=185)))
u=struct.pack('!HHHH',5000,6000,8+2000,0)+bytes(2000)
fr.append(eth(0x800,ip(A,B,17,u[:1480],ident=10,flags=0x2000)))
fr.append(eth(0x800,ip(A,B,17,u[1480:],ident=10,flags=185)))
# bootp no cookie
bootp=struct.pack('!BBBBIHH4s4s4s4s16s64s128s',1,1,6,0,0x2a,0,0,bytes(4),bytes(4),bytes(4),bytes(4),bytes.fromhex('020000000001')+bytes(10),b'srv\x1b[31m',b'file')+bytes(64)
fr.append(eth(0x800,ip([0,0,0,0],[255,255,255,255],17,struct.pack('!HHHH',68,67,8+len(bootp),0)+bootp)))
bootr=bytearray(bootp); bootr[0]=2; bootr[16:20]=bytes(A)
fr.append(eth(0x800,ip(B,[255,255,255,255],17,struct.pack('!HHHH',67,68,8+len(bootr),0)+bytes(bootr))))
# rarp
def arp(ht,pt,hl,pl,op,sha,spa,tha,tpa): return struct.pack('!HHBBH',ht,pt,hl,pl,op)+sha+spa+tha+tpa
M=bytes.fromhex('020000000001')
fr.append(eth(0x8035,arp(1,0x800,6,4,3,M,bytes(4),M,bytes(4))))
fr.append(eth(0x8035,arp(1,0x800,6,4,4,bytes.fromhex('020000000002'),bytes(B),M,bytes([198,18,0,5]))))
fr.append(eth(0x806,arp(6,0x800,6,4,1,M,bytes(A),bytes(6),bytes(B))))
fr.append(eth(0x806,arp(6,0x800,6,4,2,M,bytes(A),M,bytes(B))))
fr.append(eth(0x806,arp(1,0x800,6,4,8,M,bytes(A),M,bytes(B))))
fr.append(eth(0x806,arp(1,0x800,6,4,99,M,bytes(A),M,bytes(B))))
fr.append(eth(0x806,arp(1,0x86dd,6,16,1,M,bytes(16),M,bytes(16))))
fr.append(eth(0x806,arp(0x1234,0x800,8,4,1,M+b'ab',bytes(A),bytes(8),bytes(B))))
pcap("edge.pcap",1,fr[:39]+fr[40:])
# Link types and snap-length cuts: a 1000-byte UDP frame cut at 96 bytes.
udp=struct.pack('!HHHH',5000,6000,8+958,0)+bytes(958)
ipp=ip(A,B,17,udp)
ethf=E+b'\x08\x00'+ipp
def sll(pkt,proto,p): return struct.pack('!HHH8sH',pkt,1,6,bytes.fromhex('0200000000010000'),proto)+p
def sll2(pkt,ifi,proto,p): return struct.pack('!HHIHBB8s',proto,0,ifi,1,pkt,6,bytes.fromhex('0200000000010000'))+p
pcap('cut.pcap',1,[(ethf[:96],len(ethf)),(ethf[:40],len(ethf)),ethf],96)
pcap('sll.pcap',113,[(sll(0,0x800,ipp)[:96],len(ipp)+16),sll(4,0x800,ipp),sll(1,0x806,arp(1,0x800,6,4,1,M,bytes(A),bytes(6),bytes(B))),sll(2,0x800,ip(A,B,1,icmp(8,0,struct.pack('!HH',1,2),b''))),sll(0,0x8100,struct.pack('!HH',0x200a,0x0806)+arp(1,0x800,6,4,1,M,bytes(A),bytes(6),bytes(B)))])
pcap('sll2.pcap',276,[(sll2(0,2,0x800,ipp)[:96],len(ipp)+20),sll2(4,3,0x800,ipp)])
pcap('raw.pcap',101,[(ipp[:96],len(ipp)),ipp])
