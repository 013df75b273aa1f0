"""What each validation method looks for, as DNS records: the one place the kit's challenge
writers (the local fleet's Knot, a deployed stack's Route53 zone) take record names and values from.

Pure functions; names follow open-mpic-core 6.5 and the BR section each method implements:

================================  ===========================================================
method                            record
================================  ===========================================================
dns-change (3.2.2.4.7)            TXT / CNAME / CAA at ``[PREFIX.]DOMAIN``
acme-dns-01 (3.2.2.4.7)           TXT at ``_acme-challenge.DOMAIN``
dns-persistent (3.2.2.4.22)       TXT at ``_validation-persist.DOMAIN``:
                                  ``ISSUER; accounturi=URI[; persistUntil=SECONDS]``
contact-email-txt (3.2.2.4.14)    TXT at ``_validation-contactemail.DOMAIN``
contact-phone-txt (3.2.2.4.16)    TXT at ``_validation-contactphone.DOMAIN``
contact-email-caa (3.2.2.4.13)    CAA ``0 contactemail "ADDRESS"`` at DOMAIN or a parent
contact-phone-caa (3.2.2.4.15)    CAA ``0 contactphone "NUMBER"`` at DOMAIN or a parent
ip-address (3.2.2.4.8)            A / AAAA at DOMAIN
reverse-address-lookup (3.2.2.5)  PTR at the address's ``in-addr.arpa`` / ``ip6.arpa`` name
================================  ===========================================================
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

PERSIST_PREFIX = "_validation-persist"
CONTACT_PREFIX = {"email": "_validation-contactemail", "phone": "_validation-contactphone"}
CONTACT_TAG = {"email": "contactemail", "phone": "contactphone"}
REVERSE_ZONES = {4: "in-addr.arpa.", 6: "ip6.arpa."}

_CAA = re.compile(r'^\s*(\d{1,3})\s+([A-Za-z0-9]+)\s+(".*")\s*$')
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


class ChallengeValueError(ValueError):
    """A challenge value that no method could match; the message says what to give instead."""


@dataclass(frozen=True)
class Record:
    """One DNS record to write: owner name (absolute), type, presentation rdata."""

    name: str
    type: str
    data: str


def absolute(name: str) -> str:
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


def quote(value: str) -> str:
    """A TXT/CAA character string in presentation format."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def txt_rdata(value: str) -> str:
    """TXT rdata; values over 255 bytes are split into several strings (validators join them)."""
    if len(value.encode()) <= 255:
        return quote(value)
    return " ".join(quote(value[i:i + 255]) for i in range(0, len(value), 255))


def caa_rdata(value: str) -> str:
    """``FLAGS TAG "VALUE"`` normalised, or ChallengeValueError."""
    m = _CAA.match(value)
    if not m or int(m.group(1)) > 255:
        raise ChallengeValueError(
            f"CAA value {value!r}: expected 'FLAGS TAG \"VALUE\"', e.g. '0 issue \"ca.example\"' "
            "or '0 issuemail \"ca.example\"' (S/MIME)")
    return f"{m.group(1)} {m.group(2)} {m.group(3)}"


def persistent(domain: str, issuer: str, account_uri: str, persist_until: int | None = None) -> Record:
    """The dns-persistent TXT record (BR 3.2.2.4.22) naming ``issuer`` and the ACME account."""
    if not issuer.strip() or ";" in issuer or " " in issuer.strip():
        raise ChallengeValueError(f"issuer {issuer!r}: give one issuer domain name from the CA's CP/CPS, "
                                  "e.g. ca.example")
    if not _URI.match(account_uri) or ";" in account_uri:
        raise ChallengeValueError(f"account URI {account_uri!r}: give a URI without ';', "
                                  "e.g. https://ca.example/acme/acct/1")
    value = f"{issuer.strip().lower()}; accounturi={account_uri}"
    if persist_until is not None:
        value += f"; persistUntil={int(persist_until)}"
    return Record(absolute(f"{PERSIST_PREFIX}.{domain}"), "TXT", txt_rdata(value))


def contact(domain: str, kind: str, value: str, via: str) -> Record:
    """A contact-{email,phone}-{txt,caa} record: TXT at the method's prefix, or CAA contact tag."""
    if kind not in CONTACT_PREFIX:
        raise ChallengeValueError(f"contact kind {kind!r}: use email or phone")
    if not value.strip() or '"' in value:
        raise ChallengeValueError(f"contact {kind} {value!r}: give an address or number without quotes")
    if via == "txt":
        return Record(absolute(f"{CONTACT_PREFIX[kind]}.{domain}"), "TXT", txt_rdata(value.strip()))
    if via == "caa":
        return Record(absolute(domain), "CAA", f"0 {CONTACT_TAG[kind]} {quote(value.strip())}")
    raise ChallengeValueError(f"contact record {via!r}: use txt or caa")


def address(domain: str, ip: str) -> Record:
    """The ip-address method's record: A for IPv4, AAAA for IPv6."""
    try:
        parsed = ipaddress.ip_address(ip.strip())
    except ValueError:
        raise ChallengeValueError(f"{ip!r}: not an IPv4 or IPv6 address") from None
    return Record(absolute(domain), "A" if parsed.version == 4 else "AAAA", str(parsed))


def reverse(ip: str, host: str) -> tuple[str, Record]:
    """(reverse zone, PTR record) for reverse-address-lookup: ``ip``'s pointer name -> ``host``."""
    try:
        parsed = ipaddress.ip_address(ip.strip())
    except ValueError:
        raise ChallengeValueError(f"{ip!r}: not an IPv4 or IPv6 address") from None
    return REVERSE_ZONES[parsed.version], Record(absolute(parsed.reverse_pointer), "PTR", absolute(host))
