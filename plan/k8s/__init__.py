"""The k8s target's planners: :mod:`plan.k8s.fleet` (clusters, names, labels, each workload's
objects), :mod:`plan.k8s.objects` (one function per Kubernetes object), :mod:`plan.k8s.audit` (the
audit shipper beside every runtime container) and :mod:`plan.k8s.canary` (the canary CronJob and its
alerts). Pure: plain manifests, no Pulumi, no I/O."""
