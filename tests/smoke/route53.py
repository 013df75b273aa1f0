"""Challenges for deployed stacks: records written to a Route53 test zone with boto3.

The smoke suite uses :class:`Route53Challenges` where the local fleet uses Knot
(:mod:`local.actions.challenges`); both expose ``set_txt``, ``set_cname``, ``set_caa``, ``set_persistent``,
``set_contact``, ``set_address``, ``unset`` and ``clear``, with record names and values from
:mod:`plan.challenges`. Tested against moto.
"""

from __future__ import annotations

from typing import Any

from plan import challenges as method


class Route53Challenges:
    """Write DCV/CAA challenge records into one hosted zone (UPSERT, TTL 1)."""

    def __init__(self, zone_id: str, zone_name: str, client: Any | None = None, ttl: int = 1):
        if client is None:
            import boto3
            client = boto3.client("route53")
        self.client = client
        self.zone_id = zone_id.split("/")[-1]
        self.zone_name = zone_name.rstrip(".").lower() + "."
        self.ttl = ttl
        self.written: list[tuple[str, str]] = []

    @classmethod
    def for_domain(cls, domain: str, client: Any | None = None) -> "Route53Challenges":
        """Find the hosted zone of ``domain`` (the closest enclosing public zone)."""
        if client is None:
            import boto3
            client = boto3.client("route53")
        want = domain.rstrip(".").lower() + "."
        best = None
        for page in client.get_paginator("list_hosted_zones").paginate():
            for z in page["HostedZones"]:
                name = z["Name"].lower()
                if (want == name or want.endswith("." + name)) and (best is None or len(name) > len(best["Name"])):
                    best = z
        if best is None:
            raise LookupError(f"no Route53 hosted zone holds {domain}; create one or set the stack's test domain")
        return cls(best["Id"], best["Name"], client)

    def _fqdn(self, name: str) -> str:
        fqdn = name.rstrip(".").lower() + "."
        if not (fqdn == self.zone_name or fqdn.endswith("." + self.zone_name)):
            raise ValueError(f"{name}: not in the Route53 zone {self.zone_name}")
        return fqdn

    def _change(self, action: str, name: str, rtype: str, values: list[str]) -> None:
        fqdn = self._fqdn(name)
        self.client.change_resource_record_sets(
            HostedZoneId=self.zone_id,
            ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": {
                "Name": fqdn, "Type": rtype, "TTL": self.ttl,
                "ResourceRecords": [{"Value": v} for v in values]}}]})
        if action == "UPSERT" and (fqdn, rtype) not in self.written:
            self.written.append((fqdn, rtype))

    def _current(self, fqdn: str, rtype: str) -> list[str]:
        resp = self.client.list_resource_record_sets(HostedZoneId=self.zone_id, StartRecordName=fqdn,
                                                     StartRecordType=rtype, MaxItems="1")
        for rrset in resp["ResourceRecordSets"]:
            if rrset["Name"].lower() == fqdn and rrset["Type"] == rtype:
                return [r["Value"] for r in rrset.get("ResourceRecords", [])]
        return []

    def _add(self, rec: method.Record, *, replace: bool = False) -> method.Record:
        """Add ``rec`` to its name's record set (or replace the set)."""
        fqdn = self._fqdn(rec.name)
        current = [] if replace else [v for v in self._current(fqdn, rec.type) if v != rec.data]
        self._change("UPSERT", fqdn, rec.type, current + [rec.data])
        return rec

    def set_txt(self, name: str, value: str) -> None:
        self._add(method.Record(name, "TXT", method.txt_rdata(value)))

    def set_cname(self, name: str, target: str) -> None:
        self._add(method.Record(name, "CNAME", method.absolute(target)), replace=True)

    def set_caa(self, name: str, value: str) -> None:
        self._add(method.Record(name, "CAA", method.caa_rdata(value)))

    def set_persistent(self, domain: str, issuer: str, account_uri: str,
                       persist_until: int | None = None) -> method.Record:
        return self._add(method.persistent(domain, issuer, account_uri, persist_until))

    def set_contact(self, domain: str, kind: str, value: str, via: str) -> method.Record:
        return self._add(method.contact(domain, kind, value, via))

    def set_address(self, domain: str, ip: str) -> method.Record:
        return self._add(method.address(domain, ip), replace=True)

    def unset(self, name: str, rtype: str) -> None:
        fqdn = self._fqdn(name)
        values = self._current(fqdn, rtype)
        if values:
            self._change("DELETE", fqdn, rtype, values)
        self.written = [w for w in self.written if w != (fqdn, rtype)]

    def clear(self) -> int:
        n = 0
        for fqdn, rtype in list(self.written):
            self.unset(fqdn, rtype)
            n += 1
        return n
