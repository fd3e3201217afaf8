"""The workbench's fixed JavaScript (one function, called once by the page).

It reads the page's data document (``#lc-data``), never data spliced into code. Every text it
shows is set with ``textContent`` or built as DOM nodes, tooltips included. Shares are the
covered weight over the total weight, as :func:`latcircle.analysis.coverage.share_of`;
percentages are printed as :func:`latcircle.present.style.percent` prints them (Python's
rounding of exact ties to even included).
"""

from __future__ import annotations

__all__ = ["WORKBENCH_JS"]

WORKBENCH_JS = r"""<script>
function lcText(escaped) {
  // Text escaped for HTML (latcircle.present.style.escape_text) back to plain text, for a
  // title attribute: a textarea's content is text, never markup.
  var t = document.createElement("textarea");
  t.innerHTML = escaped;
  return t.value;
}
function lcWorkbench(map, L_) {
  var lcd = JSON.parse(document.getElementById("lc-data").textContent);
  var W = lcd.words;
  var state = {year: lcd.start, on: lcd.builds.map(function () { return false; }), shape: -1};
  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(values, k) ? String(values[k]) : m;
    });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function pct(v, digits) {
    if (v === null || v === undefined || isNaN(v)) { return W.no_data; }
    var x = v * 100, s = x.toFixed(digits);
    // Python rounds exact ties to even, toFixed rounds them up. An exact tie at one decimal
    // is a multiple of 0.25 that is not one of 0.5 (at no decimal: of 0.5, not of 1).
    var t = digits === 0 ? x * 2 : x * 4, h = digits === 0 ? x : x * 2;
    if (digits <= 1 && Number.isInteger(t) && !Number.isInteger(h)) {
      var f = Math.pow(10, digits), down = Math.floor(x * f);
      s = ((down % 2 === 0 ? down : down + 1) / f).toFixed(digits);
    }
    return s + "%";
  }
  function num(v) {
    return Number(v.toFixed(1)).toLocaleString("en-US", {maximumFractionDigits: 1});
  }
  function basisLabel(b) { return W[b === "key_sites" ? "key_sites_basis" : b]; }
  function ringName(i) {
    var t = lcd.rings[i].threshold;
    if (i === 0) { return fmt(W.ring, {upper: t}); }
    return fmt(W.ring_between, {lower: lcd.rings[i - 1].threshold, upper: t});
  }
  function current() {
    var Y = lcd.years[state.year], out = {};
    lcd.bases.forEach(function (b) {
      var cov = Y.covered[b].slice(), cnt = Y.count[b].slice(), n = cov.length - 1;
      (Y.groups[b] || []).forEach(function (g) {
        for (var k = 0; k < g[2].length; k++) {
          if (state.on[g[2][k]]) {
            cov[n] += g[0]; cnt[n] += g[3];
            if (g[1] >= 0) { cov[g[1]] += g[0]; cnt[g[1]] += g[3]; }
            break;
          }
        }
      });
      out[b] = {
        covered: cov, count: cnt, total: Y.total[b], countTotal: Y.countTotal[b],
        share: cov.map(function (c, i) { return Y.total[b][i] > 0 ? c / Y.total[b][i] : NaN; })
      };
    });
    return out;
  }
  function shareColour(v) {
    if (v === null || isNaN(v)) { return lcd.noShare; }
    for (var i = 0; i < lcd.shareClasses.length; i++) {
      if (v < lcd.shareClasses[i][0]) { return lcd.shareClasses[i][1]; }
    }
    return lcd.shareClasses[lcd.shareClasses.length - 1][1];
  }
  // --- the year's rings and causes ------------------------------------------------------
  function drawShapes() {
    var index = lcd.years[state.year].shape;
    if (index === state.shape) { return; }
    state.shape = index;
    var sh = lcd.shapes[index];
    L_.rings.forEach(function (group, i) {
      if (!group) { return; }
      group.clearLayers();
      var r = sh.rings[i];
      if (r.geo === null) { return; }
      var c = lcd.rings[i].colour;
      var layer = L.geoJSON(lcd.geos[r.geo], {style: {fillColor: c, color: c, weight: 0.4,
        fillOpacity: lcd.ringOpacity}});
      layer.bindTooltip(el("span", null, ringName(i) + " · " + num(r.area) + " " + W.km2));
      group.addLayer(layer);
    });
    if (L_.causes) {
      L_.causes.clearLayers();
      lcd.causes.forEach(function (c, i) {
        var r = sh.causes[i];
        if (r.geo === null) { return; }
        var layer = L.geoJSON(lcd.geos[r.geo], {style: {fillColor: c.colour, color: c.colour,
          weight: 0.6, fillOpacity: lcd.causeOpacity}});
        layer.bindTooltip(el("span", null, W[c.cause] + " · " + num(r.area) + " " + W.km2));
        L_.causes.addLayer(layer);
      });
    }
    document.querySelectorAll(".lc-cause-area").forEach(function (span) {
      var i = Number(span.getAttribute("data-index"));
      span.textContent = num(sh.causes[i].area) + " " + W.km2;
    });
  }
  // --- headline, districts, labels --------------------------------------------------------
  var title = document.querySelector(".lc-title-box");
  function headline(now) {
    if (!title) { return; }
    title.textContent = "";
    var Y = lcd.years[state.year];
    title.appendChild(el("h1", "lc-h", lcd.city));
    var when = Y.key === "all" ? W.scenario_all : fmt(W.scenario_year, {year: Y.label});
    title.appendChild(el("div", null, fmt(W.circle, {budget: lcd.budget}) + " · " + when));
    var line = el("div", "lc-shares", fmt(W.headline, {budget: lcd.budget}) + ": ");
    lcd.bases.forEach(function (b, k) {
      var v = now[b].share[now[b].share.length - 1];
      if (isNaN(v)) { return; }
      if (k) { line.appendChild(document.createTextNode(" · ")); }
      line.appendChild(document.createTextNode(basisLabel(b) + " "));
      var s = el("span", "lc-share", pct(v, 1));
      s.setAttribute("data-basis", b);
      line.appendChild(s);
    });
    title.appendChild(line);
    if (now.key_sites) {
      var k = now.key_sites, n = k.covered.length - 1;
      title.appendChild(el("div", "lc-count", W.key_weight + " " + num(k.covered[n]) + " "
        + W.of + " " + num(k.total[n]) + " · " + k.count[n] + " " + W.of + " "
        + k.countTotal[n] + " " + W.markers));
    }
    var added = state.on.filter(Boolean).length;
    if (added) { title.appendChild(el("div", "lc-added", fmt(W.whatif_added, {n: added}))); }
    if (lcd.warnings.length) {
      var box = el("div", "lc-warning lc-box");
      lcd.warnings.forEach(function (w, i) {
        if (i) { box.appendChild(document.createElement("br")); }
        box.appendChild(document.createTextNode(w));
      });
      title.appendChild(box);
    }
  }
  function districtTip(i, now) {
    var div = el("div");
    div.appendChild(el("b", null, lcd.districts[i]));
    div.appendChild(el("div", null, fmt(W.headline, {budget: lcd.budget}) + ":"));
    lcd.bases.forEach(function (b) {
      div.appendChild(el("div", null, basisLabel(b) + ": " + pct(now[b].share[i], 1)));
    });
    return div;
  }
  var labels = [];
  if (L_.labels) {
    (lcd.labelPoints || []).forEach(function (p, i) {
      var text = el("div");
      var icon = L.divIcon({className: "lc-label", html: text, iconSize: [0, 0]});
      L.marker(p, {icon: icon, interactive: false, keyboard: false, zIndexOffset: 3000})
        .addTo(L_.labels);
      labels[i] = text;
    });
  }
  function districts(now) {
    var b = lcd.districtBasis;
    L_.districts.forEach(function (layer, k) {
      layer.eachLayer(function (f) {
        var i = f.feature.properties.i;
        if (i < 0) { return; }  // a district the run does not know (not in its inputs)
        if (k === 0 && b) { f.setStyle({fillColor: shareColour(now[b].share[i])}); }
        if (f.getTooltip()) { f.setTooltipContent(districtTip(i, now)); }
        else { f.bindTooltip(districtTip(i, now), {sticky: true}); }
      });
    });
    labels.forEach(function (text, i) {
      text.textContent = lcd.districts[i] + " · " + (b ? pct(now[b].share[i], 0) : W.no_data);
    });
  }
  function sites() {
    var Y = lcd.years[state.year];
    if (!L_.sites) { return; }
    L_.sites.eachLayer(function (m) {
      var on = Y.key === "all" || m.lcYear === null || m.lcYear <= Number(Y.key);
      m.setOpacity(on ? 1 : 0.2);
    });
  }
  function update() {
    drawShapes();
    var now = current();
    headline(now);
    districts(now);
    sites();
    var Y = lcd.years[state.year];
    if (yearText) {
      yearText.textContent = fmt(W.year_label, {}) + ": " + Y.label;
      yearInput.setAttribute("aria-valuetext", Y.label);
      online.textContent = fmt(W.sites_online, {n: Y.online});
    }
    gains(Y);
    window.lcWorkbenchState = {year: Y.key, on: state.on.slice(), now: now};
  }
  function gains(Y) {
    // Each build alone, in the year shown: the weight of the groups it covers.
    var b = lcd.gainBasis, add = lcd.builds.map(function () { return 0; });
    (Y.groups[b] || []).forEach(function (g) {
      g[2].forEach(function (j) { add[j] += g[0]; });
    });
    document.querySelectorAll(".lc-gain").forEach(function (e) {
      var j = Number(e.getAttribute("data-build"));
      var what = b === "key_sites" ? W.key_weight : basisLabel(b);
      var when = Y.key === "all" ? W.when_all : fmt(W.when_year, {year: Y.label});
      e.textContent = fmt(W.whatif_gain, {gain: num(add[j]), basis: what, when: when});
    });
  }
  // --- the panel: year slider and what-if builds -------------------------------------------
  var yearText = null, yearInput = null, online = null;
  function fold(button, body, showText, hideText, open) {
    function set(v) {
      body.hidden = !v;
      button.setAttribute("aria-expanded", v ? "true" : "false");
      button.textContent = (v ? "▾ " : "▸ ") + (v ? hideText : showText);
    }
    button.addEventListener("click", function () { set(body.hidden); });
    set(open);
  }
  var small = window.innerHeight < 820;
  var panel = L.control({position: "topleft"});
  panel.onAdd = function () {
    var div = L.DomUtil.create("div", "lc-box lc-panel");
    var button = el("button", "lc-fold");
    button.type = "button";
    button.setAttribute("aria-controls", "lc-panel-body");
    var body = el("div", "lc-panel-body");
    body.id = "lc-panel-body";
    if (lcd.years.length > 1) {
      var wrap = el("div", "lc-years");
      yearText = el("label", null, "");
      yearText.setAttribute("for", "lc-year");
      yearInput = el("input");
      yearInput.id = "lc-year"; yearInput.type = "range"; yearInput.min = 0;
      yearInput.max = lcd.years.length - 1; yearInput.step = 1; yearInput.value = state.year;
      yearInput.addEventListener("input", function () {
        state.year = Number(yearInput.value);
        update();
      });
      online = el("div", "lc-online");
      wrap.appendChild(yearText); wrap.appendChild(yearInput); wrap.appendChild(online);
      wrap.appendChild(el("div", "lc-note", fmt(W.year_note, {run: lcd.runLabel})));
      body.appendChild(wrap);
    }
    var fs = el("fieldset", "lc-whatif");
    fs.appendChild(el("legend", null, W.whatif));
    if (!lcd.builds.length) {
      fs.appendChild(el("div", "lc-note", fmt(W.whatif_none, {year: lcd.firstYear})));
    }
    lcd.builds.forEach(function (bd, j) {
      var row = el("div", "lc-build");
      var box = el("input");
      box.type = "checkbox"; box.id = "lc-build-" + j; box.setAttribute("data-build", bd.id);
      box.addEventListener("change", function () { state.on[j] = box.checked; update(); });
      var label = el("label", null, (bd.source === "plan" ? "[" + W.whatif_plan + "] " : "")
        + bd.name + " (" + bd.id + ")");
      label.setAttribute("for", box.id);
      row.appendChild(box); row.appendChild(label);
      row.appendChild(el("div", "lc-note", "--add-site " + bd.lon + "," + bd.lat));
      var gain = el("div", "lc-note lc-gain");
      gain.setAttribute("data-build", String(j));
      row.appendChild(gain);
      fs.appendChild(row);
    });
    fs.appendChild(el("div", "lc-note", W.whatif_note));
    body.appendChild(fs);
    div.appendChild(button); div.appendChild(body);
    fold(button, body, W.panel_show, W.panel_hide, !small);
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  panel.addTo(map);
  // --- the legend: folds away, shows the sections of the visible layers ---------------------
  var legend = document.querySelector(".lc-legend");
  if (legend) {
    var lb = legend.querySelector(".lc-fold"), body = legend.querySelector(".lc-legend-body");
    if (lb && body) { fold(lb, body, W.legend_show, W.legend_hide, !small); }
  }
  function sections() {
    Object.keys(L_.legend).forEach(function (key) {
      var on = L_.legend[key].some(function (layer) { return layer && map.hasLayer(layer); });
      document.querySelectorAll('.lc-sec[data-sec="' + key + '"]').forEach(function (s) {
        s.hidden = !on;
      });
    });
  }
  map.on("overlayadd overlayremove", sections);
  // --- fit: the panel and the legend scroll inside the room their corner leaves ------------
  function fit() {
    var corner = map.getContainer();
    var bottomLeft = corner.querySelector(".leaflet-bottom.leaflet-left");
    var topRight = corner.querySelector(".leaflet-top.leaflet-right");
    var box = corner.getBoundingClientRect();
    var pb = document.getElementById("lc-panel-body");
    if (pb && !pb.hidden) {
      var floor = box.bottom;
      Array.prototype.forEach.call(bottomLeft ? bottomLeft.children : [], function (c) {
        floor = Math.min(floor, c.getBoundingClientRect().top);
      });
      pb.style.maxHeight = Math.max(60, floor - pb.getBoundingClientRect().top - 14) + "px";
    }
    var lb = document.getElementById("lc-legend-body");
    if (lb && !lb.hidden && legend) {
      var roof = topRight ? topRight.getBoundingClientRect().bottom : box.top;
      var room = legend.getBoundingClientRect().bottom - roof - 14
        - (lb.getBoundingClientRect().top - legend.getBoundingClientRect().top) - 8;
      lb.style.maxHeight = Math.max(60, room) + "px";
    }
  }
  document.querySelectorAll(".lc-fold").forEach(function (b) { b.addEventListener("click", fit); });
  window.addEventListener("resize", fit);
  if (window.ResizeObserver) {
    // The bottom-left corner grows when the headline or the tile notice does; fit() sizes
    // only the other corners' boxes, so no observed size changes in the callback.
    var watch = new ResizeObserver(function () { window.requestAnimationFrame(fit); });
    var corner = map.getContainer().querySelector(".leaflet-bottom.leaflet-left");
    if (corner) { watch.observe(corner); }
  }
  sections();
  update();
  fit();
}
</script>"""
