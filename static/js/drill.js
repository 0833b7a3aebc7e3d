// Drill keyboard loop: Space/Enter reveal, 1–4 grade, u undo, a focuses the answer box.
// Keys never fire while typing in the answer box, except Ctrl/Cmd+Enter (reveal) and Esc (leave the box).
(function () {
  "use strict";

  var shownAt = {};  // review token -> when its front was first shown (for duration_ms)
  var busy = false;  // a drill request is in flight: ignore keys so a held key cannot grade twice

  function root() { return document.getElementById("drill"); }

  function noteShown() {
    var el = root();
    if (el && el.dataset.token && !(el.dataset.token in shownAt)) shownAt[el.dataset.token] = Date.now();
  }

  function submit(form, button) {
    if (!form || (busy && Date.now() - busy < 10000)) return;
    if (button && button.disabled) return;
    // A key pressed right after a swap can beat htmx to the new form: wire it up now (idempotent), or the
    // click would post it as a plain form and reload the page.
    if (window.htmx) window.htmx.process(form);
    // A real click, so htmx sends the clicked button's name=value (requestSubmit(button) would not).
    if (button) button.click(); else if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  function reveal() { var el = root(); if (el) submit(el.querySelector("form.drill-front"), null); }

  function grade(n) {
    var el = root();
    if (!el) return;
    var form = el.querySelector("form.drill-grade");
    if (form) submit(form, form.querySelector('button[name="rating"][value="' + n + '"]'));
  }

  function undo() {
    var el = root();
    if (el) { var b = el.querySelector("#undo-button"); if (b && !b.disabled) submit(b.form, b); }
  }

  document.addEventListener("keydown", function (e) {
    var el = root();
    if (!el) return;
    var phase = el.dataset.phase;
    if (window.isTyping(e.target)) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && phase === "front") { e.preventDefault(); reveal(); }
      else if (e.key === "Escape") { e.target.blur(); el.focus(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    var onControl = e.target && e.target.closest && e.target.closest("button, a, summary");
    if ((e.key === " " || e.key === "Enter") && phase === "front" && !onControl) { e.preventDefault(); reveal(); }
    else if ((e.key === " " || e.key === "Enter") && onControl) { return; }  // let the focused control act
    else if (phase === "back" && e.key >= "1" && e.key <= "4") { e.preventDefault(); grade(e.key); }
    else if (e.key === "u" || e.key === "U") { e.preventDefault(); undo(); }
    else if ((e.key === "a" || e.key === "A") && phase === "front") {
      var box = el.querySelector("#drill-answer");
      if (box) { e.preventDefault(); box.focus(); }
    }
  });

  // duration_ms: from the first time this card's front was shown until the grade is sent.
  document.addEventListener("htmx:configRequest", function (e) {
    var el = root();
    if (!el || !e.detail.elt || !e.detail.elt.classList || !e.detail.elt.classList.contains("drill-grade")) return;
    var start = shownAt[el.dataset.token];
    if (start) e.detail.parameters["duration_ms"] = String(Math.min(Date.now() - start, 86400000));
  });
  document.addEventListener("submit", function (e) {  // the same for a plain (non-htmx) submit
    var el = root();
    if (!el || !e.target.classList.contains("drill-grade")) return;
    var start = shownAt[el.dataset.token];
    var input = e.target.querySelector('input[name="duration_ms"]');
    if (start && input) input.value = String(Math.min(Date.now() - start, 86400000));
  }, true);

  document.addEventListener("htmx:beforeRequest", function (e) {
    if (e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("#drill")) {
      busy = Date.now();
      var el = root();
      if (el) el.classList.add("busy");
    }
  });
  function idle() { busy = false; var el = root(); if (el) el.classList.remove("busy"); }
  document.addEventListener("htmx:afterRequest", idle);
  document.addEventListener("htmx:sendError", idle);
  // htmx:load fires on the freshly swapped-in #drill (the old one is detached by the outerHTML swap).
  document.addEventListener("htmx:load", function (e) {
    if (!e.target || e.target.id !== "drill") return;
    idle();
    restoreDraft();
    restoreUndoneDraft();
    noteShown();
    e.target.focus({ preventScroll: true });
    if (window.scrollY > e.target.offsetTop) e.target.scrollIntoView();
  });
  // Due times stay as the server wrote them, in the study time zone with its name ("（北京时间）"), like
  // every other time in the app (the mock report, history, stats): one zone, never two side by side.

  // The typed answer survives a refresh or a closed tab: kept per shown card (its review token) in
  // localStorage until that card is graded.
  function storage() { try { return window.localStorage; } catch (err) { return null; } }
  function draftKey(el) { return "drill-draft:" + el.dataset.token; }
  function restoreDraft() {
    var el = root(), store = storage();
    if (!el || !store || el.dataset.phase !== "front" || !el.dataset.token) return;
    var box = el.querySelector("#drill-answer"), saved = store.getItem(draftKey(el));
    if (box && saved && !box.value) box.value = saved;
  }
  document.addEventListener("input", function (e) {
    var el = root(), store = storage();
    if (!el || !store || !e.target || e.target.id !== "drill-answer" || !el.dataset.token) return;
    if (e.target.value) store.setItem(draftKey(el), e.target.value); else store.removeItem(draftKey(el));
  });
  // Grading retires the draft, but keeps it aside per question until that question is graded again:
  // undo ("u") brings the card back to its front and the answer comes back with it.
  var UNDO_FLAG = "drill-undo-pending";
  function gradedKey(questionId) { return "drill-graded:" + questionId; }
  var retired = null;  // the card whose draft was retired: a grade passes here twice (submit, then htmx)
  function forgetDraft(form) {
    var el = root(), store = storage();
    if (!el || !store || !form || !form.classList) return;
    if (form.classList.contains("drill-grade")) {
      if (retired === el.dataset.token) return;
      retired = el.dataset.token;
      var text = store.getItem(draftKey(el));
      if (el.dataset.question) {
        if (text) store.setItem(gradedKey(el.dataset.question), text); else store.removeItem(gradedKey(el.dataset.question));
      }
      store.removeItem(draftKey(el));
    } else if (form.classList.contains("drill-undo")) {
      store.setItem(UNDO_FLAG, el.dataset.token || "-");  // the card on show when undo was sent
    }
  }
  function restoreUndoneDraft() {
    var el = root(), store = storage();
    var sentFrom = store && store.getItem(UNDO_FLAG);
    // htmx may report the previous swap as loaded only after "u" was pressed: the card that sent the undo
    // is still on show, so the flag waits for the undo's own answer.
    if (!el || !sentFrom || sentFrom === el.dataset.token) return;
    store.removeItem(UNDO_FLAG);
    if (el.dataset.phase !== "front" || !el.dataset.question || !el.dataset.token) return;
    if (!el.querySelector('#drill-flash[data-kind="undone"]')) return;  // the undo was refused
    var text = store.getItem(gradedKey(el.dataset.question));
    var box = el.querySelector("#drill-answer");
    if (!text || !box || box.value) return;
    box.value = text;
    store.setItem(draftKey(el), text);  // from now on it is this card's draft again
    store.removeItem(gradedKey(el.dataset.question));
  }
  document.addEventListener("htmx:beforeRequest", function (e) { forgetDraft(e.detail.elt); });
  document.addEventListener("submit", function (e) { forgetDraft(e.target); }, true);

  document.addEventListener("DOMContentLoaded", function () {
    restoreDraft();
    restoreUndoneDraft();  // an undo without htmx (plain form, redirect) lands here
    noteShown();
    var el = root();
    if (el) el.focus({ preventScroll: true });
  });
  // A page restored from the back/forward cache may show a card graded since: reload to get the current one.
  window.addEventListener("pageshow", function (e) { if (e.persisted && root()) window.location.reload(); });
})();
