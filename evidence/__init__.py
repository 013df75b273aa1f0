"""The auditor's evidence: the audit records of a fleet collected into one bundle and verified.

``mpic evidence STACK`` gathers every writer's audit lines (:mod:`evidence.sources`: the local
fleet's files, CloudWatch Logs for AWS stacks), the fleet's attestation and a summary into a
``.tar.gz`` with a manifest of SHA-256 digests (:mod:`evidence.bundle`); ``mpic evidence verify``
checks the manifest, every writer's chain and the reconciliation of the coordinators' lines with
the perspectives' own (:mod:`evidence.chain`). Between the runtime's record format
(``service.audit``) and the commands (``cli/``); the BR 5.4.1 mapping: docs/audit.md.
"""
