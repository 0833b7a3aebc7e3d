// Study notes: the table of contents starts folded on a phone (it stays a sticky column on a wide
// screen), folds again after a jump on a phone, and marks the section being read.
(function () {
  "use strict";

  var NARROW = "(max-width: 1099px)";

  document.addEventListener("DOMContentLoaded", function () {
    var toc = document.getElementById("note-toc");
    if (!toc) return;
    var narrow = window.matchMedia(NARROW);
    if (narrow.matches) toc.open = false;
    narrow.addEventListener("change", function (e) { toc.open = !e.matches; });
    toc.addEventListener("click", function (e) {
      if (e.target.closest && e.target.closest("a") && narrow.matches) toc.open = false;
    });

    var links = {};
    toc.querySelectorAll("a[href^='#']").forEach(function (a) {
      links[decodeURIComponent(a.getAttribute("href").slice(1))] = a;
    });
    if (!("IntersectionObserver" in window)) return;
    var current = null;
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting || !links[entry.target.id]) return;
        if (current) current.removeAttribute("aria-current");
        current = links[entry.target.id];
        current.setAttribute("aria-current", "location");
      });
    }, { rootMargin: "0px 0px -70% 0px" });
    document.querySelectorAll(".note h2[id], .note h3[id]").forEach(function (h) { observer.observe(h); });
  });
})();
