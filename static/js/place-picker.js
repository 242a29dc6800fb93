// Lets an editor pick a place's coordinates on a map; the latitude and longitude fields
// stay the way to type them without JavaScript.
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
  var el = document.getElementById("place-picker");
  if (!el || typeof L === "undefined") return;
  var lat = document.querySelector("input[name$='.latitude']");
  var lon = document.querySelector("input[name$='.longitude']");
  if (!lat || !lon) return;
  var start = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
  var known = isFinite(start[0]) && isFinite(start[1]);
  var map = L.map(el, { zoomControl: false }).setView(known ? start : [46.6, 2.4], known ? 13 : 5);
  localise(map, el);
  L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution, maxZoom: 18 }).addTo(map);
  var marker = known ? L.circleMarker(start, { radius: 8 }).addTo(map) : null;
  map.on("click", function (e) {
    lat.value = e.latlng.lat.toFixed(6);
    lon.value = e.latlng.lng.toFixed(6);
    if (marker) marker.setLatLng(e.latlng); else marker = L.circleMarker(e.latlng, { radius: 8 }).addTo(map);
  });
})();
