// Site-wide behaviour: typeset math with the vendored KaTeX after every page load and htmx swap.
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

  document.addEventListener("DOMContentLoaded", function () {
    renderMath(document.body);
    if (window.htmx) {
      window.htmx.onLoad(function (elt) { renderMath(elt); });
    }
  });
})();
