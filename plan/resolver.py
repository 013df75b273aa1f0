"""The one renderer of the perspectives' resolver: an Unbound config per perspective (or pod).

BR 3.2.2.9: a perspective's recursive resolver is in the perspective's place and RIR and shares no
cache with another perspective. Every target runs one validating Unbound per perspective host or
pod, full recursion, no forwarders; this module renders its ``unbound.conf`` for all of them.
The security options are the same everywhere; the *placement* differs:

- aws-hosts: a system service on 127.0.0.1:53, root trust anchor kept by ``unbound-anchor``;
- k8s: a sidecar on the pod's loopback (port 5353 for the checkers, 53 for resolv.conf), the
  IANA root anchors inline, run in the foreground as a non-root user;
- local fleet: in the region's namespace on 127.0.0.1:53, recursing from the region's uplink
  address to the mini-internet's fake root (root hints and its KSK as the trust anchor), and
  without a cache so a challenge set with ``mpic challenge`` is seen by the very next check.
  That last point is the one behaviour that differs from the cloud (documented in
  docs/local-fleet.md): a cloud resolver caches as usual.
"""

from __future__ import annotations

import dataclasses

IANA_ROOT_ANCHORS: tuple[str, ...] = (
    ". DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
    ". DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
)
"""Root zone trust anchors (IANA root-anchors: KSK-2017 and KSK-2024), as DS records."""

HARDENING: tuple[str, ...] = (
    "hide-identity: yes",
    "hide-version: yes",
    "qname-minimisation: yes",
    "harden-dnssec-stripped: yes",
    "harden-glue: yes",
    "harden-below-nxdomain: yes",
    "val-clean-additional: yes",
    "use-caps-for-id: no",
    "prefetch: no",
    "ede: yes",
)
"""Options every perspective's resolver runs with (validating, minimal disclosure). ``ede``: its
failures carry Extended DNS Errors (RFC 8914), which the perspective reads to tell a DNSSEC
failure from an unreachable authority (BR 3.2.2.8: service.caa_lookup)."""

NO_CACHE: tuple[str, ...] = (
    "cache-min-ttl: 0",
    "cache-max-ttl: 0",
    "cache-max-negative-ttl: 0",
    "aggressive-nsec: no",
)


@dataclasses.dataclass(frozen=True)
class UnboundPlacement:
    """Where and how one perspective's Unbound runs (see the module docstring)."""

    interfaces: tuple[str, ...]
    """``ADDR`` or ``ADDR@PORT`` to listen on."""
    allow: tuple[str, ...] = ("127.0.0.0/8",)
    """Client networks answered; everything else is refused."""
    do_ip6: bool = False
    foreground_dir: str | None = None
    """Run in the foreground with this working directory (k8s, local); None: the distribution's
    service defaults (aws-hosts, where the packaged service drops to ``unbound``)."""
    username: str = ""
    """In the foreground: the user Unbound drops to once its port is bound (local: ``unbound``, as
    the packaged service); empty: stay the invoking user (k8s: the pod's non-root user)."""
    trust_anchors: tuple[str, ...] = ()
    """Inline trust anchors (DS records)."""
    trust_anchor_file: str | None = None
    auto_trust_anchor_file: str | None = None
    """RFC 5011-managed anchor file (``unbound-anchor``)."""
    root_hints: str | None = None
    """Root hints file (a private root); None: Unbound's built-in hints."""
    outgoing_interface: str | None = None
    """Source address of the recursion (the region's own uplink)."""
    cache: bool = True
    """False: answer nothing from cache (local fleet only, see the module docstring)."""
    threads: int = 1
    extra: tuple[str, ...] = ()
    """Further ``server:`` options, verbatim."""


def unbound_conf(p: UnboundPlacement) -> str:
    """``unbound.conf`` text for one perspective's resolver."""
    server: list[str] = [f"interface: {i}" for i in p.interfaces]
    server.append(f"do-ip6: {'yes' if p.do_ip6 else 'no'}")
    server += ["access-control: 0.0.0.0/0 refuse", "access-control: ::/0 refuse"]
    server += [f"access-control: {net} allow" for net in p.allow]
    if p.foreground_dir is not None:
        server += [f'username: "{p.username}"', 'chroot: ""', f'directory: "{p.foreground_dir}"', 'pidfile: ""',
                   "use-syslog: no", 'logfile: ""', "do-daemonize: no"]
    if p.outgoing_interface is not None:
        server.append(f"outgoing-interface: {p.outgoing_interface}")
    if p.root_hints is not None:
        server.append(f'root-hints: "{p.root_hints}"')
    server += [f'trust-anchor: "{a}"' for a in p.trust_anchors]
    if p.trust_anchor_file is not None:
        server.append(f'trust-anchor-file: "{p.trust_anchor_file}"')
    if p.auto_trust_anchor_file is not None:
        server.append(f'auto-trust-anchor-file: "{p.auto_trust_anchor_file}"')
    server += list(HARDENING)
    if not p.cache:
        server += list(NO_CACHE)
    server += [f"num-threads: {p.threads}", f"so-reuseport: {'yes' if p.threads > 1 else 'no'}", "verbosity: 1"]
    server += list(p.extra)
    return "server:\n" + "".join(f"    {line}\n" for line in server) + "remote-control:\n    control-enable: no\n"
