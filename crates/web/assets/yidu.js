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
})();
