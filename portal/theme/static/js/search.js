/* Client-side search over search.json (built by the portal).  A static file,
   not inline, so the portal can be served with a strict Content-Security-Policy. */
(function () {
  "use strict";
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var box = document.querySelector("form.search input[name=q]");
  if (!status || !list || !box) { return; }
  var entries = null;

  function terms(query) {
    return query.toLowerCase().split(/[\s,，、。;；]+/).filter(Boolean);
  }

  function score(entry, words) {
    var title = entry.title.toLowerCase();
    var text = entry.text.toLowerCase();
    var total = 0;
    for (var i = 0; i < words.length; i++) {
      var inText = text.split(words[i]).length - 1;
      var inTitle = title.indexOf(words[i]) !== -1;
      if (!inTitle && !inText) { return 0; }
      // A title hit beats any number of mentions in the body.
      total += (inTitle ? 10 : 0) + Math.min(inText, 5);
    }
    return total;
  }

  function snippet(text, word) {
    var at = text.toLowerCase().indexOf(word);
    if (at === -1) { return { before: text.slice(0, 60), hit: "", after: "" }; }
    var start = Math.max(0, at - 24);
    return {
      before: (start > 0 ? "…" : "") + text.slice(start, at),
      hit: text.slice(at, at + word.length),
      after: text.slice(at + word.length, at + word.length + 40) + "…"
    };
  }

  function item(entry, words) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = entry.url;
    a.textContent = entry.title;
    var p = document.createElement("p");
    var cut = snippet(entry.text, words[0]);
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
    var words = terms(box.value);
    list.textContent = "";
    if (!words.length) { return; }
    var hits = entries
      .map(function (e) { return { entry: e, score: score(e, words) }; })
      .filter(function (h) { return h.score > 0; })
      .sort(function (a, b) { return b.score - a.score; });
    status.textContent = hits.length
      ? "找到 " + hits.length + " 条和“" + box.value.trim() + "”有关的内容："
      : "没找到“" + box.value.trim() + "”。换个说法试试，比如少打几个字。";
    hits.slice(0, 30).forEach(function (h) { list.appendChild(item(h.entry, words)); });
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
