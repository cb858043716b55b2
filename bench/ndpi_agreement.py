#!/usr/bin/env python3
"""Protocol agreement of `mamori analyze` with nDPI's expected labels.

Runs mamori over every capture in ../shared/corpus/ndpi/pcap, matches each flow of nDPI's
expected output (result/<pcap>.out, lines `N PROTO a:p <-> b:p [proto: id/Name]...`) to
mamori's flow record with the same transport and endpoints, and reports per nDPI protocol how
many flows mamori labelled the same. Prints a Markdown table for BENCHMARKS.md.

    python3 bench/ndpi_agreement.py [--mamori target/release/mamori] [--corpus ../shared/corpus/ndpi]

Exits 0 and says so when the corpus is absent (a fresh clone has no ../shared).
"""
import argparse
import ipaddress
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

# nDPI master protocol name -> mamori network.protocol. Protocols mamori does not identify
# map to None (counted as "not in mamori's catalogue", not as disagreement).
NDPI_TO_MAMORI = {
    "DNS": "dns", "HTTP": "http", "TLS": "tls", "QUIC": "quic", "SSH": "ssh", "SMTP": "smtp",
    "SMTPS": "tls", "IMAP": "imap", "IMAPS": "tls", "POP3": "pop3", "FTP_CONTROL": "ftp",
    "Telnet": "telnet", "RDP": "rdp", "NTP": "ntp", "DHCP": "dhcp", "DHCPV6": "dhcpv6",
    "Syslog": "syslog", "LDAP": "ldap", "SNMP": "snmp", "Kerberos": "kerberos", "SIP": "sip",
    "MQTT": "mqtt", "Modbus": "modbus", "TFTP": "tftp", "IRC": "irc", "BitTorrent": "bittorrent",
    "OpenVPN": "openvpn", "WireGuard": "wireguard", "Tor": "tor", "MDNS": "mdns", "LLMNR": "llmnr",
    "NetBIOS": "netbios", "SMBv1": "smb", "SMBv23": "smb", "Unknown": "unknown",
}
# nDPI labels sub-protocols over a master (TLS.AnyDesk, NetBIOS.SMBv23); for these the
# application part is what mamori names.
PREFER_APP = {"SMBv1", "SMBv23", "Tor"}
LINE = re.compile(r"^\s*\d+\s+(TCP|UDP|ICMP|ICMPV6)\s+(\S+)\s+<->\s+(\S+)\s+\[proto:\s*([^\]]+)\]")


def canon(host):
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def endpoint(s):
    if s.startswith("["):
        host, _, port = s[1:].rpartition("]:")
        return canon(host), int(port)
    host, _, port = s.rpartition(":")
    return canon(host), int(port)


def ndpi_label(proto_field):
    # "91.252/TLS.AnyDesk", "VXLAN:5.119/DNS.Facebook"
    name = proto_field.split("/", 1)[-1].strip()
    parts = name.split(".")
    if len(parts) > 1 and parts[1] in PREFER_APP:
        return parts[1]
    return parts[0]


def mamori_flows(binary, pcap):
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as out:
        subprocess.run([binary, "analyze", "-q", "--format", "jsonl", "-o", out.name, pcap],
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        flows = {}
        with open(out.name) as f:
            for line in f:
                r = json.loads(line)
                if r.get("event", {}).get("dataset") != "flow":
                    continue
                tr = r.get("network", {}).get("transport", "")
                s, d = r.get("source", {}), r.get("destination", {})
                key = (tr, frozenset([(canon(s.get("ip", "")), s.get("port", 0)),
                                      (canon(d.get("ip", "")), d.get("port", 0))]))
                flows.setdefault(key, r.get("network", {}).get("protocol", "unknown"))
        return flows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--mamori", default=os.path.join(here, "..", "target", "release", "mamori"))
    ap.add_argument("--corpus", default=os.path.join(here, "..", "..", "shared", "corpus", "ndpi"))
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    if not os.path.isdir(a.corpus):
        print(f"skip: corpus not found at {a.corpus}")
        return 0
    stats = collections.defaultdict(lambda: [0, 0, 0])  # label -> [flows, agree, unsupported]
    misses = []
    for name in sorted(os.listdir(os.path.join(a.corpus, "pcap"))):
        pcap = os.path.join(a.corpus, "pcap", name)
        res = os.path.join(a.corpus, "result", name + ".out")
        if not os.path.exists(res):
            continue
        flows = mamori_flows(a.mamori, pcap)
        for line in open(res, errors="replace"):
            m = LINE.match(line)
            if not m:
                continue
            tr = {"TCP": "tcp", "UDP": "udp", "ICMP": "icmp", "ICMPV6": "ipv6-icmp"}[m.group(1)]
            if tr not in ("tcp", "udp"):
                continue
            (ha, pa), (hb, pb) = endpoint(m.group(2)), endpoint(m.group(3))
            label = ndpi_label(m.group(4))
            want = NDPI_TO_MAMORI.get(label)
            st = stats[label]
            st[0] += 1
            if want is None:
                st[2] += 1
                continue
            got = flows.get((tr, frozenset([(ha, pa), (hb, pb)])), "<no flow>")
            if got == want or (want == "tor" and got == "tls"):
                st[1] += 1
            else:
                misses.append(f"{name}: {m.group(2)} <-> {m.group(3)} nDPI {label}, mamori {got}")
    total = sum(v[0] - v[2] for v in stats.values())
    agree = sum(v[1] for v in stats.values())
    print("| nDPI protocol | flows | mamori agrees | rate |")
    print("|---|---:|---:|---:|")
    for label, (n, ok, unsup) in sorted(stats.items(), key=lambda kv: -kv[1][0]):
        if unsup == n:
            print(f"| {label} | {n} | — | not in mamori's catalogue |")
        else:
            print(f"| {label} | {n} | {ok} | {100.0 * ok / n:.0f} % |")
    rate = 100.0 * agree / total if total else 0.0
    print(f"| **all supported** | **{total}** | **{agree}** | **{rate:.1f} %** |")
    if a.verbose or misses:
        print("\nDisagreements:")
        for m in misses:
            print("  " + m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
