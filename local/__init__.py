"""The local fleet: a real Open MPIC deployment in network namespaces on one machine.

It carries out the topology planned by :mod:`plan.local` with real processes (see
``docs/local-fleet.md``), grouped by what the modules are:

- :mod:`local.engine` — ``up`` / ``down`` / ``status`` (:mod:`~local.engine.lifecycle`, the gate
  first), the state file, processes, namespaces, the installed runtime, users and private folders;
- :mod:`local.internet` — the mini-internet: Knot (root, TLDs, test zones, DNSSEC), zone files, nginx;
- :mod:`local.roles` — what the fleet runs: perspective regions, coordinator sites, HAProxy,
  the canary, the standby site's name, the audit files;
- :mod:`local.actions` — the operator's actions on a running fleet: ``mpic challenge``,
  ``mpic fault``, and the HTTP clients (curl in a namespace, the coordinator's API with its retry policy);
- :mod:`local.daemons` — the programs the fleet starts as processes of their own (``python -m
  local.daemons.X``): the TLS-ALPN-01 responder, the WAN-delay relay, the failover health checker;
- :mod:`local.pki` — the kit CA and every certificate the fleet issues (same policy as the
  Pulumi component); :mod:`local.errors` — the fleet's errors and the root check.
"""
