"""The mini-internet the perspectives validate against: Knot and the regions' Unbound
(:mod:`local.internet.dns`), zone files and DNSSEC chains (:mod:`~local.internet.zones`), and the
challenge hosts' nginx (:mod:`~local.internet.web`)."""
