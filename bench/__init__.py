"""The ``mpic bench`` harness: load generation and measurement (:mod:`bench.load`,
:mod:`bench.phases`), the runtime started on loopback (:mod:`bench.runtime`, with the test servers
of :mod:`bench.loopback`: Knot and faulty perspective peers, shared with the runtime tests), the
same phases against a running local fleet (:mod:`bench.fleet`), and the report
(:mod:`bench.report`). The command itself is ``cli/bench.py``."""
