/* Draw every chart of the page: each <script type="application/json" class="chart-data" data-target="ID">
   holds a plotly figure ({data, layout}) built on the server; it is drawn into the element #ID.
   A static file and no inline script, so a strict Content-Security-Policy works. */
(function () {
  "use strict";
  var CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function draw(holder) {
    var target = document.getElementById(holder.getAttribute("data-target"));
    if (!target || target.getAttribute("data-drawn")) { return; }
    var figure;
    try {
      figure = JSON.parse(holder.textContent);
    } catch (err) {
      target.textContent = "This chart's data could not be read; the table below has the same numbers.";
      target.setAttribute("data-drawn", "failed");
      return;
    }
    if (typeof Plotly === "undefined") {
      target.textContent = "Charts need plotly.js, which did not load; the table below has the same numbers.";
      target.setAttribute("data-drawn", "failed");
      return;
    }
    Plotly.newPlot(target, figure.data || [], figure.layout || {}, CONFIG).then(function () {
      target.setAttribute("data-drawn", "yes");
    });
  }

  function drawAll() {
    var holders = document.querySelectorAll("script.chart-data[type='application/json']");
    for (var i = 0; i < holders.length; i++) { draw(holders[i]); }
  }

  /* The period <select>: "custom" reveals the date fields; the form still works without this script. */
  function wirePeriod() {
    var select = document.querySelector("select[name='period']");
    var custom = document.querySelector(".filter-custom");
    if (!select || !custom) { return; }
    var sync = function () {
      var isCustom = select.value === "custom";
      custom.hidden = !isCustom;
      var inputs = custom.querySelectorAll("input");
      for (var i = 0; i < inputs.length; i++) { inputs[i].disabled = !isCustom; }
    };
    select.addEventListener("change", sync);
    sync();
  }

  /* A service row of the domain page: opening it loads that service's addresses (the table of the
     page its link leads to) in place; without this script the link still leads there. */
  function loadAddresses(details) {
    var link = details.querySelector("a.addresses-link");
    if (!link || details.getAttribute("data-loaded") || !details.open) { return; }
    details.setAttribute("data-loaded", "loading");
    fetch(link.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var table = doc.querySelector("table[data-table='addresses']");
        var wrap = table && table.closest(".table-wrap");
        if (!wrap) { throw new Error("no address table"); }
        details.appendChild(document.importNode(wrap, true));
        details.setAttribute("data-loaded", "yes");
      })
      .catch(function () {
        details.removeAttribute("data-loaded");
        link.textContent = "Its addresses (could not load them here: open this link)";
      });
  }

  function wireAddresses() {
    var rows = document.querySelectorAll("details.addresses[data-addresses]");
    for (var i = 0; i < rows.length; i++) {
      rows[i].addEventListener("toggle", function (event) { loadAddresses(event.currentTarget); });
    }
  }

  function start() { wirePeriod(); wireAddresses(); drawAll(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
