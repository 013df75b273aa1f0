"""The operator's actions on a running local fleet: ``mpic challenge`` (:mod:`local.actions.challenges`),
``mpic fault`` (:mod:`~local.actions.faults`), and the HTTP clients every command and test uses
(:mod:`~local.actions.client`: curl in a namespace, the coordinator's API with the retry policy)."""
