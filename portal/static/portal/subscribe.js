// Subscribe form: a "Max" button and the estimated interest while typing. Only an estimate for reading: the
// preview computes the exact figures on the server (Decimal) before anything is confirmed.
(function () {
  "use strict";
  var form = document.querySelector("form[data-estimate]");
  if (!form) { return; }
  var input = form.querySelector("#id_amount");
  var out = document.getElementById("estimate");
  var max = form.querySelector("[data-max]");
  var tiers = JSON.parse(form.getAttribute("data-tiers") || "[]");
  var basis = Number(form.getAttribute("data-basis") || "365");
  var held = Number(form.getAttribute("data-held") || "0");
  var days = Number(form.getAttribute("data-days") || "0");
  var places = Number(form.getAttribute("data-places") || "2");
  var asset = form.getAttribute("data-asset") || "";

  function yearly(balance) {  // each band of the balance earns its own rate
    var total = 0;
    tiers.forEach(function (t) {
      var lower = Number(t[0]), upper = t[1] === null ? Infinity : Number(t[1]);
      if (balance > lower) { total += (Math.min(balance, upper) - lower) * Number(t[2]); }
    });
    return total;
  }

  function down(value) {  // rounded down, like the server: an estimate never shows more than it will be
    var unit = Math.pow(10, places);
    return (Math.floor(value * unit + 1e-9) / unit).toFixed(places);
  }

  function show() {
    var amount = Number((input.value || "").replace(/,/g, ""));
    if (!out) { return; }
    if (!(amount > 0) || !isFinite(amount)) { out.hidden = true; return; }
    var daily = (yearly(held + amount) - yearly(held)) / basis;
    var text = out.getAttribute("data-daily").replace("{amount}", down(daily)).replace("{asset}", asset);
    if (days > 0) {
      text += " · " + out.getAttribute("data-term").replace("{amount}", down(daily * days))
        .replace("{asset}", asset);
    }
    out.textContent = text;
    out.hidden = false;
  }

  if (max) {
    max.addEventListener("click", function (event) {
      event.preventDefault();
      input.value = max.getAttribute("data-max");
      show();
      input.focus();
    });
  }
  input.addEventListener("input", show);
  show();
}());
