// Draws the poles and events listed beside the map; the list stays the accessible version.
(function () {
  "use strict";
  var el = document.getElementById("map");
  var dataEl = document.getElementById("map-data");
  if (!el || !dataEl || typeof L === "undefined") return;
  var points = [];
  try { points = JSON.parse(dataEl.textContent || "[]"); } catch (e) { points = []; }
  var map = L.map(el, { scrollWheelZoom: false }).setView([46.6, 2.4], 5);
  L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution, maxZoom: 18 }).addTo(map);
  var bounds = [];
  points.forEach(function (p) {
    if (typeof p.lat !== "number" || typeof p.lon !== "number") return;
    var marker = L.circleMarker([p.lat, p.lon], {
      radius: 8,
      color: p.kind === "event" ? "#8a3b12" : "#1d4f91",
      weight: 2,
      fillOpacity: 0.6
    }).addTo(map);
    var box = document.createElement("div");
    var a = document.createElement("a");
    a.href = p.url;
    a.textContent = p.title;
    box.appendChild(a);
    if (p.facts) {
      var small = document.createElement("p");
      small.textContent = p.facts;
      box.appendChild(small);
    }
    marker.bindPopup(box);
    bounds.push([p.lat, p.lon]);
  });
  if (bounds.length > 0) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 12 });
})();
