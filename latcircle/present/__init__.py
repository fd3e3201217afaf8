"""HTML and PNG only: style, figures, the web map, the city report and the national dashboard."""
