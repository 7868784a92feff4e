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

  function start() { wirePeriod(); drawAll(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
