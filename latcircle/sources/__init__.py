"""Public data for a named city, and the assembler that writes its config (``latcircle fetch``)."""
