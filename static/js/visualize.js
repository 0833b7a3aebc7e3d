// Visualizer page behaviour: hover read-outs, line-view focus and head toggles, SVG download, character count.
// Everything else (recomputing views) is server-rendered and swapped in by htmx.
(function () {
  "use strict";

  // Recompute as the learner types, after a 300-ms pause and not in the middle of an IME composition
  // (pinyin → 汉字): the form listens for "vz-input" (hx-trigger). The pause is kept here rather than in
  // htmx (delay:300ms) so that a tab or link clicked during it can cancel it; the composition test is
  // here because an htmx event filter would need eval, which the Content-Security-Policy forbids.
  var DEBOUNCE_MS = 300;
  var pending = null;
  function cancelRecompute() { clearTimeout(pending); pending = null; }
  function requestRecompute(e) {
    var field = e.target;
    if (e.isComposing || !field.closest || !field.closest("#vz-form")) return;
    cancelRecompute();
    pending = setTimeout(function () {
      pending = null;
      var target = field.isConnected ? field : document.getElementById("vz-form");
      if (target) target.dispatchEvent(new CustomEvent("vz-input", { bubbles: true }));
    }, DEBOUNCE_MS);
  }
  document.addEventListener("input", requestRecompute);
  document.addEventListener("compositionend", requestRecompute);
  document.addEventListener("submit", function (e) { if (e.target && e.target.id === "vz-form") cancelRecompute(); }, true);

  // A tab or link in the panel carries the permalink of the view as it was drawn. If the learner has
  // typed or picked something since (the pending recompute above), the link takes those edits along,
  // except for a parameter the link itself changes (a thumbnail's layer and head, a prompt's sentence),
  // and the pending recompute is dropped: it would otherwise replace the click (hx-sync) and the learner
  // would stay on the old view.
  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt, form = document.getElementById("vz-form");
    if (!form || !elt || elt === form || !elt.closest || !elt.closest("#vz-panel") || evt.detail.verb !== "get") return;
    cancelRecompute();
    var url = new URL(evt.detail.path, window.location.origin);
    // Every tab's href holds the state the panel was drawn with.
    var tab = document.querySelector("#vz-panel .vz-tabs a[href]");
    var drawn = tab ? new URL(tab.href).searchParams : new URLSearchParams();
    ["text", "task", "kind", "layer", "head"].forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (!field || typeof field.value !== "string" || !url.searchParams.has(name)) return;
      var was = drawn.get(name);
      if (field.value !== was && url.searchParams.get(name) === was) url.searchParams.set(name, field.value);
    });
    evt.detail.path = url.pathname + url.search;
    // The form asks for this view from now on, even before the new controls arrive.
    var view = form.elements.namedItem("view");
    var slug = url.pathname.split("/")[2];
    if (view && slug) view.value = slug;
  });

  var tip = null;
  function tooltip() {
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "vz-tip";
      tip.id = "vz-tip";
      tip.setAttribute("role", "status");
      tip.hidden = true;
      document.body.appendChild(tip);
    }
    return tip;
  }
  function showTip(text, evt) {
    var t = tooltip();
    t.textContent = text;
    t.hidden = false;
    var x = Math.min(evt.clientX + 14, window.innerWidth - t.offsetWidth - 8);
    t.style.left = Math.max(4, x) + "px";
    t.style.top = evt.clientY + 16 + "px";
  }
  function hideTip() { if (tip) tip.hidden = true; }

  function parseList(svg, name) {
    if (!svg["_" + name]) {
      try { svg["_" + name] = JSON.parse(svg.getAttribute("data-" + name) || "null"); } catch (e) { svg["_" + name] = null; }
    }
    return svg["_" + name];
  }

  function clearHighlight(svg) {
    svg.querySelectorAll(".hl-row, .hl-col").forEach(function (el) { el.classList.remove("hl-row", "hl-col"); });
  }

  // Heatmaps with one <rect> per cell: the value is in its <title>, the row in the parent <g data-r>.
  function heatmapHover(evt) {
    var rect = evt.target;
    var svg = rect.ownerSVGElement;
    var g = rect.parentNode;
    if (!g || !g.hasAttribute || !g.hasAttribute("data-r")) return false;
    var i = +g.getAttribute("data-r");
    var j = Array.prototype.indexOf.call(g.children, rect);
    var rows = parseList(svg, "rows") || [], cols = parseList(svg, "cols") || [];
    var title = rect.querySelector("title");
    clearHighlight(svg);
    var rl = svg.querySelectorAll(".rl text")[i], cl = svg.querySelectorAll(".cl text")[j];
    if (rl) rl.classList.add("hl-row");
    if (cl) cl.classList.add("hl-col");
    showTip((rows[i] || i) + " → " + (cols[j] || j) + " : " + (title ? title.textContent : ""), evt);
    return true;
  }

  // Quantised heatmaps carry their values in data-m; find the cell under the pointer.
  function quantisedHover(evt, svg) {
    var m = parseList(svg, "m");
    if (!m) return false;
    var pt = svg.createSVGPoint();
    pt.x = evt.clientX; pt.y = evt.clientY;
    var ctm = svg.getScreenCTM();
    if (!ctm) return false;
    var p = pt.matrixTransform(ctm.inverse());
    var j = Math.floor((p.x - +svg.getAttribute("data-x0")) / +svg.getAttribute("data-cw"));
    var i = Math.floor((p.y - +svg.getAttribute("data-y0")) / +svg.getAttribute("data-ch"));
    if (i < 0 || j < 0 || i >= m.length || j >= m[i].length) { hideTip(); return true; }
    showTip("[" + i + ", " + j + "] = " + m[i][j], evt);
    return true;
  }

  document.addEventListener("mouseover", function (evt) {
    var el = evt.target;
    if (!el || !el.closest) return;
    var svg = el.closest("svg.vz-svg");
    if (!svg) return;
    var kind = svg.getAttribute("data-kind");
    if (kind === "heatmap" && el.tagName === "use" && heatmapHover(evt)) return;
    if (kind === "lines" && el.classList.contains("tok")) { focusToken(svg, el); return; }
    var title = el.querySelector && el.querySelector(":scope > title");
    if (title && (el.tagName === "rect" || el.tagName === "circle" || el.tagName === "line")) showTip(title.textContent, evt);
  });
  document.addEventListener("mousemove", function (evt) {
    var svg = evt.target && evt.target.closest && evt.target.closest("svg.vz-svg[data-kind=quantised]");
    if (svg) quantisedHover(evt, svg);
  });
  document.addEventListener("mouseout", function (evt) {
    var svg = evt.target && evt.target.closest && evt.target.closest("svg.vz-svg");
    if (!svg) return;
    if (evt.relatedTarget && svg.contains(evt.relatedTarget) && svg.getAttribute("data-kind") !== "lines") return;
    hideTip();
    clearHighlight(svg);
    if (svg.getAttribute("data-kind") === "lines" && !svg._pinned) unfocus(svg);
  });

  // Line view: hovering (or tapping) a token shows only its lines.
  function unfocus(svg) {
    svg.classList.remove("focus");
    svg.querySelectorAll(".on").forEach(function (el) { el.classList.remove("on"); });
  }
  function focusToken(svg, tok) {
    unfocus(svg);
    var side = tok.classList.contains("q") ? "q" : "k";
    var i = tok.getAttribute("data-i");
    svg.classList.add("focus");
    tok.classList.add("on");
    svg.querySelectorAll("line[data-" + side + '="' + i + '"]').forEach(function (ln) {
      ln.classList.add("on");
      var other = svg.querySelector(".tok." + (side === "q" ? "k" : "q") + '[data-i="' + ln.getAttribute("data-" + (side === "q" ? "k" : "q")) + '"]');
      if (other) other.classList.add("on");
    });
  }

  document.addEventListener("click", function (evt) {
    var el = evt.target;
    if (!el || !el.closest) return;
    var tok = el.closest("svg.vz-svg[data-kind=lines] .tok");
    if (tok) {
      var svg = tok.ownerSVGElement;
      if (svg._pinned === tok) { svg._pinned = null; unfocus(svg); } else { svg._pinned = tok; focusToken(svg, tok); }
      return;
    }
    var dl = el.closest("a.vz-dl");
    if (dl) {
      evt.preventDefault();
      var fig = dl.closest("figure");
      var chart = fig && fig.querySelector("svg");
      if (chart) download(chart, dl.getAttribute("data-filename") || "chart.svg");
      return;
    }
    var all = el.closest("a.vz-dl-all");
    if (all) {
      evt.preventDefault();
      var view = all.closest(".vz-view");
      (view ? view.querySelectorAll("svg.vz-svg") : []).forEach(function (s, k) { download(s, (s.id || "chart-" + k) + ".svg"); });
    }
  });

  document.addEventListener("change", function (evt) {
    var box = evt.target;
    if (!box.matches || !box.matches(".vz-heads input[type=checkbox]")) return;
    var wrap = document.querySelector(box.closest(".vz-heads").getAttribute("data-target"));
    var g = wrap && wrap.querySelector(".head.h" + box.getAttribute("data-head"));
    if (g) g.classList.toggle("off", !box.checked);
  });

  // "下载 SVG": serialise the chart as it is on screen into a standalone file.
  function download(svg, filename) {
    var clone = svg.cloneNode(true);
    clone.querySelectorAll(".hl-row, .hl-col, .on").forEach(function (el) { el.classList.remove("hl-row", "hl-col", "on"); });
    clone.classList.remove("focus");
    var text = '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(clone);
    var url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml;charset=utf-8" }));
    var a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }
  window.vzDownload = download;

  // Live character count against the model's limit: the tokenizer drops control (Cc) and format (Cf)
  // characters such as zero-width joiners, so they are not counted here either.
  function updateCount() {
    var input = document.getElementById("vz-text"), out = document.getElementById("vz-count");
    if (!input || !out) return;
    var n = Array.from(input.value.replace(/[\p{Cc}\p{Cf}]/gu, "")).length;
    var max = +out.getAttribute("data-max");
    out.textContent = n + " / " + max;
    out.classList.toggle("over", n > max);
  }
  document.addEventListener("input", function (evt) { if (evt.target && evt.target.id === "vz-text") updateCount(); });
  document.addEventListener("DOMContentLoaded", updateCount);
  // On a phone the tabs are one sideways-scrolling row: bring the current tab into view.
  function showCurrentTab() {
    var tab = document.querySelector('#vz-panel .vz-tabs a[aria-current="page"]');
    var row = tab && tab.parentNode;
    if (!row || row.scrollWidth <= row.clientWidth) return;
    row.scrollLeft += tab.getBoundingClientRect().left - row.getBoundingClientRect().left - 24;
  }
  document.addEventListener("DOMContentLoaded", showCurrentTab);
  document.addEventListener("htmx:afterSettle", showCurrentTab);
  document.addEventListener("htmx:afterSwap", function () { hideTip(); });
  // A link or tab can replace the text box out of band, and Back restores an older page: recount.
  document.addEventListener("htmx:afterSettle", updateCount);
  document.addEventListener("htmx:historyRestore", updateCount);
})();
