// Draws the poles and events listed beside the map; the list stays the accessible version.
(function () {
  "use strict";
  // Leaflet's controls in the page's words, read from data- attributes (no inline script).
  function localise(map, el) {
    L.control.zoom({ zoomInTitle: el.dataset.zoomIn, zoomOutTitle: el.dataset.zoomOut }).addTo(map);
    var link = document.createElement("a");
    link.href = "https://leafletjs.com";
    link.textContent = "Leaflet";
    link.title = el.dataset.prefix || "";
    map.attributionControl.setPrefix(link.outerHTML);
    map.on("popupopen", function (e) {
      var close = e.popup.getElement() && e.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close && el.dataset.close) {
        close.setAttribute("aria-label", el.dataset.close);
        close.title = el.dataset.close;
      }
    });
  }
  // The small map of one place (a pole's shared place, an event's place): its address is
  // written beside it, so the map only adds a picture.
  Array.prototype.forEach.call(document.querySelectorAll(".place-map"), function (small) {
    var lat = parseFloat(small.dataset.lat), lon = parseFloat(small.dataset.lon);
    if (typeof L === "undefined" || !isFinite(lat) || !isFinite(lon) || !small.dataset.tiles) return;
    var m = L.map(small, { scrollWheelZoom: false, zoomControl: false }).setView([lat, lon], 14);
    localise(m, small);
    L.tileLayer(small.dataset.tiles, { attribution: small.dataset.attribution, maxZoom: 18 }).addTo(m);
    L.circleMarker([lat, lon], { radius: 8, color: "#1d4f91", weight: 2, fillOpacity: 0.6 }).addTo(m);
  });
  var el = document.getElementById("map");
  var dataEl = document.getElementById("map-data");
  if (!el || !dataEl || typeof L === "undefined") return;
  var points = [];
  try { points = JSON.parse(dataEl.textContent || "[]"); } catch (e) { points = []; }
  var map = L.map(el, { scrollWheelZoom: false, zoomControl: false }).setView([46.6, 2.4], 5);
  localise(map, el);
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
