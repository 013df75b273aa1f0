"""Entry point of the Pulumi project (``main: .`` in Pulumi.yaml): runs :func:`stacks.program.main`.

Layers (imports point one way): config (model + BR 3.2.2.9 rules) <- plan (pure planners) <-
components (Pulumi ComponentResources) <- stacks (the programs). See docs/architecture.md.
"""

from stacks.program import main

main()
