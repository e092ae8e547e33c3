"""Pages of the kernel context (templates in templates/)."""
