// Lets an editor pick a place's coordinates on a map; the latitude and longitude fields
// stay the way to type them without JavaScript.
(function () {
  "use strict";
  var el = document.getElementById("place-picker");
  if (!el || typeof L === "undefined") return;
  var lat = document.querySelector("input[name$='.latitude']");
  var lon = document.querySelector("input[name$='.longitude']");
  if (!lat || !lon) return;
  var start = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
  var known = isFinite(start[0]) && isFinite(start[1]);
  var map = L.map(el).setView(known ? start : [46.6, 2.4], known ? 13 : 5);
  L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution, maxZoom: 18 }).addTo(map);
  var marker = known ? L.circleMarker(start, { radius: 8 }).addTo(map) : null;
  map.on("click", function (e) {
    lat.value = e.latlng.lat.toFixed(6);
    lon.value = e.latlng.lng.toFixed(6);
    if (marker) marker.setLatLng(e.latlng); else marker = L.circleMarker(e.latlng, { radius: 8 }).addTo(map);
  });
})();
