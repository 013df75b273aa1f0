"""Request bodies the runtime must refuse as evidence: every DCV method with its compared value(s)
empty or blank. The service tests send them to one coordinator, the smoke suite to a running fleet."""

from __future__ import annotations

LONG = "r4nd0m-v4lue-0123456789abcdef"
"""A value long enough for every method (29 characters)."""

EMPTY_BODIES = {
    "website-change": {"challenge_value": "  ", "http_token_path": "tok1"},
    "dns-change": {"challenge_value": "", "dns_record_type": "TXT"},
    "acme-http-01": {"token": LONG, "key_authorization": " "},
    "acme-dns-01": {"key_authorization_hash": "\t"},
    "acme-tls-alpn-01": {"key_authorization_hash": ""},
    "dns-persistent": {"issuer_domain_names": [" "], "expected_account_uri": "https://ca.mpic.test/acct/1"},
    "contact-email-txt": {"challenge_value": ""},
    "contact-email-caa": {"challenge_value": " "},
    "contact-phone-txt": {"challenge_value": ""},
    "contact-phone-caa": {"challenge_value": ""},
    "ip-address": {"challenge_value": "", "dns_record_type": "A"},
    "reverse-address-lookup": {"challenge_value": " "},
}
