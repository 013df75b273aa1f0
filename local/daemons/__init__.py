"""Programs the local fleet starts as processes of their own (``python -m local.daemons.X``), apart
from the library: the TLS-ALPN-01 responder (:mod:`local.daemons.alpn`), the user-space WAN-delay
relay (:mod:`~local.daemons.relay`) and the failover health checker (:mod:`~local.daemons.healthcheck`)."""
