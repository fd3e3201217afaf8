"""The four Leaflet plugins of the city map, as folium elements, without ``folium.plugins``.

``folium.plugins`` imports all of its forty plugins, and each compiles its Jinja template at
import; the map uses four. These are folium 0.20's ``Fullscreen``, ``MeasureControl``,
``HeatMap`` and ``FastMarkerCluster`` (MIT licence): the same element names, options and
templates (character for character), so the page is byte-identical to theirs
(tests/test_map_plugins.py renders each beside folium's). Two differences, both of cost only:
the points are taken as the rows of floats :mod:`latcircle.present.map.heat` and
:mod:`latcircle.present.map.points` build (folium re-validates each of some 20,000 rows one
by one), and the scripts skip branca's second template pass when they hold no template
syntax (:class:`~latcircle.present.map.elements.LiteralScripts`).

The templates are folium's: Copyright (C) 2013-, Folium developers, under the MIT licence
(its text is in folium's distribution, ``folium-*.dist-info/licenses/LICENSE.txt``). When
folium is upgraded, tests/test_map_plugins.py fails on any template that changed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Environment as FoliumEnvironment
from folium.template import Template as FoliumTemplate
from jinja2 import pass_eval_context
from jinja2.filters import do_tojson
from jinja2.nodes import EvalContext
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from latcircle.present.map.elements import JsonText, LiteralScripts
from latcircle.present.map.jsontext import row_texts

__all__ = ["FastMarkerCluster", "Fullscreen", "HeatMap", "MeasureControl"]


def _options(**kwargs: Any) -> dict[str, Any]:
    """Return the options without ``None`` values (folium's ``remove_empty``)."""
    return {key: value for key, value in kwargs.items() if value is not None}


def _rows(data: list[list[Any]]) -> list[list[Any]]:
    """``[lat, lon, ...]`` rows with float coordinates; a NaN or short row is an error."""
    rows = [[float(row[0]), float(row[1]), *row[2:]] for row in data]
    if any(math.isnan(row[0]) or math.isnan(row[1]) for row in rows):
        msg = "location values cannot contain NaNs"
        raise ValueError(msg)
    return rows


def _heat_rows(
    data: list[list[Any]] | np.ndarray, decimals: int | None
) -> list[list[Any]] | JsonText:
    """:func:`_rows`; an array rounded to ``decimals`` places as its JSON text (one pass).

    The text is what ``tojson`` writes for the rows (:func:`row_texts`, else the rows).
    """
    if not isinstance(data, np.ndarray):
        return _rows(data)
    if data.ndim != 2 or data.shape[1] < 2:
        msg = "heat rows are [lat, lon, ...]"
        raise ValueError(msg)
    if np.isnan(data[:, :2]).any():
        msg = "location values cannot contain NaNs"
        raise ValueError(msg)
    rows = row_texts(data, decimals) if decimals is not None else None
    if rows is None:
        return _rows(data.tolist())
    return JsonText("[" + ", ".join(rows) + "]")


@pass_eval_context
def _tojson(eval_ctx: EvalContext, value: Any, indent: int | None = None) -> Markup:
    """Jinja's ``tojson`` (sorted keys, HTML-safe), a :class:`JsonText` written as its text."""
    if isinstance(value, JsonText):
        return htmlsafe_json_dumps(value, dumps=lambda v, **_: v.text)
    return do_tojson(eval_ctx, value, indent)


class _RowsEnvironment(FoliumEnvironment):
    """folium's template environment, whose ``tojson`` takes rows already written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["tojson"] = _tojson


class _RowsTemplate(FoliumTemplate):
    """A folium template in :class:`_RowsEnvironment`."""

    environment_class = _RowsEnvironment


class Fullscreen(JSCSSMixin, LiteralScripts):
    """A fullscreen button (leaflet.fullscreen; folium's ``plugins.Fullscreen``)."""

    _template = FoliumTemplate(
        """
        {% macro script(this, kwargs) %}
            L.control.fullscreen(
                {{ this.options|tojavascript }}
            ).addTo({{this._parent.get_name()}});
        {% endmacro %}
        """
    )

    def __init__(self, *, position: str = "topleft", **kwargs: Any) -> None:
        super().__init__()
        self._name = "Fullscreen"
        self.options = _options(
            position=position,
            title=kwargs.pop("title", "Full Screen"),
            title_cancel=kwargs.pop("title_cancel", "Exit Full Screen"),
            force_separate_button=kwargs.pop("force_separate_button", False),
            **kwargs,
        )


class MeasureControl(JSCSSMixin, LiteralScripts):
    """A distance and area measuring tool (leaflet-measure; folium's ``MeasureControl``)."""

    _template = FoliumTemplate(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = new L.Control.Measure(
                {{ this.options|tojavascript }});
            {{this._parent.get_name()}}.addControl({{this.get_name()}});

            // Workaround for using this plugin with Leaflet>=1.8.0
            // https://github.com/ljagis/leaflet-measure/issues/171
            L.Control.Measure.include({
                _setCaptureMarkerIcon: function () {
                    // disable autopan
                    this._captureMarker.options.autoPanOnFocus = false;
                    // default function
                    this._captureMarker.setIcon(
                        L.divIcon({
                            iconSize: this._map.getSize().multiplyBy(2)
                        })
                    );
                },
            });

        {% endmacro %}
        """
    )

    def __init__(
        self,
        *,
        position: str = "topright",
        primary_length_unit: str | None = "meters",
        secondary_length_unit: str | None = "miles",
        primary_area_unit: str | None = "sqmeters",
        secondary_area_unit: str | None = "acres",
    ) -> None:
        super().__init__()
        self._name = "MeasureControl"
        self.options = _options(
            position=position,
            primary_length_unit=primary_length_unit,
            secondary_length_unit=secondary_length_unit,
            primary_area_unit=primary_area_unit,
            secondary_area_unit=secondary_area_unit,
        )


class HeatMap(JSCSSMixin, Layer, LiteralScripts):
    """A heat layer of ``[lat, lon, weight]`` rows (Leaflet.heat; folium's ``HeatMap``).

    Rows given as a float array rounded to ``decimals`` places are written from the array
    (:func:`~latcircle.present.map.jsontext.row_texts`): the same text.
    """

    _template = _RowsTemplate(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.heatLayer(
                {{ this.data|tojson }},
                {{ this.options|tojavascript }}
            );
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: list[list[Any]] | np.ndarray,
        *,
        name: str | None = None,
        show: bool = True,
        min_opacity: float = 0.5,
        max_zoom: int = 18,
        radius: int = 25,
        blur: int = 15,
        gradient: dict[float, str] | None = None,
        decimals: int | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "HeatMap"
        self.data = _heat_rows(data, decimals)
        # In folium's order: the page writes the options in this order.
        self.options = _options(
            min_opacity=min_opacity, max_zoom=max_zoom, radius=radius, blur=blur, gradient=gradient
        )


class FastMarkerCluster(JSCSSMixin, Layer, LiteralScripts):
    """Clustered markers drawn in the browser from rows (Leaflet.markercluster; folium's)."""

    _template = FoliumTemplate(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                {{ this.callback }}

                var data = {{ this.data|tojson }};
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                {%- if this.icon_create_function is not none %}
                cluster.options.iconCreateFunction =
                    {{ this.icon_create_function.strip() }};
                {%- endif %}

                for (var i = 0; i < data.length; i++) {
                    var row = data[i];
                    var marker = callback(row);
                    marker.addTo(cluster);
                }

                cluster.addTo({{ this._parent.get_name() }});
                return cluster;
            })();
        {% endmacro %}"""
    )

    def __init__(
        self,
        data: list[list[Any]],
        *,
        callback: str,
        name: str | None = None,
        show: bool = True,
        icon_create_function: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "FastMarkerCluster"
        self.options = _options(**options)
        self.icon_create_function = icon_create_function
        self.data = _rows(data)
        self.callback = f"var callback = {callback};"
