"""Developer tooling of the Budget Service: template reading, the local stack, the CLI."""
