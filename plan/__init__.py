"""Pure planners over the validated config: no Pulumi, no cloud SDK, no I/O beyond the catalog."""
