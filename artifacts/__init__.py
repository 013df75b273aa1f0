"""The built runtime on this machine: ``dist/`` read and checked against the sources
(:mod:`artifacts.dist`), and built (:mod:`artifacts.builder`, ``mpic build``). What the artifacts
are called and which a target needs is pure and lives in :mod:`plan.artifacts`."""
