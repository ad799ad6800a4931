#!/usr/bin/env python3
"""Captures raw netlink replies of a real IPVS kernel as hex fixtures for the wire tests.

Run as root inside the VM, in a namespace whose table was loaded by ipvsadm:
  test/vm/run.sh -- sh test/unit/native/capture-fixtures.sh
Writes JSON to stdout: the service dump, one real-server dump per service, GET_INFO,
GET_CONFIG and an RTM_GETADDR dump, each as a list of datagrams in hex.
"""
import json
import os
import socket
import struct

NETLINK_GENERIC = 16
NETLINK_ROUTE = 0
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 0x10, 3, 1, 2
IPVS_CMD_GET_SERVICE, IPVS_CMD_GET_DEST, IPVS_CMD_GET_CONFIG, IPVS_CMD_GET_INFO = 4, 8, 13, 15
IPVS_CMD_ATTR_SERVICE = 1
RTM_GETADDR = 22


def attr(t, payload):
    n = 4 + len(payload)
    return struct.pack('=HH', n, t) + payload + b'\0' * ((4 - n % 4) % 4)


def attrs(buf):
    out, off = {}, 0
    while off + 4 <= len(buf):
        n, t = struct.unpack_from('=HH', buf, off)
        if n < 4:
            break
        out[t & 0x3fff] = buf[off + 4:off + n]
        off += (n + 3) & ~3
    return out


class Sock:
    def __init__(self, proto):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
        self.s.bind((0, 0))
        self.seq = 100

    def ask(self, typ, flags, body):
        self.seq += 1
        self.s.send(struct.pack('=IHHII', 16 + len(body), typ, flags, self.seq, 0) + body)
        grams = []
        while True:
            d = self.s.recv(1 << 20)
            grams.append(d)
            done, off = False, 0
            while off + 16 <= len(d):
                n, t = struct.unpack_from('=IH', d, off)
                if t in (NLMSG_DONE, NLMSG_ERROR) or not flags & NLM_F_DUMP:
                    done = True
                off += (n + 3) & ~3
            if done:
                return grams


def messages(grams):
    for d in grams:
        off = 0
        while off + 16 <= len(d):
            n, t = struct.unpack_from('=IH', d, off)
            yield t, d[off + 16:off + n]
            off += (n + 3) & ~3


def main():
    g = Sock(NETLINK_GENERIC)
    fam = g.ask(GENL_ID_CTRL, NLM_F_REQUEST, struct.pack('=BBH', CTRL_CMD_GETFAMILY, 1, 0) + attr(CTRL_ATTR_FAMILY_NAME, b'IPVS\0'))
    family = None
    for t, p in messages(fam):
        if t == GENL_ID_CTRL:
            family = struct.unpack('=H', attrs(p[4:])[CTRL_ATTR_FAMILY_ID][:2])[0]
    hdr = lambda cmd: struct.pack('=BBH', cmd, 1, 0)
    services = g.ask(family, NLM_F_REQUEST | NLM_F_DUMP, hdr(IPVS_CMD_GET_SERVICE))
    reals = []
    for t, p in messages(services):
        if t != family:
            continue
        svc = attrs(p[4:])[IPVS_CMD_ATTR_SERVICE]
        key = b''.join(attr(k, v) for k, v in attrs(svc).items() if k in (1, 2, 3, 4, 5))
        reals.append(g.ask(family, NLM_F_REQUEST | NLM_F_DUMP, hdr(IPVS_CMD_GET_DEST) + attr(IPVS_CMD_ATTR_SERVICE | 0x8000, key)))
    info = g.ask(family, NLM_F_REQUEST, hdr(IPVS_CMD_GET_INFO))
    config = g.ask(family, NLM_F_REQUEST, hdr(IPVS_CMD_GET_CONFIG))
    r = Sock(NETLINK_ROUTE)
    addrs = r.ask(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, struct.pack('=BBBBI', 0, 0, 0, 0, 0))
    hexes = lambda grams: [d.hex() for d in grams]
    json.dump({
        'kernel': os.uname().release,
        'services': hexes(services),
        'reals': [hexes(x) for x in reals],
        'info': hexes(info),
        'config': hexes(config),
        'addresses': hexes(addrs),
    }, os.sys.stdout, indent=1)


if __name__ == '__main__':
    main()
