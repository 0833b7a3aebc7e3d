// Question bank search: search as the learner types, but never in the middle of an IME composition
// (pinyin "wei zhi" before 位置 is picked), and keep typing out of the browser history.
(function () {
  "use strict";

  var DEBOUNCE_MS = 300;
  var timer = null;

  // The filter form listens for "qs-search" (hx-trigger), sent here after a 300-ms pause. The pause is
  // kept here rather than in htmx (delay:300ms) so that Enter can cancel it, and the composition test is
  // here because an htmx event filter would need eval, which the Content-Security-Policy forbids.
  function requestSearch(e) {
    var box = e.target;
    if (e.isComposing || !box || box.id !== "search") return;
    clearTimeout(timer);
    timer = setTimeout(function () {
      timer = null;
      box.dispatchEvent(new CustomEvent("qs-search", { bubbles: true }));
    }, DEBOUNCE_MS);
  }
  document.addEventListener("input", requestSearch);
  document.addEventListener("compositionend", requestSearch);

  // The box's own "change" (Enter, leaving the box) would search a second time and abort the submit
  // (hx-sync); the form's "change" trigger is for the category and difficulty selects.
  document.addEventListener("change", function (e) {
    if (e.target && e.target.id === "search") e.stopPropagation();
  }, true);

  // Enter within the pause searches at once; the pending search would only repeat it (and abort it).
  document.addEventListener("submit", function (e) {
    if (e.target && e.target.id === "question-filter") { clearTimeout(timer); timer = null; }
  }, true);

  // The form replaces the current history entry (hx-replace-url), so Back never walks through a word
  // letter by letter. An explicit choice (Enter, or picking a category or difficulty) adds an entry,
  // unless the address already shows exactly that search.
  document.addEventListener("htmx:beforeHistoryUpdate", function (evt) {
    var cfg = evt.detail.requestConfig;
    var history = evt.detail.history;
    if (!cfg || !history || !cfg.elt || cfg.elt.id !== "question-filter") return;
    var trigger = cfg.triggeringEvent;
    var target = trigger && trigger.target;
    var explicit = trigger && (trigger.type === "submit" || (trigger.type === "change" && target && target.tagName === "SELECT"));
    var here = window.location.pathname + window.location.search;
    history.type = explicit && history.path !== here ? "push" : "replace";
  });
})();
