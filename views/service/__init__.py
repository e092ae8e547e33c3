"""Pages of the service context (templates in templates/)."""
