"""Local input files -> ``Inputs`` in the local CRS (vectors, points, networks, rasters, datums)."""
