// Small enhancements only: every flow works without this script.
(function () {
  "use strict";
  // Ask before destructive actions marked with data-confirm.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var msg = form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
      return;
    }
    // Prevent double submission: disable the buttons once a form is on its way.
    var buttons = form.querySelectorAll("button[type=submit], input[type=submit]");
    window.setTimeout(function () {
      buttons.forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  // Auto-submit filter selects marked with data-autosubmit.
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.submit();
    }
  });
  // Print buttons.
  document.addEventListener("click", function (e) {
    var el = e.target;
    if (el.hasAttribute && el.hasAttribute("data-print")) {
      e.preventDefault();
      window.print();
    }
  });
  // 同问 on the citizen form: after the citizen typed, show similar open items nearby
  // (titles only) with a "me too" button that records it and gives the tracking number
  // instead of a new item. Without this script the server offers them as a step after the first send.
  var same = document.getElementById("same-problem");
  if (same && window.fetch) {
    // This script offers similar items as the citizen types, so the server need not
    // offer them again as a step after sending (that step is for browsers without it).
    var checked = document.getElementById("similar_checked");
    if (checked && !checked.value) { checked.value = "script"; }
    var title = document.getElementById("title");
    var body = document.getElementById("body");
    var grid = document.getElementById("grid_id");
    var timer = null;
    var say = function (name) { return same.getAttribute("data-" + name) || ""; };
    var metoo = function (item, li) {
      fetch(say("metoo"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ id: item.id })
      }).then(function (r) {
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.json();
      }).then(function (receipt) {
        li.textContent = say("done") + " " + receipt.tracking_no;
      }).catch(function () {
        li.appendChild(document.createTextNode(" " + say("failed")));
      });
    };
    var show = function (items) {
      same.textContent = "";
      if (!items || !items.length) { same.hidden = true; return; }
      var p = document.createElement("p");
      p.textContent = say("heading");
      same.appendChild(p);
      var ul = document.createElement("ul");
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.appendChild(document.createTextNode(item.title + (item.metoo > 0 ? "（" + item.metoo + " " + say("count") + "）" : "") + " "));
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = say("button");
        b.addEventListener("click", function () { b.disabled = true; metoo(item, li); });
        li.appendChild(b);
        ul.appendChild(li);
      });
      same.appendChild(ul);
      same.hidden = false;
    };
    var look = function () {
      var t = title ? title.value : "";
      var d = body ? body.value.slice(0, 1000) : "";
      if ((t + d).length < 6) { show([]); return; }
      var url = say("similar") + "title=" + encodeURIComponent(t) + "&body=" + encodeURIComponent(d) +
        (grid && grid.value ? "&grid_id=" + encodeURIComponent(grid.value) : "");
      fetch(url).then(function (r) { return r.ok ? r.json() : []; }).then(show).catch(function () { show([]); });
    };
    [title, body, grid].forEach(function (el) {
      if (!el) { return; }
      el.addEventListener(el === grid ? "change" : "input", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(look, 700);
      });
    });
  }
})();
