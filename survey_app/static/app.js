// The form page: fields shown only when relevant, birth date and sex from the ID number,
// an "X" key for the numeric keyboard; and, where the phone can keep data (field.js),
// every answer kept as a draft while typing, a form that goes to the outbox on 保存, its
// errors listed with links, and how many required answers are still open.  Without this
// script every field shows and the server decides, as before.
// The relevance rules (formRules) are pure and run under node too: tests/js/relevance.test.js.
(function (root) {
  "use strict";
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK = "10X98765432";
  var SKIP = { csrf_token: 1, uuid: 1, token: 1, incomplete: 1 };

  // -- relevance: the vocabulary and the settling of survey_app/formdef/conditions.py, the same way --------
  // Quantities a condition may name instead of a field: calendar months per unit since the
  // birth date in the form's ID number (formdef.QUANTITIES).
  var QUANTITIES = { age: 12, age_months: 1 };
  var COMPARE = {
    ">=": function (a, b) { return a >= b; }, ">": function (a, b) { return a > b; },
    "<": function (a, b) { return a < b; }, "<=": function (a, b) { return a <= b; }
  };

  // As idcard.normalise (textnorm.fold_code): full-width ASCII folded, spaces gone, upper case.
  function foldCode(raw) {
    return String(raw === null || raw === undefined ? "" : raw)
      .replace(/[\uFF01-\uFF5E]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xFEE0); })
      .replace(/[\s\u200B\uFEFF]+/g, "").toUpperCase();
  }

  function checkChar(id) {
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += Number(id[i]) * WEIGHTS[i];
    return CHECK[sum % 11];
  }

  // 15 digits (before 1999) → 18, as idcard.upgrade_legacy: the century 19 and a check character.
  function upgradeLegacy(id15) {
    var body = id15.slice(0, 6) + "19" + id15.slice(6);
    return body + checkChar(body);
  }

  function daysIn(y, m) {
    var leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
  }
  function dayNumber(day) { return day.y * 10000 + day.m * 100 + day.d; }
  function isoDay(day) { return day.y + "-" + ("0" + day.m).slice(-2) + "-" + ("0" + day.d).slice(-2); }

  // As formdef.add_months: the same day so many months later, or that month's last day.
  function addMonths(day, months) {
    var total = day.m - 1 + months;
    var y = day.y + Math.floor(total / 12), m = total - Math.floor(total / 12) * 12 + 1;
    return { y: y, m: m, d: Math.min(day.d, daysIn(y, m)) };
  }

  // Today in China (UTC+8 all year): the date ages are counted to, as idcard.current_date.
  function chinaToday(now) {
    var t = new Date((now === undefined ? Date.now() : now) + 8 * 3600 * 1000);
    return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
  }

  // What a typed number shows before it is saved: the upgraded 18 digits, or why not (null: too short).
  function readId(raw) {
    var id = foldCode(raw);
    var legacy = /^\d{15}$/.test(id);
    if (legacy) id = upgradeLegacy(id);
    if (!/^\d{17}[\dX]$/.test(id)) return null;
    if (checkChar(id) !== id[17]) return { error: "check" };
    return { number: id, legacy: legacy, sex: Number(id[16]) % 2 ? "male" : "female",
             birth: { y: Number(id.slice(6, 10)), m: Number(id.slice(10, 12)), d: Number(id.slice(12, 14)) } };
  }

  // As idcard.birth_date_of: a date that exists, not after today, not before 1890; else null.
  function birthDate(raw, today) {
    var read = readId(raw);
    var b = read && read.birth;
    if (!b || b.m < 1 || b.m > 12 || b.d < 1 || b.d > daysIn(b.y, b.m)) return null;
    if (dayNumber(b) > dayNumber(today) || b.y < 1890) return null;
    return b;
  }

  // facts: { values (answers of the fields asked), birth, today }, as formdef.Facts.
  function holds(cond, facts) {
    var unit = QUANTITIES[cond[0]];
    if (unit) {
      if (!facts.birth) return false;  // an unknown age holds no term
      return COMPARE[cond[1]](dayNumber(facts.today), dayNumber(addMonths(facts.birth, cond[2] * unit)));
    }
    var raw = facts.values[cond[0]];
    var actual = String(raw === null || raw === undefined ? "" : raw).trim();
    switch (cond[1]) {
      case "==": return actual === cond[2];
      case "!=": return actual !== cond[2];
      case "in": return cond[2].indexOf(actual) >= 0;
      case "length": return foldCode(actual).length === cond[2];
    }
    return true;
  }

  function conditionsHold(all, any, facts) {
    return all.every(function (c) { return holds(c, facts); }) &&
      (!any.length || any.some(function (c) { return holds(c, facts); }));
  }

  // As FormDefinition.settle.  items: what may be hidden (sections, fields), each
  // { all, any, names: the fields it holds }.  A field hidden counts as unanswered in every
  // condition; read again until nothing changes.  → { shown: [bool per item], facts }.
  function settle(items, values, idField, today) {
    var birth = idField ? birthDate(values[idField], today) : null;
    var hidden = {};
    for (var pass = 0; pass <= items.length + 1; pass++) {
      var kept = {};
      Object.keys(values).forEach(function (k) { if (!hidden[k]) kept[k] = values[k]; });
      var facts = { values: kept, birth: idField && hidden[idField] ? null : birth, today: today };
      var shown = items.map(function (it) { return conditionsHold(it.all || [], it.any || [], facts); });
      var next = {};
      items.forEach(function (it, i) { if (!shown[i]) it.names.forEach(function (n) { next[n] = true; }); });
      if (Object.keys(next).sort().join() === Object.keys(hidden).sort().join()) return { shown: shown, facts: facts };
      hidden = next;
    }
    return { shown: shown, facts: facts };
  }

  // As FormDefinition._apply_checks: the first check an answer given fails, or null.
  function failedCheck(checks, value, facts) {
    if (!String(value === null || value === undefined ? "" : value).trim()) return null;
    return checks.filter(function (k) { return conditionsHold(k.when, [], facts); })[0] || null;
  }

  var formRules = { foldCode: foldCode, readId: readId, birthDate: birthDate, addMonths: addMonths,
    chinaToday: chinaToday, holds: holds, settle: settle, failedCheck: failedCheck, isoDay: isoDay };
  if (typeof module === "object" && module.exports) module.exports = formRules;
  if (typeof document === "undefined") return;  // node: the rules only

  function answers(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || ((el.type === "radio" || el.type === "checkbox") && !el.checked)) return;
      out[el.name] = el.value;
    });
    return out;
  }

  // Sections and fields shown as the definition says, against today in China.
  function refresh(form) {
    var values = answers(form);
    var els = Array.prototype.slice.call(form.querySelectorAll("[data-relevant],[data-relevant-any]"));
    var items = els.map(function (el) {
      var names = Array.prototype.map.call(el.querySelectorAll(".field[data-name]"),
        function (f) { return f.getAttribute("data-name"); });
      if (el.hasAttribute("data-name")) names.push(el.getAttribute("data-name"));
      return { all: JSON.parse(el.getAttribute("data-relevant") || "[]"),
               any: JSON.parse(el.getAttribute("data-relevant-any") || "[]"), names: names };
    });
    var idField = form.querySelector('.field[data-type="id_number"]');
    var idName = idField ? idField.getAttribute("data-name") : null;
    var settled = settle(items, values, idName, chinaToday());
    els.forEach(function (el, i) { el.hidden = !settled.shown[i]; });
    showChecks(form, settled.facts);
    if (idName) deriveFromId(form, values[idName]);
    showProgress(form, values);
  }

  // A check's message under its field while its conditions hold (the server refuses the same).
  function showChecks(form, facts) {
    form.querySelectorAll(".field[data-checks]").forEach(function (field) {
      var old = field.querySelector(".error[data-check]");
      var failed = !field.closest("[hidden]") &&
        failedCheck(JSON.parse(field.getAttribute("data-checks")), facts.values[field.getAttribute("data-name")], facts);
      if (old && (!failed || old.textContent !== failed.message)) { old.remove(); old = null; }
      if (!failed || old) return;
      var p = document.createElement("p");
      p.className = "error";
      p.setAttribute("data-check", "1");
      p.setAttribute("role", "alert");
      p.textContent = failed.message;
      field.appendChild(p);
    });
  }

  // Birth date and sex as the number shows them; a 15-digit number as the 18 it becomes.
  function deriveFromId(form, raw) {
    var out = form.querySelector("[data-derived=id_number]");
    var read = readId(raw);
    if (!read) { if (out) out.textContent = "—"; return; }
    if (read.error) { if (out) out.textContent = "校验位不正确"; return; }
    if (out) out.textContent = isoDay(read.birth);
    var radio = form.querySelector('input[name=sex][value="' + read.sex + '"]');
    if (radio && !form.querySelector("input[name=sex]:checked")) radio.checked = true;
  }

  // A required answer is open when its field is shown (section and field) and empty.
  function openRequired(form, values) {
    return Array.prototype.filter.call(form.querySelectorAll(".field[data-required]"), function (f) {
      return !f.closest("[hidden]") && !(values[f.getAttribute("data-name")] || "").trim();
    });
  }

  function showProgress(form, values) {
    var bar = document.getElementById("form-progress");
    if (!bar) return;
    var left = openRequired(form, values).length;
    bar.textContent = left ? text("required_left").replace("%n", left) : text("required_done");
    bar.classList.toggle("done", !left);
  }

  function text(key) { return window.Canbao && Canbao.page ? Canbao.page.T(key) : key; }

  // -- errors, listed and next to their fields --------------------------------------------
  function showErrors(form, errors, message) {
    form.querySelectorAll(".field .error[data-client]").forEach(function (p) { p.remove(); });
    form.querySelectorAll(".field.has-error").forEach(function (f) { f.classList.remove("has-error"); });
    Object.keys(errors || {}).forEach(function (name) {
      var field = form.querySelector("#field-" + CSS.escape(name));
      if (!field) return;
      field.classList.add("has-error");
      var p = document.createElement("p");
      p.className = "error";
      p.setAttribute("data-client", "1");
      p.textContent = errors[name];
      field.appendChild(p);
    });
    listErrors(form, message);
  }

  // One list at the top: each error a link that brings its field into view and focuses it.
  function listErrors(form, message) {
    var old = document.getElementById("error-summary");
    if (old) old.remove();
    var fields = form.querySelectorAll(".field.has-error");
    if (!fields.length && !message) return;
    var box = document.createElement("div");
    box.id = "error-summary";
    box.className = "flash flash-error";
    box.setAttribute("role", "alert");
    box.setAttribute("tabindex", "-1");
    var head = document.createElement("p");
    head.textContent = fields.length ? text("errors_count").replace("%n", fields.length) : message;
    box.appendChild(head);
    var list = document.createElement("ul");
    Array.prototype.forEach.call(fields, function (field) {
      var label = field.querySelector("legend, label");
      var error = field.querySelectorAll(".error");
      var a = document.createElement("a");
      a.href = "#" + field.id;
      a.textContent = (label ? label.textContent.replace("*", "") : "") + "：" +
        (error.length ? error[error.length - 1].textContent : "");
      a.addEventListener("click", function (event) {
        event.preventDefault();
        focusField(field);
      });
      var li = document.createElement("li");
      li.appendChild(a);
      list.appendChild(li);
    });
    box.appendChild(list);
    form.parentNode.insertBefore(box, form);
    if (fields.length) focusField(fields[0]); else box.focus();
  }

  function focusField(field) {
    field.scrollIntoView({ block: "center" });
    var input = field.querySelector("input:not([type=hidden]), select, textarea");
    if (input) input.focus({ preventScroll: true });
  }

  // -- the phone's copy: drafts and the outbox -------------------------------------------------
  function context(form) {
    var parts = decodeURIComponent(location.pathname).split("/").filter(Boolean);
    var params = new URLSearchParams(location.search);
    var kind = form.getAttribute("data-kind");
    return {
      kind: kind,
      household: kind === "household" ? null : parts[2],  // a person's or a dispute's
      village: kind === "household" ? parts[2] : (parts[2] || "").split(".")[0],
      person: params.get("person") || null,
      draft: params.get("draft"),
      outbox: params.get("outbox"),
      paper: params.get("token") || (form.elements.token && form.elements.token.value)
    };
  }

  function fill(form, values) {
    Object.keys(values).forEach(function (name) {
      var els = form.querySelectorAll('[name="' + CSS.escape(name) + '"]');
      Array.prototype.forEach.call(els, function (el) {
        if (SKIP[name]) return;
        if (el.type === "radio" || el.type === "checkbox") el.checked = el.value === String(values[name]);
        else el.value = values[name] === null || values[name] === undefined ? "" : values[name];
      });
    });
  }

  function setUuid(form, uuid) { if (form.elements.uuid) form.elements.uuid.value = uuid; }

  function enhance(form) {
    var C = window.Canbao;
    if (!C || !window.indexedDB || !form.getAttribute("data-kind")) return;
    var db = C.db;
    var ctx = context(form);
    if (ctx.paper) return;  // a printed form's code is bound by the plain POST, online
    var shell = document.body.getAttribute("data-shell");
    var draftId = ctx.draft || (ctx.person ? ctx.kind[0] + ":" + ctx.person : null);  // p: or d:
    var loaded = Promise.resolve();
    if (shell) loaded = fillShell(form, ctx);
    loaded.then(function () {
      if (ctx.outbox) return db.get("outbox", ctx.outbox).then(function (item) {
        if (!item) return;
        fill(form, item.payload);
        setUuid(form, item.uuid);
        if (item.error) showErrors(form, item.error.errors, item.error.message);
      });
      if (!draftId) return;
      return db.get("drafts", draftId).then(function (draft) {
        if (!draft || draft.user !== document.body.getAttribute("data-user")) return;
        fill(form, draft.values);
        setUuid(form, draft.uuid);
        note(text("draft_restored").replace("%t", new Date(draft.updated).toLocaleString("zh-CN", { hour12: false })));
      });
    }).then(function () {
      if (!form.elements.uuid.value) setUuid(form, C.rules.uuid());
      refresh(form);
      listErrors(form);
      document.body.setAttribute("data-ready", String(Math.round(performance.now())));
    });

    var timer = null;
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(saveDraft, 250);
    });
    form.addEventListener("change", function () { saveDraft(); });
    window.addEventListener("pagehide", saveDraft);

    function saveDraft() {
      if (ctx.outbox) return Promise.resolve();  // a queued form is corrected in place
      if (C.page.leaving) return Promise.resolve();  // logging out: the phone is being emptied
      if (!draftId) {
        draftId = C.rules.uuid();
        var params = new URLSearchParams(location.search);
        params.set("draft", draftId);
        history.replaceState(null, "", location.pathname + "?" + params.toString());
      }
      var values = answers(form);
      Object.keys(SKIP).forEach(function (k) { delete values[k]; });
      return db.put("drafts", { id: draftId, user: document.body.getAttribute("data-user"), kind: ctx.kind,
        household: ctx.kind === "household" ? "new-" + form.elements.uuid.value : ctx.household,
        person: ctx.person, village: ctx.village, values: values, uuid: form.elements.uuid.value,
        updated: Date.now() });
    }

    form.addEventListener("submit", function (event) {
      if (ctx.kind === "household" && !navigator.serviceWorker.controller) return;  // no shell for it
      if (ctx.household && ctx.household.indexOf("new-") === 0 && !navigator.serviceWorker.controller) return;
      event.preventDefault();
      var incomplete = event.submitter && event.submitter.name === "incomplete";
      queue(form, ctx, incomplete, draftId).then(function (item) { return afterQueue(form, ctx, item); });
    });
  }

  function queue(form, ctx, incomplete, draftId) {
    var C = window.Canbao, db = C.db;
    var values = answers(form);
    Object.keys(SKIP).forEach(function (k) { delete values[k]; });
    var existing = ctx.outbox ? db.get("outbox", ctx.outbox) : Promise.resolve(null);
    return existing.then(function (old) {
      // A uuid already used with other content cannot be sent again: this form gets a new one.
      var uuid = old && old.error && old.error.code === "uuid_conflict" ? C.rules.uuid() : form.elements.uuid.value;
      var head = document.querySelector("[data-fill=head-name]");
      var item = Object.assign(C.rules.entry(ctx, values, uuid, old, Date.now(), incomplete), {
        user: document.body.getAttribute("data-user"), label: C.rules.label(ctx.kind, values, text),
        householdLabel: head ? head.textContent : "" });
      var writes = [db.put("outbox", item)];
      if (old && old.uuid !== uuid) writes.push(db.del("outbox", old.uuid));
      if (draftId) writes.push(db.del("drafts", draftId));
      return Promise.all(writes).then(function () { return item; });
    });
  }

  // Online, the form goes at once and its answer shows here; otherwise it waits in the outbox.
  function afterQueue(form, ctx, item) {
    var C = window.Canbao;
    if (navigator.onLine === false) return leave(ctx, item, { queued: 1 });
    return C.page.queued().then(function () { return C.db.get("outbox", item.uuid); }).then(function (now) {
      if (now && now.state === "fix") {
        var params = new URLSearchParams(location.search);
        params.delete("draft");
        params.set("outbox", now.uuid);
        history.replaceState(null, "", location.pathname + "?" + params.toString());
        setUuid(form, now.uuid);
        showErrors(form, now.error.errors, now.error.message);
        return;
      }
      if (now && now.state === "done") {
        return leave(ctx, now, now.kind === "dispute" ? { disputed: now.receipt }
          : { saved: now.receipt, missing: (now.missing || []).length });
      }
      return leave(ctx, item, { queued: 1 });
    });
  }

  function leave(ctx, item, params) {
    var home = ctx.kind === "household" ? (item.state === "done" ? item.ref : "new-" + item.uuid) : ctx.household;
    location.assign("/e/h/" + encodeURIComponent(home) + "?" + new URLSearchParams(params).toString());
  }

  function note(message) {
    var p = document.createElement("p");
    p.className = "flash flash-info";
    p.setAttribute("role", "status");
    p.textContent = message;
    var form = document.querySelector("form.form");
    form.parentNode.insertBefore(p, form);
  }

  // A shell (served with no signal): the household, the person's answers, and the defaults.
  function fillShell(form, ctx) {
    var page = window.Canbao.page;
    return window.Canbao.db.meta("refreshed").then(function (at) {
      if (window.Canbao.rules.stale(at, Date.now())) {
        note(text(at ? "stale" : "never_refreshed_offline"));
        return null;
      }
      if (ctx.kind === "household") return null;
      var local = ctx.household.indexOf("new-") === 0;
      return (local ? window.Canbao.db.get("outbox", ctx.household.slice(4)).then(function (o) {
        return o && { household: Object.assign({ id: ctx.household }, o.payload), persons: [] };
      }) : page.findHousehold(ctx.household)).then(function (found) {
        if (!found) return;
        document.querySelectorAll("[data-fill=head-name]").forEach(function (n) { n.textContent = found.household.head_name; });
        document.querySelectorAll("[data-fill=household-link]").forEach(function (a) { a.href = "/e/h/" + ctx.household; });
        var person = found.persons.filter(function (p) { return p.id === ctx.person; })[0];
        if (ctx.kind === "dispute") {  // the member it is about: named, and the party by default
          if (!person) return;
          document.querySelectorAll("[data-fill=person-name]").forEach(function (n) {
            n.textContent = person.answers.name;
            n.parentNode.hidden = false;
          });
          return fill(form, { party_name: person.answers.name });
        }
        var defaults = { hukou_address: found.household.address, residence: found.household.address, situation: "living" };
        fill(form, Object.assign(defaults, person ? person.answers : {}));
      });
    });
  }

  // The payment form: the amount follows the schemes ticked (each box carries what is owed, in fen).
  function payTotal(form) {
    var fen = 0;
    form.querySelectorAll("input[name=schemes]:checked").forEach(function (box) {
      fen += Number(box.getAttribute("data-owed")) || 0;
    });
    form.elements.amount.value = Math.floor(fen / 100) + "." + ("0" + fen % 100).slice(-2);
  }

  root.CanbaoForms = { showErrors: showErrors, answers: answers, openRequired: openRequired, rules: formRules,
                       payTotal: payTotal };

  document.addEventListener("DOMContentLoaded", function () {
    // A page that answers a POST (a refused save, shown again with what was typed) becomes a
    // plain entry of its URL: Back to it later loads the form again instead of Chrome's
    // ERR_CACHE_MISS "confirm form resubmission" page.
    if (document.body.hasAttribute("data-posted")) history.replaceState(history.state, "", location.href);
    document.querySelectorAll("form.form").forEach(function (form) {
      form.addEventListener("input", function () { refresh(form); });
      form.addEventListener("change", function () { refresh(form); });
      refresh(form);
      if (!form.getAttribute("data-kind")) return;
      listErrors(form);
      var ready = window.Canbao && Canbao.page && Canbao.page.ready;
      if (ready) ready.then(function () { enhance(form); }); else enhance(form);
    });
    document.querySelectorAll("form[data-payment]").forEach(function (form) {
      form.addEventListener("change", function (event) {
        if (event.target.name === "schemes") payTotal(form);
      });
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
})(typeof window !== "undefined" ? window : globalThis);
