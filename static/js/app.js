// Site-wide behaviour: typeset math with the vendored KaTeX after every page load and htmx swap,
// and send the CSRF token with htmx writes.
(function () {
  "use strict";

  function renderMath(root) {
    if (!window.katex || !root || !root.querySelectorAll) return;
    root.querySelectorAll(".math:not([data-typeset])").forEach(function (el) {
      var display = el.classList.contains("block");
      try {
        window.katex.render(el.textContent, el, { displayMode: display, throwOnError: false, strict: "ignore" });
        el.setAttribute("data-typeset", "1");
      } catch (err) {
        el.setAttribute("data-typeset", "error");
      }
    });
  }
  window.renderMath = renderMath;

  // Every htmx write carries the page's CSRF token as a header (forms also hold it as a hidden field,
  // for when JavaScript is off); the server refuses writes without it (app/csrf.py).
  document.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && evt.detail.verb !== "get") {
      evt.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    renderMath(document.body);
    if (window.htmx) {
      window.htmx.onLoad(function (elt) { renderMath(elt); });
    }
  });
})();
