"""Pages of the people context (templates in templates/)."""
