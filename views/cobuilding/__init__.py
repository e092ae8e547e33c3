"""Pages of the cobuilding context (templates in templates/)."""
