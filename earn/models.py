"""Models of the earn app."""
