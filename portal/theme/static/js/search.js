/* Client-side search over search.json (built by the portal).  A static file,
   not inline, so the portal can be served with a strict Content-Security-Policy.

   People type the way they speak (「怎么交」, 「外出务工」), not the words of the
   guides, so a query is matched on two-character pieces (bigrams) rather than as
   one literal string, after swapping in the synonyms of search_synonyms.toml
   (handed over in the page's data-synonyms attribute).  The ranking functions
   are exported for node's test runner (tests/test_portal_search.py). */
(function () {
  "use strict";
  var MAX_VARIANTS = 24;

  function words(query) {
    return query.toLowerCase().split(/[\s,，、。;；？?！!]+/).filter(Boolean);
  }

  // The word with each synonym swapped in: 「怎么交」 -> 「怎么缴」 …
  function variants(word, groups) {
    var out = [word];
    (groups || []).forEach(function (group) {
      out.slice().forEach(function (v) {
        group.forEach(function (term) {
          if (!term || v.indexOf(term) === -1) { return; }
          group.forEach(function (other) {
            var swapped = v.split(term).join(other);
            if (out.length < MAX_VARIANTS && out.indexOf(swapped) === -1) { out.push(swapped); }
          });
        });
      });
    });
    return out;
  }

  // Latin letters and digits stay whole (a phone number, "app"); Chinese is cut
  // into overlapping pairs, or kept as one character when it is just one.
  function grams(word) {
    var chars = Array.from(word);
    if (chars.length <= 2 || /^[\x00-\x7f]+$/.test(word)) { return [word]; }
    var out = [];
    for (var i = 0; i + 1 < chars.length; i++) {
      var g = chars[i] + chars[i + 1];
      if (out.indexOf(g) === -1) { out.push(g); }
    }
    return out;
  }

  function count(text, piece) {
    return text.split(piece).length - 1;
  }

  // One word against one entry: the best of its variants.  A variant counts when
  // at least half its pieces occur; a title hit beats any number in the body.
  function wordScore(title, text, word, groups) {
    var best = { score: 0, hit: "" };
    variants(word, groups).forEach(function (v) {
      var pieces = grams(v);
      var found = 0, inTitle = 0, inText = 0, hit = "";
      pieces.forEach(function (g) {
        var t = title.indexOf(g) !== -1;
        var n = count(text, g);
        if (t || n) { found++; if (!hit) { hit = g; } }
        if (t) { inTitle++; }
        inText += Math.min(n, 5);
      });
      if (found * 2 < pieces.length || !found) { return; }
      // Whole-variant matches first, then pieces; title above body.
      var whole = (title.indexOf(v) !== -1 ? 100 : 0) + Math.min(count(text, v), 5) * 4;
      var score = whole + (inTitle * 20 + inText) * found / pieces.length;
      if (score > best.score) {
        best = { score: score, hit: count(text, v) ? v : hit };
      }
    });
    return best;
  }

  function rank(entries, query, groups) {
    var ws = words(query);
    if (!ws.length) { return []; }
    return entries
      .map(function (entry) {
        var title = entry.title.toLowerCase();
        var text = entry.text.toLowerCase();
        var total = 0, hit = "";
        for (var i = 0; i < ws.length; i++) {
          var s = wordScore(title, text, ws[i], groups);
          if (!s.score) { return null; }
          total += s.score;
          hit = hit || s.hit;
        }
        return { entry: entry, score: total, hit: hit };
      })
      .filter(Boolean)
      .sort(function (a, b) { return b.score - a.score; });
  }

  var api = { words: words, variants: variants, grams: grams, rank: rank };
  if (typeof module !== "undefined" && module.exports) { module.exports = api; }
  if (typeof document === "undefined") { return; }

  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var help = document.getElementById("search-help");
  var box = document.querySelector("form.search input[name=q]");
  if (!status || !list || !box) { return; }
  var groups = [];
  try { groups = JSON.parse(status.getAttribute("data-synonyms") || "[]"); } catch (e) { groups = []; }
  var entries = null;

  function snippet(text, word) {
    var at = word ? text.toLowerCase().indexOf(word) : -1;
    if (at === -1) { return { before: text.slice(0, 60), hit: "", after: "" }; }
    var start = Math.max(0, at - 24);
    return {
      before: (start > 0 ? "…" : "") + text.slice(start, at),
      hit: text.slice(at, at + word.length),
      after: text.slice(at + word.length, at + word.length + 40) + "…"
    };
  }

  function item(h) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = h.entry.url;
    a.textContent = h.entry.title;
    var p = document.createElement("p");
    var cut = snippet(h.entry.text, h.hit);
    var mark = document.createElement("mark");
    mark.textContent = cut.hit;
    p.appendChild(document.createTextNode(cut.before));
    p.appendChild(mark);
    p.appendChild(document.createTextNode(cut.after));
    li.appendChild(a);
    li.appendChild(p);
    return li;
  }

  function show() {
    var query = box.value.trim();
    list.textContent = "";
    if (help) { help.hidden = true; }
    if (!query) { return; }
    var hits = rank(entries, query, groups);
    status.textContent = hits.length
      ? "找到 " + hits.length + " 条和“" + query + "”有关的内容："
      : "没找到“" + query + "”。换个说法试试，比如少打几个字。";
    if (!hits.length && help) { help.hidden = false; }
    hits.slice(0, 30).forEach(function (h) { list.appendChild(item(h)); });
  }

  var query = new URLSearchParams(window.location.search).get("q");
  if (query) { box.value = query; }
  status.textContent = "正在载入…";
  fetch(status.getAttribute("data-index"))
    .then(function (response) { return response.json(); })
    .then(function (data) {
      entries = data;
      status.textContent = "在上面的框里输入要找的词，比如“新生儿”“低保”“微信”或您的村名。";
      box.addEventListener("input", show);
      show();
    })
    .catch(function () {
      status.textContent = "搜索暂时用不了，请从目录里找。";
    });
})();
