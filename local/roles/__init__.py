"""What the local fleet runs, role by role: perspective regions (:mod:`local.roles.region`),
coordinator sites (:mod:`~local.roles.coordinator`), HAProxy (:mod:`~local.roles.lb`), the canary
(:mod:`~local.roles.canary`), the standby site's name (:mod:`~local.roles.failover`) and the
persistent audit files (:mod:`~local.roles.audit`)."""
