"""Everything that writes or reads result files: atomic folders, CSV, GeoPackage, COG, JSON."""
