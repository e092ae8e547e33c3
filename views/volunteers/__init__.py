"""Pages of the volunteers context (templates in templates/)."""
