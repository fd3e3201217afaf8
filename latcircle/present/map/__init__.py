"""The city map's parts (:mod:`latcircle.present.maps` composes them)."""
