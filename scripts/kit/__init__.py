"""Small building blocks shared by the kit's scripts (the local fleet, the CLI)."""
