"""The local fleet's engine: ``up`` / ``down`` / ``status`` (:mod:`local.engine.lifecycle`), the
state file (:mod:`~local.engine.state`), processes (:mod:`~local.engine.proc`,
:mod:`~local.engine.supervisor`), namespaces (:mod:`~local.engine.netns`), the installed runtime
(:mod:`~local.engine.runtime`), users and each runtime process's own folder
(:mod:`~local.engine.users`, :mod:`~local.engine.private`)."""
