// The field client: what the phone keeps (IndexedDB) and the outbox that uploads it.
//
// Loaded by every enumerator page and, with importScripts, by the service worker:
// the first part runs anywhere; the page part only where there is a document.
// Pure rules (backoff, what an answer means, which item goes next) are kept apart
// so that tests/js/ can check them with node.
(function (root) {
  "use strict";

  var DB_NAME = "canbao";
  var STORES = ["meta", "villages", "drafts", "outbox"];
  var STALE_MS = 7 * 24 * 3600 * 1000;   // older data is refused until refreshed
  var REFRESH_MS = 2 * 3600 * 1000;      // refreshed by itself when older than this and online
  var SEND_TIMEOUT_MS = 20000;
  // Kinds of item that go as they were queued, each to its own endpoint.
  var ENDPOINTS = { payment: "/api/v1/payments", dispute: "/api/v1/disputes" };

  // -- rules --------------------------------------------------------------------------
  var rules = {
    // Seconds to wait before the n-th retry: 2, 4, 8 … up to 5 minutes, spread by ±20 %.
    backoff: function (attempts, random) {
      var base = Math.min(300, 2 * Math.pow(2, Math.max(0, attempts - 1)));
      var spread = 0.8 + 0.4 * (random === undefined ? Math.random() : random);
      return Math.round(base * spread * 1000);
    },
    // What one answer of the server means for the item that was sent.
    verdict: function (status, body) {
      body = body || {};
      if (status === 200 || status === 201) return "done";
      if (status === 401) return "login";
      if (status === 400 && body.error === "csrf") return "csrf";
      if (status === 422 || status === 409 || status === 404 || status === 413) return "fix";
      return "retry";  // no answer, 429, 5xx: the same request again later
    },
    // The next item to send: the oldest waiting one that is due, whose household exists.
    next: function (items, now) {
      var pending = items.filter(function (i) { return i.state === "waiting"; })
        .sort(function (a, b) { return a.created - b.created; });
      for (var k = 0; k < pending.length; k++) {
        var item = pending[k];
        if ((item.notBefore || 0) > now) continue;
        if (rules.blockedBy(item, items)) continue;
        return item;
      }
      return null;
    },
    // A person registered in a household found today waits for that household's upload.
    blockedBy: function (item, items) {
      var home = item.household || "";
      if (item.kind !== "person" || home.indexOf("new-") !== 0) return null;
      var uuid = home.slice(4);
      var house = items.filter(function (i) { return i.uuid === uuid; })[0];
      return house && house.state === "done" ? null : (house || { state: "missing" });
    },
    // The request an item makes: household items and person items go to their own endpoints.
    request: function (item, items) {
      if (ENDPOINTS[item.kind]) return { url: ENDPOINTS[item.kind], body: item.payload };
      if (item.kind === "household") {
        return { url: "/api/v1/villages/" + item.village + "/households", body: item.payload };
      }
      var body = Object.assign({}, item.payload);
      var home = item.household || "";
      if (home.indexOf("new-") === 0) {
        var house = items.filter(function (i) { return i.uuid === home.slice(4); })[0];
        body.household = house && house.ref;
      }
      return { url: "/api/v1/submissions", body: body };
    },
    // After an answer: the item as it is to be stored next.
    settle: function (item, status, body, now, random) {
      var v = rules.verdict(status, body);
      var out = Object.assign({}, item, { lastStatus: status });
      body = body || {};
      if (v === "done") {
        out.state = "done";
        // a dispute's number is what the enumerator quotes to the party
        out.receipt = body.receipt || (item.kind === "payment" && item.payload.receipt_no) ||
          (item.kind === "dispute" && body.id) || "";
        out.ref = body.id || body.person || "";
        out.missing = body.missing || [];
        out.doneAt = now;
        out.error = null;
      } else if (v === "fix") {
        out.state = "fix";
        var errors = body.errors || {};
        // A number registered elsewhere is an answer to correct: shown next to the ID field.
        if (body.error === "duplicate_id_number" && !errors.id_number) errors = { id_number: body.message };
        out.error = { code: body.error || String(status), message: body.message || "", errors: errors };
      } else if (v === "retry") {
        out.attempts = (item.attempts || 0) + 1;
        out.notBefore = now + rules.backoff(out.attempts, random);
      }
      return { item: out, verdict: v };
    },
    // Schemes of a person paid on this phone that the phone's copy of the roll does not know of
    // yet: waiting to go, or sent after the last refresh (a refused one is not paid).
    paidHere: function (ref, items, refreshedAt) {
      var schemes = {};
      items.forEach(function (o) {
        if (o.kind !== "payment" || o.person !== ref || o.state === "fix") return;
        if (o.state === "done" && o.doneAt < refreshedAt) return;
        o.payload.schemes.forEach(function (s) { schemes[s] = true; });
      });
      return schemes;
    },
    // The outbox item a form of the phone makes (app.js): the payload as the API takes it, with
    // where it belongs.  A corrected item keeps the person it was about and its place in line.
    entry: function (ctx, values, uuid, old, now, incomplete) {
      var payload = Object.assign({ uuid: uuid }, values);
      var person = ctx.person || (old && old.person) || null;
      if (ctx.kind !== "household") {
        payload.household = ctx.household;
        if (person) payload.person = person;
      }
      if (ctx.kind === "dispute") payload.village = ctx.village;
      if (ctx.kind === "person" && incomplete) payload.incomplete = true;
      return { uuid: uuid, kind: ctx.kind, village: ctx.village, person: person, payload: payload,
        household: ctx.kind === "household" ? "new-" + uuid : ctx.household,
        created: old ? old.created : now, attempts: 0, notBefore: 0, state: "waiting" };
    },
    // What the outbox list calls an item: a dispute by its party's name, never the phone number.
    label: function (kind, values, T) {
      return kind === "dispute" ? T("dispute_label").replace("%n", values.party_name || "")
        : values.name || values.head_name || "";
    },
    stale: function (refreshedAt, now) { return !refreshedAt || now - refreshedAt > STALE_MS; },
    // Forms the township returned (初审), as the phone's data has them: not those corrected on
    // this phone since (an outbox item for the person made after the return).
    returned: function (persons, outbox) {
      return persons.filter(function (p) {
        if (p.status !== "registered" || !p.review || p.review.state !== "returned") return false;
        var at = Date.parse(p.review.at || "") || 0;
        return !outbox.some(function (o) { return o.kind === "person" && o.person === p.id && o.created > at; });
      });
    },
    uuid: function () {
      if (root.crypto && root.crypto.randomUUID) return root.crypto.randomUUID();
      var b = new Uint8Array(16);
      root.crypto.getRandomValues(b);
      b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
      var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
      return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
    }
  };

  // -- IndexedDB, as promises -----------------------------------------------------------
  var opened = null;
  function database() {
    if (!opened) {
      opened = new Promise(function (resolve, reject) {
        var req = root.indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = function () {
          var d = req.result;
          d.createObjectStore("meta", { keyPath: "key" });
          d.createObjectStore("villages", { keyPath: "code" });
          d.createObjectStore("drafts", { keyPath: "id" });
          d.createObjectStore("outbox", { keyPath: "uuid" });
        };
        req.onsuccess = function () {
          req.result.onversionchange = function () { req.result.close(); opened = null; };
          resolve(req.result);
        };
        req.onerror = function () { reject(req.error); };
      });
    }
    return opened;
  }
  function run(store, mode, work) {
    return database().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(store, mode);
        var request = work(t.objectStore(store));
        t.oncomplete = function () { resolve(request ? request.result : undefined); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }
  var db = {
    get: function (store, key) { return run(store, "readonly", function (s) { return s.get(key); }); },
    all: function (store) { return run(store, "readonly", function (s) { return s.getAll(); }); },
    put: function (store, value) { return run(store, "readwrite", function (s) { s.put(value); }); },
    del: function (store, key) { return run(store, "readwrite", function (s) { s.delete(key); }); },
    // Everything the phone keeps, gone: at logout, and before another user's data comes in.
    wipe: function () {
      return database().then(function (d) {
        return new Promise(function (resolve, reject) {
          var t = d.transaction(STORES, "readwrite");
          STORES.forEach(function (s) { t.objectStore(s).clear(); });
          t.oncomplete = resolve;
          t.onerror = function () { reject(t.error); };
        });
      });
    },
    meta: function (key) { return db.get("meta", key).then(function (m) { return m ? m.value : undefined; }); },
    setMeta: function (key, value) { return db.put("meta", { key: key, value: value }); }
  };

  // -- uploading: the page and the service worker both do it --------------------------------
  var draining = null;
  function drain(onChange) {
    if (!draining) {
      draining = sendAll(onChange || function () {}).then(function (r) { draining = null; return r; },
        function (e) { draining = null; throw e; });
    }
    return draining;
  }
  function sendAll(onChange) {
    return db.meta("paused").then(function (paused) {
      if (paused) return { paused: paused };
      return db.all("outbox").then(function (items) {
        var item = rules.next(items, Date.now());
        if (!item) return { paused: null };
        return sendOne(item, items).then(function (verdict) {
          onChange();
          if (verdict === "login" || verdict === "csrf") return { paused: verdict };
          return verdict === "retry" ? { paused: null, waiting: true } : sendAll(onChange);
        });
      });
    });
  }
  function sendOne(item, items) {
    var req = rules.request(item, items);
    return db.meta("csrf").then(function (token) {
      return post(req.url, req.body, token);
    }).then(function (answer) {
      if (answer.status === 400 && answer.body && answer.body.error === "csrf") {
        return freshToken().then(function (token) {
          return token ? post(req.url, req.body, token) : { status: 401, body: {} };
        });
      }
      return answer;
    }).then(function (answer) {
      var settled = rules.settle(item, answer.status, answer.body, Date.now());
      var writes = [db.put("outbox", settled.item)];
      if (settled.verdict === "login") writes.push(db.setMeta("paused", "login"));
      return Promise.all(writes).then(function () { return settled.verdict; });
    });
  }
  function post(url, body, token) {
    var controller = root.AbortController ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, SEND_TIMEOUT_MS);
    return fetch(url, { method: "POST", credentials: "same-origin", redirect: "manual",
                        signal: controller && controller.signal,
                        headers: { "Content-Type": "application/json", "X-CSRFToken": token || "" },
                        body: JSON.stringify(body) })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (b) { return { status: r.status, body: b }; });
      }, function () { return { status: 0, body: {} }; })
      .then(function (a) { if (timer) clearTimeout(timer); return a; });
  }
  function freshToken() {
    return fetch("/api/v1/session", { credentials: "same-origin" }).then(function (r) {
      if (r.status !== 200) return null;
      return r.json().then(function (s) { return db.setMeta("csrf", s.csrf_token).then(function () { return s.csrf_token; }); });
    }, function () { return null; });
  }

  root.Canbao = { rules: rules, db: db, drain: drain, freshToken: freshToken, STALE_MS: STALE_MS };
  if (typeof module !== "undefined" && module.exports) module.exports = root.Canbao;
  if (typeof document === "undefined") return;  // the service worker needs nothing below

  // -- the page ---------------------------------------------------------------------------
  // Texts come translated from the server, in a JSON block of the page (base.html).
  var texts = null;
  function T(key) {
    if (!texts) {
      texts = {};
      ["canbao-text", "pay-text", "dispute-text"].forEach(function (id) {  // the pages' own texts
        var block = document.getElementById(id);
        if (block) Object.assign(texts, JSON.parse(block.textContent));
      });
    }
    return texts[key] || key;
  }
  var page = root.Canbao.page = { T: T, fillers: {} };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  page.el = el;

  function user() { return document.body.getAttribute("data-user") || ""; }

  // Another user on this phone: nothing of the last one's stays, except what they did not send.
  function bindUser() {
    return db.meta("user").then(function (owner) {
      if (!owner || owner === user()) return db.setMeta("user", user());
      return unsentWork().then(function (work) {
        if (work.count && root.confirm(T("previous_unsent").replace("%n", work.count).replace("%u", owner))) {
          return exportFile(owner, work.outbox).then(function () { return db.wipe(); });
        }
        return db.wipe();
      }).then(function () { return db.setMeta("user", user()); });
    });
  }

  // What logging out would lose: forms not yet uploaded, and drafts not yet saved.
  function unsentWork() {
    return Promise.all([db.all("outbox"), db.all("drafts")]).then(function (r) {
      var outbox = r[0].filter(function (i) { return i.state !== "done"; });
      return { outbox: outbox, count: outbox.length + r[1].length };
    });
  }

  function exportFile(owner, items) {
    return db.all("drafts").then(function (drafts) {
      var blob = new Blob([JSON.stringify({ format: "canbao-outbox", version: 1, user: owner,
        exported_at: new Date().toISOString(), outbox: items, drafts: drafts }, null, 1)],
        { type: "application/json" });
      var a = el("a", { href: URL.createObjectURL(blob),
                        download: "canbao-outbox-" + owner + "-" + Date.now() + ".json" });
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
  }
  page.exportFile = function () {
    return db.all("outbox").then(function (items) {
      return exportFile(user(), items.filter(function (i) { return i.state !== "done"; }));
    });
  };

  function online() { return navigator.onLine !== false; }

  // The day's data: households and people of the user's villages.
  page.refresh = function (quiet) {
    if (!online()) return Promise.resolve(false);
    return fetch("/api/v1/bundle", { credentials: "same-origin" }).then(function (r) {
      if (r.status !== 200) return false;
      return r.json().then(function (data) {
        if (data.username !== user()) return false;
        return Promise.all(data.villages.map(function (v) { return db.put("villages", v); }))
          .then(function () { return db.setMeta("refreshed", Date.now()); })
          .then(function () { return true; });
      });
    }, function () { return false; }).then(function (ok) { showStatus(); return ok; });
  };

  page.village = function (code) { return db.get("villages", code); };
  page.findHousehold = function (ref) {
    var code = ref.split(".")[0];
    return db.get("villages", code).then(function (v) {
      if (!v) return null;
      var house = v.households.filter(function (h) { return h.id === ref; })[0];
      return house ? { village: v, household: house,
                       persons: v.persons.filter(function (p) { return p.household === ref; }) } : null;
    });
  };

  // -- the status bar: online or not, what waits, how old the data is -----------------------
  function showStatus() {
    var bar = document.getElementById("phone-status");
    if (!bar) return Promise.resolve();
    return Promise.all([db.all("outbox"), db.meta("refreshed"), db.meta("paused")]).then(function (r) {
      var waiting = r[0].filter(function (i) { return i.state === "waiting"; }).length;
      var fix = r[0].filter(function (i) { return i.state === "fix"; }).length;
      var parts = [online() ? T("online") : T("offline")];
      if (waiting) parts.push(T("waiting").replace("%n", waiting));
      if (fix) parts.push(T("to_fix").replace("%n", fix));
      if (r[2] === "login") parts.push(T("paused_login"));
      parts.push(r[1] ? T("refreshed_at").replace("%t", new Date(r[1]).toLocaleString("zh-CN", { hour12: false }))
                      : T("never_refreshed"));
      bar.querySelector("[data-status]").textContent = parts.join(" · ");
      bar.hidden = false;
      bar.classList.toggle("status-offline", !online());
    });
  }
  page.showStatus = showStatus;

  page.upload = function () {
    if (!online()) return showStatus();
    return drain(showStatus).then(showStatus, showStatus);
  };

  function wakeWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) reg.sync.register("outbox").catch(function () {});
    }).catch(function () {});
  }
  page.queued = function () { wakeWorker(); return page.upload(); };

  // Logging out leaves nothing personal on the phone; unsent forms are offered as a file first.
  function guardLogout() {
    document.querySelectorAll("form[data-logout]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-wiped")) return;
        event.preventDefault();
        unsentWork().then(function (work) {
          if (work.count && !root.confirm(T("logout_unsent").replace("%n", work.count))) return null;
          page.leaving = true;  // a draft saved after this (pagehide) would outlive the wipe
          return (work.count ? exportFile(user(), work.outbox) : Promise.resolve()).then(forgetEverything);
        }).then(function (done) {
          if (done === null) return;
          form.setAttribute("data-wiped", "1");
          form.submit();
        });
      });
    });
  }
  function forgetEverything() {
    var jobs = [db.wipe()];
    if (root.caches) jobs.push(caches.keys().then(function (ks) { return Promise.all(ks.map(function (k) { return caches.delete(k); })); }));
    if ("serviceWorker" in navigator) {
      jobs.push(navigator.serviceWorker.getRegistrations().then(function (rs) {
        return Promise.all(rs.map(function (r) { return r.unregister(); }));
      }));
    }
    return Promise.all(jobs).catch(function () {});
  }

  // The login page: say that forms kept on this phone are waiting (how many, nothing else).
  page.fillers.login = function () {
    var note = document.getElementById("login-waiting");
    if (!note || !root.indexedDB) return Promise.resolve();
    return db.all("outbox").then(function (items) {
      var waiting = items.filter(function (i) { return i.state !== "done"; }).length;
      if (!waiting) return;
      note.textContent = T("login_waiting").replace("%n", waiting);
      note.hidden = false;
    });
  };

  page.start = function () {
    var body = document.body;
    if (!root.indexedDB || !body.getAttribute("data-user")) return Promise.resolve();
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/e/sw.js", { scope: "/e/" }).catch(function () {});
    }
    guardLogout();
    var csrf = document.querySelector("meta[name=csrf-token]");
    return bindUser().then(function () {
      var jobs = [];
      if (csrf && !body.getAttribute("data-shell")) {
        jobs.push(db.setMeta("csrf", csrf.getAttribute("content")), db.del("meta", "paused"));
      }
      return Promise.all(jobs);
    }).then(function () {
      return db.meta("refreshed");
    }).then(function (at) {
      showStatus();
      if (!body.getAttribute("data-shell") && online() && (!at || Date.now() - at > REFRESH_MS)) {
        return page.refresh(true);
      }
    }).then(function () {
      root.addEventListener("online", function () { page.upload(); });
      root.addEventListener("offline", showStatus);
      document.querySelectorAll("[data-action=refresh]").forEach(function (b) {
        b.addEventListener("click", function () { b.disabled = true; page.refresh().then(function () { b.disabled = false; }); });
      });
      document.querySelectorAll("[data-action=upload]").forEach(function (b) {
        b.addEventListener("click", function () { db.del("meta", "paused").then(page.upload); });
      });
      document.querySelectorAll("[data-action=export]").forEach(function (b) {
        b.addEventListener("click", page.exportFile);
      });
      page.upload();  // in the background: the page is filled first
    });
  };

  // -- lists made from the phone's data ------------------------------------------------------
  function pathParts() { return decodeURIComponent(location.pathname).split("/").filter(Boolean); }
  page.pathParts = pathParts;

  function refused() {
    return db.meta("refreshed").then(function (at) {
      if (!rules.stale(at, Date.now())) return false;
      var note = document.getElementById("shell-note");
      if (note) { note.textContent = T(at ? "stale" : "never_refreshed_offline"); note.hidden = false; }
      return true;
    });
  }

  function badge(cls, text) { return el("span", { "class": "badge " + cls, text: text }); }
  function itemLink(href, title, detail, tail) {
    return el("li", {}, [el("a", { href: href }, [el("strong", { text: title }),
      detail ? el("span", { "class": "muted", text: detail }) : null, tail])]);
  }
  function stateBadge(item) {
    if (item.state === "done") return badge("done", T("uploaded") + " " + (item.receipt || ""));
    if (item.state === "fix") return badge("todo", T("needs_fix"));
    return badge("part", T("not_uploaded"));
  }
  page.stateBadge = stateBadge;

  // Drafts and unsent forms of one household (or of all, for the home page).
  function localWork(household) {
    return Promise.all([db.all("drafts"), db.all("outbox")]).then(function (r) {
      var mine = function (x) { return x.user === user() && (!household || x.household === household); };
      return { drafts: r[0].filter(mine).sort(function (a, b) { return b.updated - a.updated; }),
               outbox: r[1].filter(mine).sort(function (a, b) { return a.created - b.created; }) };
    });
  }
  page.localWork = localWork;

  function workList(target, work, withHousehold) {
    if (!target) return;
    target.textContent = "";
    work.drafts.forEach(function (d) {
      var href = "/e/h/" + encodeURIComponent(d.household) + (d.kind === "household" ? ""
        : d.kind === "dispute" ? "/dispute?draft=" + d.id + (d.person ? "&person=" + d.person : "")
        : "/register?draft=" + d.id);
      target.appendChild(itemLink(href, rules.label(d.kind, d.values, T) || T("unnamed"),
        T("draft_saved").replace("%t", new Date(d.updated).toLocaleString("zh-CN", { hour12: false })),
        badge("part", T("draft"))));
    });
    work.outbox.forEach(function (o) {
      var href = o.kind === "payment" ? "/e/p/" + o.person + "/pay" + (o.state === "done" ? "" : "?outbox=" + o.uuid)
        : o.kind === "dispute" ? (o.state === "done" ? "/e/disputes" : "/e/h/" + o.household + "/dispute?outbox=" + o.uuid + (o.person ? "&person=" + o.person : ""))
        : o.kind === "household" ? "/e/h/" + (o.state === "done" ? o.ref : "new-" + o.uuid)
        : "/e/h/" + encodeURIComponent(o.household) + "/register?" +
          (o.state === "done" ? "person=" + o.ref : "outbox=" + o.uuid);
      var detail = o.state === "fix" ? (o.error && o.error.message) || "" : (withHousehold ? o.householdLabel || "" : "");
      target.appendChild(itemLink(href, o.label || T("unnamed"), detail, stateBadge(o)));
    });
    target.closest("[data-local-work]").hidden = !target.children.length;
  }

  page.fillers.home = function () {
    return localWork(null).then(function (work) {
      workList(document.getElementById("local-work-list"), work, true);
      if (!document.body.getAttribute("data-shell")) return;
      return refused().then(function (no) {
        if (no) return;
        return Promise.all([db.all("villages"), db.all("outbox")]).then(function (r) {
          var list = document.getElementById("shell-list");
          var back = document.getElementById("returned-list");
          r[0].forEach(function (v) {
            var done = v.persons.filter(function (p) { return p.status === "registered"; }).length;
            list.appendChild(itemLink("/e/v/" + v.code, v.township + " · " + v.name,
              T("registered_of").replace("%r", done).replace("%e", v.persons.length)));
            if (!back) return;
            rules.returned(v.persons, r[1]).forEach(function (p) {
              back.appendChild(returnedItem(p, "/e/h/" + p.household + "/register?person=" + p.id, ""));
            });
          });
          if (back) back.closest("[data-returned]").hidden = !back.children.length;
        });
      });
    });
  };

  // A returned form: the badge, and the township's comment under the name.
  function returnedItem(p, href, detail) {
    var item = itemLink(href, p.answers.name || T("unnamed"), detail, badge("todo", T("returned")));
    item.firstChild.appendChild(el("span", { "class": "missing",
      text: T("returned_comment").replace("%c", p.review.comment || "") }));
    return item;
  }

  page.fillers.village = function () {
    var code = pathParts()[2];
    return Promise.all([refused(), page.village(code), db.all("outbox")]).then(function (r) {
      var list = document.getElementById(document.body.getAttribute("data-shell") ? "shell-list" : "new-households");
      var village = r[1];
      var found = r[2].filter(function (o) { return o.kind === "household" && o.village === code && o.state !== "done"; });
      found.forEach(function (o) {
        list.appendChild(itemLink("/e/h/new-" + o.uuid, o.payload.head_name, o.payload.address, stateBadge(o)));
      });
      if (!document.body.getAttribute("data-shell") || r[0] || !village) return;
      document.querySelectorAll("[data-fill=village-name]").forEach(function (n) { n.textContent = village.name; });
      var q = new URLSearchParams(location.search).get("q") || "";
      document.querySelectorAll("input[name=q]").forEach(function (i) { i.value = q; });
      village.households.forEach(function (h) {
        var people = village.persons.filter(function (p) { return p.household === h.id; });
        if (q && (h.head_name + h.address + people.map(function (p) { return p.answers.name || ""; }).join("")).indexOf(q) < 0) return;
        var done = people.filter(function (p) { return p.status === "registered"; }).length;
        // as coverage.household_progress: complete only when everyone listed is registered
        // and nobody declared is left unlisted
        var expected = Math.max(people.length, h.members_count || 0);
        list.appendChild(itemLink("/e/h/" + h.id, h.head_name, h.address,
          badge(people.length && done === expected ? "done" : (done ? "part" : "todo"),
                T("people_of").replace("%r", done).replace("%n", expected))));
      });
      document.querySelectorAll("[data-fill=new-household]").forEach(function (a) { a.href = "/e/v/" + code + "/households/new"; });
    });
  };

  page.fillers.household = function () {
    var ref = pathParts()[2];
    var params = new URLSearchParams(location.search);
    var notice = document.getElementById("page-notice");
    var said = params.get("queued") ? T("queued")
      : params.get("saved") ? T(Number(params.get("missing")) ? "saved_missing" : "saved")
        .replace("%r", params.get("saved")).replace("%n", params.get("missing"))
      : params.get("paid") ? T("paid_notice").replace("%a", params.get("paid")) +
        (params.get("receipt") ? " " + T("receipt_no").replace("%r", params.get("receipt")) : "")
      : params.get("disputed") ? T("dispute_saved").replace("%r", params.get("disputed")) : "";
    if (notice && said) {
      notice.textContent = said;
      notice.hidden = false;
      history.replaceState(null, "", location.pathname);
    }
    return localWork(ref).then(function (work) {
      workList(document.getElementById("local-work-list"), work, false);
      if (!document.body.getAttribute("data-shell")) return;
      return refused().then(function (no) { return no ? null : fillHouseholdShell(ref); });
    });
  };

  function fillHouseholdShell(ref) {
    var local = ref.indexOf("new-") === 0;
    var found = local ? db.get("outbox", ref.slice(4)).then(function (o) {
      return o && { village: { code: o.village }, household: Object.assign({ id: ref }, o.payload), persons: [] };
    }) : page.findHousehold(ref);
    return Promise.all([found, db.all("outbox")]).then(function (r) {
      var f = r[0];
      if (!f) return;
      var back = rules.returned(f.persons, r[1]).map(function (p) { return p.id; });
      var h = f.household;
      var fills = { "head-name": h.head_name, "address": h.address, "members": String(h.members_count) };
      Object.keys(fills).forEach(function (k) {
        document.querySelectorAll("[data-fill=" + k + "]").forEach(function (n) { n.textContent = fills[k]; });
      });
      document.querySelectorAll("[data-fill=village-link]").forEach(function (a) { a.href = "/e/v/" + f.village.code; });
      document.querySelectorAll("[data-fill=register-link]").forEach(function (a) { a.href = "/e/h/" + ref + "/register"; });
      // a dispute names a household the server knows: not one found today and not yet uploaded
      document.querySelectorAll("[data-fill=dispute-link]").forEach(function (a) { a.href = "/e/h/" + ref + "/dispute"; a.hidden = local; });
      var list = document.getElementById("shell-list");
      f.persons.forEach(function (p) {
        var href = "/e/h/" + ref + "/register?person=" + p.id;
        var tail = p.status === "registered" ? badge("done", T("registered")) :
          p.status === "incomplete" ? badge("part", T("incomplete")) : badge("todo", T("pending"));
        var row = back.indexOf(p.id) >= 0 ? returnedItem(p, href, p.answers.id_number || "")
          : itemLink(href, p.answers.name || "", p.answers.id_number || "", tail);
        row.className = "with-action";  // a dispute about this member; a payment, as the server page has it
        row.appendChild(el("a", { "class": "row-action", href: "/e/h/" + ref + "/dispute?person=" + p.id,
                                  text: T("dispute") }));
        if (p.collection) {
          row.appendChild(el("a", { "class": "row-action", href: "/e/p/" + p.id + "/pay",
                                    text: T(p.collection.owed_person ? "pay" : "paid_up") }));
        }
        list.appendChild(row);
      });
    });
  }

  // -- a payment: taken at the door, online or not, sent by the outbox like a form -------------
  function yuan(fen) { return Math.floor(fen / 100) + "." + ("0" + fen % 100).slice(-2); }

  page.fillers.pay = function () {
    var form = document.querySelector("form[data-payment]");
    var ref = pathParts()[2];
    var outboxId = new URLSearchParams(location.search).get("outbox");
    var shell = document.body.getAttribute("data-shell");
    var filled = shell ? refused().then(function (no) { return no ? false : fillPayShell(ref, form); })
      : Promise.resolve(true);
    return filled.then(function (ok) {
      if (!ok || !form) return;
      return (outboxId ? db.get("outbox", outboxId) : Promise.resolve(null)).then(function (item) {
        if (item && item.kind === "payment") {
          fillPayment(form, item);
          if (item.error) root.CanbaoForms.showErrors(form, item.error.errors, item.error.message);
        }
        if (!form.elements.uuid.value) form.elements.uuid.value = rules.uuid();
        if (!form.elements.paid_on.value) form.elements.paid_on.value = root.CanbaoForms.rules.isoDay(root.CanbaoForms.rules.chinaToday());
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          queuePayment(form, ref, item && item.kind === "payment" ? item : null).then(afterPayment);
        });
      });
    });
  };

  function fillPayment(form, item) {
    var p = item.payload, f = form.elements;
    form.querySelectorAll("input[name=schemes]").forEach(function (b) { b.checked = p.schemes.indexOf(b.value) >= 0; });
    form.querySelectorAll("input[name=channel]").forEach(function (r) { r.checked = r.value === p.channel; });
    ["amount", "receipt_no", "paid_on", "note"].forEach(function (k) { f[k].value = p[k] || ""; });
    f.uuid.value = item.uuid;
  }

  // The shell: the person and their lines from the phone's bundle, less what was paid here since.
  function fillPayShell(ref, form) {
    return Promise.all([page.village(ref.split(".")[0]), db.all("outbox"), db.meta("refreshed")]).then(function (r) {
      var v = r[0], person = v && v.persons.filter(function (p) { return p.id === ref; })[0];
      if (!person) return false;
      var home = v.households.filter(function (h) { return h.id === person.household; })[0] || {};
      fills({ "head-name": home.head_name || "", "person-name": person.answers.name || "" });
      document.querySelectorAll("[data-fill=household-link]").forEach(function (a) { a.href = "/e/h/" + person.household; });
      form.setAttribute("data-household", person.household);
      var note = document.getElementById("pay-note");
      var c = person.collection;
      if (!c) { note.textContent = T("not_on_roll"); note.hidden = false; form.hidden = true; return false; }
      var here = rules.paidHere(ref, r[1], r[2] || 0), owed = 0;
      document.querySelectorAll(".pay-lines [data-scheme]").forEach(function (li) {
        var line = c.lines.filter(function (l) { return l.scheme === li.getAttribute("data-scheme"); })[0];
        if (!line) { li.remove(); return; }
        li.hidden = false;
        var fill = function (k, t) { li.querySelector("[data-fill=" + k + "]").textContent = t; };
        fill("tier", line.tier ? T("tier").replace("%t", line.tier) : "");
        fill("person", yuan(line.person));
        fill("paid", yuan(line.paid_person));
        fill("government", yuan(line.government));
        li.querySelector("[data-fill=government-line]").hidden = !line.government;
        var left = here[line.scheme] ? 0 : line.owed_person;
        var badgeNode = li.querySelector("[data-fill=state]");
        badgeNode.textContent = here[line.scheme] ? T("pending") : T(left ? "not_paid" : "paid_up");
        badgeNode.className = "badge " + (here[line.scheme] ? "part" : left ? "todo" : "done");
        var box = form.querySelector('label[data-scheme="' + line.scheme + '"]');
        if (!left) return;
        owed += left;
        box.hidden = false;
        box.querySelector("input").setAttribute("data-owed", String(left));
        box.querySelector("[data-fill=owed]").textContent = yuan(left);
      });
      form.querySelectorAll("label[data-scheme][hidden]").forEach(function (l) { l.remove(); });
      if (!owed) { note.textContent = T("all_paid"); note.hidden = false; form.hidden = true; return false; }
      var chosen = form.querySelector('label[data-channel="' + person.answers.payment_channel + '"]');
      if (chosen) { chosen.parentNode.insertBefore(chosen, chosen.parentNode.firstChild); chosen.querySelector("input").checked = true; }
      root.CanbaoForms.payTotal(form);
      return true;
    });
  }

  function fills(values) {
    Object.keys(values).forEach(function (k) {
      document.querySelectorAll("[data-fill=" + k + "]").forEach(function (n) { n.textContent = values[k]; });
    });
  }

  function queuePayment(form, ref, old) {
    var f = form.elements;
    var uuid = old && old.error && old.error.code === "uuid_conflict" ? rules.uuid() : f.uuid.value;
    var channel = form.querySelector("input[name=channel]:checked");
    var payload = { uuid: uuid, person: ref, amount: f.amount.value.trim(), channel: channel ? channel.value : "",
      schemes: Array.prototype.map.call(form.querySelectorAll("input[name=schemes]:checked"), function (b) { return b.value; }),
      receipt_no: f.receipt_no.value.trim().toUpperCase(), paid_on: f.paid_on.value, note: f.note.value.trim() };  // as the ledger keeps it
    var name = document.querySelector("[data-fill=person-name]").textContent;
    var item = { uuid: uuid, user: user(), kind: "payment", village: ref.split(".")[0], person: ref,
      household: form.getAttribute("data-household"), payload: payload,
      label: name + " · " + T("payment_of").replace("%a", payload.amount),
      householdLabel: document.querySelector("[data-fill=head-name]").textContent,
      created: old ? old.created : Date.now(), attempts: 0, notBefore: 0, state: "waiting" };
    var writes = [db.put("outbox", item)];
    if (old && old.uuid !== uuid) writes.push(db.del("outbox", old.uuid));
    return Promise.all(writes).then(function () { return { form: form, item: item }; });
  }

  // Online it goes at once: refused, its messages show beside the fields; else the household.
  function afterPayment(queued) {
    var form = queued.form, item = queued.item;
    var home = "/e/h/" + encodeURIComponent(item.household) + "?";
    if (!online()) return location.assign(home + "queued=1");
    return page.queued().then(function () { return db.get("outbox", item.uuid); }).then(function (now) {
      if (now && now.state === "fix") {
        history.replaceState(null, "", location.pathname + "?outbox=" + now.uuid);
        form.elements.uuid.value = now.uuid;
        root.CanbaoForms.showErrors(form, now.error.errors, now.error.message);
        return;
      }
      if (now && now.state === "done") {
        return location.assign(home + new URLSearchParams({ paid: now.payload.amount, receipt: now.receipt }));
      }
      location.assign(home + "queued=1");
    });
  }

  // Each kind of page (body data-page) may have a filler: lists from the phone's data, a
  // shell filled when there is no signal.  app.js adds the form's.
  page.fill = function () {
    var filler = page.fillers[document.body.getAttribute("data-page")];
    return filler ? filler() : Promise.resolve();
  };

  document.addEventListener("DOMContentLoaded", function () {
    page.ready = page.start().then(page.fill).catch(function (e) {
      if (root.console) console.warn("field client", e);
    });
  });
})(typeof self !== "undefined" ? self : globalThis);
