"""A tenant's configuration: its policies and price overrides, read together, versioned as one."""
