"""``mpic build [wheel|lambda|image-context|all]``: the runtime artifacts every target ships (``dist/``)."""

from __future__ import annotations

import json

import typer

from cli import app
from artifacts.builder import KINDS, BuildError, build
from cli.common import EXIT_FAILED, OPERATOR, fail, fail_input, progress
from config.errors import ConfigError
from artifacts.dist import dist_dir


@app.command("build", rich_help_panel=OPERATOR)
def build_cmd(
    what: str = typer.Argument("all", help="wheel | lambda | image-context | all"),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as one JSON object."),
) -> None:
    """Build the runtime artifacts into dist/ (reproducible; dist/manifest.json lists them with their sha256)."""
    if what not in (*KINDS, "all"):
        fix = f"give one of {', '.join(KINDS)} or all (the default)"
        raise fail_input(ConfigError(f"build {what}: unknown artifact; {fix}.", key="what", value=what, fix=fix),
                         as_json)
    kinds = list(KINDS) if what == "all" else [what]
    try:
        manifest = build(kinds, dist_dir(), say=progress())
    except BuildError as exc:
        raise fail(exc, EXIT_FAILED, as_json) from None
    if as_json:
        typer.echo(json.dumps(manifest.to_json(), indent=1))
        return
    typer.echo(f"source_sha256 {manifest.source_sha256}")
    for a in manifest.artifacts:
        typer.echo(f"  {a.kind:<14} {a.name:<34} {a.platform:<14} {a.sha256[:16]}  {a.path}")
