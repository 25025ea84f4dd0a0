// The iptables rules that make a lab router behave as one kind of NAT (RFC 4787 terms). Each
// router has wan0 (the internet) and br-lan (its LAN); rules are iptables arguments, applied in
// the router's own namespace.
//
// - cone: endpoint-independent mapping (MASQUERADE keeps the source port when it is free, and
//   reuses one mapping for every destination) and endpoint-independent filtering. The filtering is
//   a DMZ: any unsolicited inbound UDP is DNATed to the LAN's one host, on the same port, so a
//   packet from anyone reaches whatever mapping the host opened ("full cone"). TCP gets no DMZ.
// - port-restricted: the same mapping; address-and-port-dependent filtering by conntrack: only
//   replies to a flow the host opened come in (a home router's WAN firewall drops the rest).
// - symmetric: MASQUERADE --random-fully (a fresh random port per destination) and the same
//   conntrack filtering: address-and-port-dependent mapping and filtering.
// - tcp-only: port-restricted, and every forwarded UDP packet dropped, both ways.
// - Without the input firewall (`inputFirewall` false, as on many Linux routers), a packet to the
//   router's own WAN address on a port no mapping holds yet is delivered to the router itself
//   (nothing listens: an ICMP error back), and conntrack keeps an entry for it. A peer's ICE
//   checks that arrive before the host behind it sent anything leave such an entry; when the host
//   then sends to that peer from the same port, MASQUERADE finds the port taken for that peer
//   and picks another one: the port the peer was told about no longer reaches the host.
export type NatKind = 'cone' | 'port-restricted' | 'symmetric' | 'tcp-only'

/** The router's rules; `dmzHost` is the LAN address a cone router forwards unsolicited UDP to. */
export function natRules (kind: NatKind, dmzHost: string, inputFirewall: boolean): string[][] {
  const masquerade = ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-j', 'MASQUERADE', ...(kind === 'symmetric' ? ['--random-fully'] : [])]
  const input = inputFirewall
    ? [['-A', 'INPUT', '-i', 'wan0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'], ['-A', 'INPUT', '-i', 'wan0', '-j', 'DROP']]
    : []
  const firewall = [
    ...input,
    ['-A', 'FORWARD', '-i', 'wan0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
    ...(kind === 'cone' ? [['-A', 'FORWARD', '-i', 'wan0', '-m', 'conntrack', '--ctstate', 'DNAT', '-j', 'ACCEPT']] : []),
    ['-A', 'FORWARD', '-i', 'wan0', '-j', 'DROP']
  ]
  const dmz = kind === 'cone' ? [['-t', 'nat', '-A', 'PREROUTING', '-i', 'wan0', '-p', 'udp', '-j', 'DNAT', '--to-destination', dmzHost]] : []
  const noUdp = kind === 'tcp-only' ? [['-I', 'FORWARD', '1', '-p', 'udp', '-j', 'DROP']] : []
  return [masquerade, ...dmz, ...firewall, ...noUdp]
}
