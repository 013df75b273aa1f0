"""Stack files (``Pulumi.<stack>.yaml``) and the per-target stack programs.

:mod:`stacks.program` is the Pulumi program (``__main__.py`` at the project root runs it);
:mod:`stacks.aws` and :mod:`stacks.k8s` create each target's fleet from the planners' plans.
"""
