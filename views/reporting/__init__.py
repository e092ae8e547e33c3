"""Pages of the reporting context (templates in templates/)."""
