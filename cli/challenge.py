"""``mpic challenge``: set what each DCV method and CAA profile looks for on the local fleet's
mini-internet (live within a second); ``clear`` undoes it. See docs/methods.md."""

from __future__ import annotations

from typing import Optional

import typer

from cli import app
from cli.common import LOCAL_FLEET, guarded
from local.actions import challenges
from local.errors import require_root

challenge_app = typer.Typer(
    help="Set DCV/CAA challenges on the local fleet's mini-internet (live within a second). "
         "Every method of open-mpic-core: see docs/methods.md.", no_args_is_help=True)
app.add_typer(challenge_app, name="challenge", rich_help_panel=LOCAL_FLEET)
StackOpt = typer.Option(None, "--stack", "-s", help="Stack of the running fleet (default: the one that is up).")


def _run(fn, *args, **kwargs):
    guarded(require_root)
    return guarded(fn, *args, **kwargs)


@challenge_app.command("txt")
def challenge_txt(name: str, value: str, stack: Optional[str] = StackOpt) -> None:
    """Add a TXT record NAME "VALUE" (dns-change, acme-dns-01 at _acme-challenge.DOMAIN)."""
    zone = _run(challenges.set_txt, stack, name, value)
    typer.echo(f"{name} TXT \"{value}\" (zone {zone}, signed, TTL 1)")


@challenge_app.command("cname")
def challenge_cname(name: str, target: str, stack: Optional[str] = StackOpt) -> None:
    """Set NAME CNAME TARGET (dns-change with dns_record_type CNAME)."""
    zone = _run(challenges.set_cname, stack, name, target)
    typer.echo(f"{name} CNAME {target} (zone {zone})")


@challenge_app.command("caa")
def challenge_caa(name: str,
                  value: str = typer.Argument(..., help="'FLAGS TAG \"VALUE\"': '0 issue \"ca.example\"' (TLS server), "
                                                        "'0 issuemail \"ca.example\"' (S/MIME), issuewild, iodef, ..."),
                  stack: Optional[str] = StackOpt) -> None:
    """Add a CAA record at NAME (caa checks for tls-server and s-mime; dns-change with CAA)."""
    zone = _run(challenges.set_caa, stack, name, value)
    typer.echo(f"{name} CAA {value} (zone {zone})")


@challenge_app.command("persistent")
def challenge_persistent(domain: str, issuer: str = typer.Argument(..., help="Issuer domain name from the CA's CP/CPS."),
                         account_uri: str = typer.Argument(..., help="The ACME account URI, e.g. https://ca.example/acct/1"),
                         persist_until: Optional[int] = typer.Option(None, help="Expiry, seconds since the epoch."),
                         stack: Optional[str] = StackOpt) -> None:
    """dns-persistent: TXT "ISSUER; accounturi=URI" at _validation-persist.DOMAIN."""
    rec = _run(challenges.set_persistent, stack, domain, issuer, account_uri, persist_until)
    typer.echo(f"{rec.name} TXT {rec.data}")


@challenge_app.command("contact")
def challenge_contact(domain: str, kind: str = typer.Argument(..., help="email or phone"),
                      value: str = typer.Argument(..., help="The address or number the CA will contact."),
                      via: str = typer.Option("txt", help="txt (_validation-contactKIND.DOMAIN) or caa "
                                                          "(contactemail/contactphone tag at DOMAIN)"),
                      stack: Optional[str] = StackOpt) -> None:
    """contact-email-txt/-caa, contact-phone-txt/-caa: where the CA finds the domain contact."""
    rec = _run(challenges.set_contact, stack, domain, kind, value, via)
    typer.echo(f"{rec.name} {rec.type} {rec.data}")


@challenge_app.command("ip")
def challenge_ip(domain: str, address: str, stack: Optional[str] = StackOpt) -> None:
    """ip-address: DOMAIN A ADDRESS (or AAAA for IPv6), replacing that name's records of the type."""
    rec = _run(challenges.set_address, stack, domain, address)
    typer.echo(f"{rec.name} {rec.type} {rec.data}")


@challenge_app.command("reverse")
def challenge_reverse(address: str, host: str, stack: Optional[str] = StackOpt) -> None:
    """reverse-address-lookup: PTR ADDRESS -> HOST in in-addr.arpa / ip6.arpa (served, signed, on first use)."""
    rec = _run(challenges.set_reverse, stack, address, host)
    typer.echo(f"{rec.name} PTR {rec.data}")


@challenge_app.command("http")
def challenge_http(host: str, path: str, content: str, stack: Optional[str] = StackOpt) -> None:
    """Serve CONTENT at http://HOST/PATH and https://HOST/PATH (website-change, acme-http-01)."""
    _run(challenges.set_http, stack, host, path, content)
    typer.echo(f"http://{host}/{path.lstrip('/')} and https://{host}/{path.lstrip('/')} serve {len(content)} bytes")


@challenge_app.command("tls-alpn")
def challenge_tls_alpn(identifier: str = typer.Argument(..., help="A DNS name, or the responder's IP address."),
                       key_authorization_hash: str = typer.Argument(
                           ..., help="SHA-256 of the key authorization, 64 hex digits (the request's "
                                     "key_authorization_hash)."),
                       stack: Optional[str] = StackOpt) -> None:
    """acme-tls-alpn-01: answer acme-tls/1 handshakes for IDENTIFIER with an RFC 8737 certificate."""
    address = _run(challenges.set_tls_alpn, stack, identifier, key_authorization_hash)
    typer.echo(f"{identifier}: acme-tls/1 challenge certificate served on {address}:443")


@challenge_app.command("zone")
def challenge_zone(file: str, origin: Optional[str] = typer.Option(None, help="Origin if the file has no $ORIGIN."),
                   break_dnssec: bool = typer.Option(False, "--break-dnssec",
                                                     help="Publish a DS matching no key: resolvers refuse the zone."),
                   insecure: bool = typer.Option(False, "--insecure",
                                                 help="Delegate without DS: the zone has no chain of trust."),
                   unreachable: bool = typer.Option(False, "--unreachable",
                                                    help="Point its name servers at an address no query reaches."),
                   stack: Optional[str] = StackOpt) -> None:
    """Load a zone file (any origin), signed and delegated from the fake root. @INTERNET_IP@ is substituted."""
    loaded = _run(challenges.load_zone, stack, file, origin, break_dnssec=break_dnssec, insecure=insecure,
                  unreachable=unreachable)
    chain = ("a DS that matches no key: DNSSEC-bogus" if break_dnssec else
             "delegated without DS: no chain of trust" if insecure else "delegated with DS")
    reach = "; its name servers unreachable" if unreachable else ""
    typer.echo(f"zone {loaded} loaded from {file} (signed, {chain}{reach})")


@challenge_app.command("clear")
def challenge_clear(name: Optional[str] = typer.Argument(
                        None, help="Only what was set for NAME (and below it), or for an IP address."),
                    stack: Optional[str] = StackOpt) -> None:
    """Remove the records, HTTP files, TLS-ALPN certificates and zones set with `mpic challenge`."""
    c = _run(challenges.clear, stack, name)
    typer.echo(f"cleared {c['records']} records, {c['http']} http files, {c['tls_alpn']} tls-alpn certificates, "
               f"{c['zones']} zones")
