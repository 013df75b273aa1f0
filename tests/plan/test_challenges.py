"""plan.challenges: the record each method looks for (names and values the core reads)."""

from __future__ import annotations

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from hypothesis import given, strategies as st

from plan import challenges as m


def _parse(rtype: str, data: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), data)


def test_persistent_record_is_what_the_core_parses():
    rec = m.persistent("Example.ORG", "CA.example", "https://ca.example/acct/1", 1900000000)
    assert rec.name == "_validation-persist.example.org." and rec.type == "TXT"
    txt = b"".join(_parse("TXT", rec.data).strings).decode()
    assert txt == "ca.example; accounturi=https://ca.example/acct/1; persistUntil=1900000000"


@pytest.mark.parametrize("issuer,uri,fix", [
    ("", "https://ca.example/a", "issuer"), ("ca.example; x", "https://ca.example/a", "issuer"),
    ("ca.example", "not a uri", "account URI"), ("ca.example", "https://a;b", "account URI"),
])
def test_persistent_refuses_values_no_record_could_carry(issuer, uri, fix):
    with pytest.raises(m.ChallengeValueError, match=fix):
        m.persistent("example.org", issuer, uri)


@pytest.mark.parametrize("kind,via,name,rtype", [
    ("email", "txt", "_validation-contactemail.example.org.", "TXT"),
    ("phone", "txt", "_validation-contactphone.example.org.", "TXT"),
    ("email", "caa", "example.org.", "CAA"),
    ("phone", "caa", "example.org.", "CAA"),
])
def test_contact_records(kind, via, name, rtype):
    rec = m.contact("example.org", kind, "admin@example.org", via)
    assert (rec.name, rec.type) == (name, rtype)
    rdata = _parse(rtype, rec.data)
    if rtype == "CAA":
        assert rdata.tag.decode() == f"contact{kind}" and rdata.value == b"admin@example.org"
    else:
        assert rdata.strings == (b"admin@example.org",)


@pytest.mark.parametrize("args,fix", [
    (("fax", "1", "txt"), "email or phone"), (("email", "", "txt"), "address or number"),
    (("email", 'a"b', "txt"), "without quotes"), (("email", "a@b", "mx"), "txt or caa"),
])
def test_contact_refuses(args, fix):
    with pytest.raises(m.ChallengeValueError, match=fix):
        m.contact("example.org", *args)


def test_address_and_reverse():
    assert m.address("a.example", "192.0.2.1") == m.Record("a.example.", "A", "192.0.2.1")
    assert m.address("a.example", "2001:DB8::1").type == "AAAA"
    assert m.address("a.example", "2001:DB8::1").data == "2001:db8::1"
    zone, ptr = m.reverse("45.1.2.3", "Host.Example")
    assert zone == "in-addr.arpa." and ptr == m.Record("3.2.1.45.in-addr.arpa.", "PTR", "host.example.")
    zone6, ptr6 = m.reverse("2a05::1", "h.example")
    assert zone6 == "ip6.arpa." and ptr6.name.endswith(".5.0.a.2.ip6.arpa.") and ptr6.name.startswith("1.0.0.0.")
    for bad in ("999.1.1.1", "host"):
        with pytest.raises(m.ChallengeValueError, match="not an IPv4 or IPv6 address"):
            m.address("a.example", bad)
        with pytest.raises(m.ChallengeValueError, match="not an IPv4 or IPv6 address"):
            m.reverse(bad, "h.example")


def test_caa_rdata():
    assert m.caa_rdata('  0   issuemail  "ca.example" ') == '0 issuemail "ca.example"'
    for bad in ("issue ca.example", '256 issue "x"', "0 issue x"):
        with pytest.raises(m.ChallengeValueError, match="FLAGS TAG"):
            m.caa_rdata(bad)


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=0, max_size=700))
def test_txt_rdata_round_trips(value):
    """What the core reads back (the strings joined) is the value, however long or quoted."""
    assert b"".join(_parse("TXT", m.txt_rdata(value)).strings).decode() == value
