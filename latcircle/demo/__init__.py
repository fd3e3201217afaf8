"""The synthetic demo metro generator."""
