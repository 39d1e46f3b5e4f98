// The field client's service worker (version {{ version }}): the enumerator pages open with
// no signal, and the outbox uploads even when no page is open.
"use strict";
importScripts("{{ url_for('static', filename='field.js', v=version) }}");

var CACHE = "canbao-{{ version }}";
var SHELLS = {{ shells|tojson }};
var ASSETS = {{ assets|tojson }};
var NETWORK_WAIT_MS = 4000;  // a page slower than this on a weak signal is answered from the phone

self.addEventListener("install", function (event) {
  var urls = SHELLS.map(function (k) { return "/e/shell/" + k; }).concat(ASSETS);
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(urls.map(function (url) {
      return fetch(url, { credentials: "same-origin", redirect: "error" }).then(function (r) {
        if (!r.ok) throw new Error(url + " " + r.status);
        return cache.put(url, r);
      });
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// Which shell stands in for a page, by its path.
function shellFor(path) {
  if (/^\/e\/h\/[^/]+\/register$/.test(path)) return "form";
  if (/^\/e\/p\/[^/]+$/.test(path)) return "form";
  if (/^\/e\/p\/[^/]+\/pay$/.test(path)) return "pay";
  if (/^\/e\/h\/[^/]+\/dispute$/.test(path)) return "dispute";
  if (/^\/e\/h\/[^/]+$/.test(path)) return "household";
  if (/^\/e\/v\/[^/]+\/households\/new$/.test(path)) return "household-form";
  if (/^\/e\/v\/[^/]+$/.test(path)) return "village";
  return "home";
}

function fromShell(path) {
  return caches.match("/e/shell/" + shellFor(path)).then(function (r) {
    return r || new Response("<!doctype html><meta charset=utf-8><p>无网络，且手机上还没有保存这个页面。</p>",
                             { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
  });
}

// The network if it answers soon, the phone's shell if not.
function pageFromNetwork(request, path) {
  return new Promise(function (resolve) {
    var settled = false;
    var timer = setTimeout(function () { settled = true; resolve(fromShell(path)); }, NETWORK_WAIT_MS);
    fetch(request).then(function (response) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(response.status >= 500 ? fromShell(path) : response);
    }, function () {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(fromShell(path));
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname.indexOf("/e/") === 0) {
    // A household found today has no page on the server until it is uploaded.
    if (/^\/e\/h\/new-/.test(url.pathname)) { event.respondWith(fromShell(url.pathname)); return; }
    event.respondWith(pageFromNetwork(request, url.pathname));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(request, { ignoreSearch: true }).then(function (hit) {
      return hit || fetch(request);
    }));
  }
  // Everything else (the API above all) goes to the network only: no personal data in caches.
});

self.addEventListener("sync", function (event) {
  if (event.tag === "outbox") event.waitUntil(self.Canbao.drain());
});

self.addEventListener("message", function (event) {
  if (event.data === "drain") event.waitUntil(self.Canbao.drain());
});
