// Boxes that scroll sideways (report tables, wide charts, long equations and code on a phone) fade out at
// the edge that hides more content, so the learner can tell there is more to the right (or left).
(function () {
  "use strict";

  var SELECTOR = ".table-wrap, .vz-scroll, .vz-tabs, main table, .prose pre, .prose .katex-display";

  function update(el) {
    var hidden = el.scrollWidth - el.clientWidth;
    el.classList.toggle("scroll-more-right", hidden > 1 && el.scrollLeft < hidden - 1);
    el.classList.toggle("scroll-more-left", hidden > 1 && el.scrollLeft > 1);
  }
  function updateAll() { document.querySelectorAll(SELECTOR).forEach(update); }

  document.addEventListener("scroll", function (e) {
    var el = e.target;
    if (el && el.matches && el.matches(SELECTOR)) update(el);
  }, true);  // scroll does not bubble: listen in the capture phase
  window.addEventListener("resize", updateAll);
  document.addEventListener("DOMContentLoaded", updateAll);
  window.addEventListener("load", updateAll);  // after fonts and typeset math have their final width
  document.addEventListener("htmx:afterSettle", updateAll);
})();
