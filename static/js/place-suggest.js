// Suggests communes while typing in the directory's commune field, from /api/v1/communes.
// Without JavaScript the field still takes a name, a postal code or an INSEE code: the
// server resolves it. Each suggestion is `Name (code)`, which the server reads as the code.
(function () {
  "use strict";
  var input = document.getElementById("f-commune");
  if (!input || !window.fetch) return;
  var list = document.createElement("datalist");
  list.id = "f-commune-suggestions";
  input.parentNode.appendChild(list);
  input.setAttribute("list", list.id);
  input.setAttribute("autocomplete", "off");
  var timer = null;
  var asked = "";
  function fill(communes) {
    while (list.firstChild) list.removeChild(list.firstChild);
    communes.forEach(function (c) {
      var option = document.createElement("option");
      option.value = c.name + " (" + c.code + ")";
      option.label = (c.postal_codes || []).join(", ") + " · " + (c.departement_name || "");
      list.appendChild(option);
    });
  }
  input.addEventListener("input", function () {
    var q = input.value.trim();
    if (timer) clearTimeout(timer);
    // A chosen suggestion, or too short a query, asks nothing.
    if (q.length < 2 || /\(\w{5}\)$/.test(q) || q === asked) return;
    timer = setTimeout(function () {
      asked = q;
      fetch("/api/v1/communes?limit=10&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (communes) { if (input.value.trim() === q) fill(communes); })
        .catch(function () {});
    }, 200);
  });
})();
