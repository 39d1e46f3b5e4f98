// Progressive help for the form: show a field only when it is relevant, derive
// birth date and sex from the ID number, and offer an "X" key for the numeric
// keyboard.  Without this script every field shows and the server still decides.
(function () {
  "use strict";
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK = "10X98765432";

  function answers(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || ((el.type === "radio" || el.type === "checkbox") && !el.checked)) return;
      out[el.name] = el.value;
    });
    return out;
  }

  function holds(cond, values) {
    var actual = (values[cond[0]] || "").trim();
    switch (cond[1]) {
      case "==": return actual === cond[2];
      case "!=": return actual !== cond[2];
      case "in": return cond[2].indexOf(actual) >= 0;
      case "length": return actual.replace(/\s+/g, "").length === cond[2];
    }
    return true;
  }

  function relevant(el, values) {
    var all = JSON.parse(el.getAttribute("data-relevant") || "[]");
    var any = JSON.parse(el.getAttribute("data-relevant-any") || "[]");
    return all.every(function (c) { return holds(c, values); }) &&
      (!any.length || any.some(function (c) { return holds(c, values); }));
  }

  function refresh(form) {
    var values = answers(form);
    form.querySelectorAll("[data-relevant],[data-relevant-any]").forEach(function (el) {
      el.hidden = !relevant(el, values);
    });
    deriveFromId(form, (values.id_number || "").replace(/\s+/g, "").toUpperCase());
  }

  function deriveFromId(form, id) {
    var out = form.querySelector("[data-derived=id_number]");
    if (!/^\d{17}[\dX]$/.test(id)) { if (out) out.textContent = "—"; return; }
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += Number(id[i]) * WEIGHTS[i];
    if (CHECK[sum % 11] !== id[17]) { if (out) out.textContent = "校验位不正确"; return; }
    if (out) out.textContent = id.slice(6, 10) + "-" + id.slice(10, 12) + "-" + id.slice(12, 14);
    var sex = Number(id[16]) % 2 ? "male" : "female";
    var radio = form.querySelector('input[name=sex][value="' + sex + '"]');
    if (radio && !form.querySelector("input[name=sex]:checked")) radio.checked = true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.form").forEach(function (form) {
      form.addEventListener("input", function () { refresh(form); });
      form.addEventListener("change", function () { refresh(form); });
      refresh(form);
    });
    document.querySelectorAll("[data-append-x]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var input = document.getElementById(btn.getAttribute("data-append-x"));
        input.value = input.value.replace(/X/gi, "") + "X";
        input.dispatchEvent(new Event("input", { bubbles: true }));
        input.focus();
      });
    });
  });
})();
