// Site-wide behaviour: typeset math with the vendored KaTeX (loaded on first need) after every page load and htmx swap,
// and send the CSRF token with htmx writes.
(function () {
  "use strict";

  // KaTeX is loaded on first need (a page or fragment with math), from the versioned URLs in <meta name="katex">.
  var katexLoading = null;
  function loadKatex() {
    if (!katexLoading) {
      var meta = document.querySelector('meta[name="katex"]');
      katexLoading = new Promise(function (resolve, reject) {
        if (!meta) { reject(new Error("no KaTeX URLs")); return; }
        var css = document.createElement("link");
        css.rel = "stylesheet";
        css.href = meta.getAttribute("data-css");
        document.head.appendChild(css);
        var script = document.createElement("script");
        script.src = meta.getAttribute("data-js");
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return katexLoading;
  }

  function renderMath(root) {
    if (!root || !root.querySelectorAll || !root.querySelector(".math:not([data-typeset])")) return;
    if (!window.katex) {
      loadKatex().then(function () { renderMath(root); }, function () { /* math stays as LaTeX source */ });
      return;
    }
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

  // True while the learner is typing in a text box: the pages' key handlers (drill.js, keys.js) stand aside.
  window.isTyping = function (target) {
    return !!(target && target.closest && target.closest("textarea, input, select, [contenteditable=''], [contenteditable='true']"));
  };

  // Every htmx write carries the page's CSRF token as a header (forms also hold it as a hidden field,
  // for when JavaScript is off); the server refuses writes without it (app/csrf.py).
  document.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && evt.detail.verb !== "get") {
      evt.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
    }
  });

  // A refused write (403: the page is older than the install's secret, or the request looked cross-site)
  // is not swapped in by htmx; say so instead of doing nothing.
  document.addEventListener("htmx:responseError", function (evt) {
    if (!evt.detail.xhr || evt.detail.xhr.status !== 403) return;
    var main = document.getElementById("main");
    if (!main || document.getElementById("write-refused")) return;
    var notice = document.createElement("p");
    notice.id = "write-refused";
    notice.className = "error";
    notice.setAttribute("role", "alert");
    notice.textContent = "操作被拒绝，数据没有改动：请刷新页面后重试。(Refused, nothing was changed: reload the page and try again.)";
    main.insertBefore(notice, main.firstChild);
  });

  document.addEventListener("DOMContentLoaded", function () {
    renderMath(document.body);
    if (window.htmx) {
      window.htmx.onLoad(function (elt) { renderMath(elt); });
    }
  });
})();
