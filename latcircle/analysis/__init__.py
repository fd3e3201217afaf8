"""Tables from solved scenarios: metro and scenarios, coverage, isochrones, targets, rollups."""
