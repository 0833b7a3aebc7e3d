// Mock interview page behaviour: the countdown (a display of the server's figure), hard-stop auto-submit,
// Tab in the code editor, Ctrl+Enter, local drafts that survive a refresh, and key-point highlighting.
(function () {
  "use strict";

  function fmt(seconds) {
    var sign = seconds < 0 ? "+" : "";
    var s = Math.abs(Math.trunc(seconds));
    return sign + Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function storage() {
    try { return window.localStorage; } catch (err) { return null; }
  }

  function setupTimer(form) {
    var timer = document.getElementById("mock-timer");
    var value = document.getElementById("mock-timer-value");
    var label = document.getElementById("mock-timer-label");
    if (!timer || !value) return;
    var remaining0 = parseInt(timer.dataset.remaining, 10);
    var allowed = parseInt(timer.dataset.allowed, 10);
    var hardStop = timer.dataset.hardStop === "1";
    var t0 = performance.now();
    var submitted = false;

    function remaining() { return remaining0 - (performance.now() - t0) / 1000; }

    form.addEventListener("submit", function () {
      submitted = true;
      var used = Math.max(0, Math.round(allowed - remaining()));
      var field = form.querySelector("input[name=client_seconds]");
      if (field) field.value = String(used);
    });

    function tick() {
      var left = remaining();
      value.textContent = left >= 0 ? fmt(Math.ceil(left)) : fmt(left);
      timer.classList.toggle("low", left >= 0 && left <= 30);
      timer.classList.toggle("overtime", left < 0);
      // "+1:23" under "剩余时间" would read as time left: name the overrun.
      if (label) label.textContent = left < 0 ? "已超时 Overtime" : "剩余时间";
      if (left <= 0 && hardStop && !submitted) {
        submitted = true;
        value.textContent = "0:00";
        form.requestSubmit ? form.requestSubmit() : form.submit();
        return;
      }
      window.setTimeout(tick, 250);
    }
    tick();
  }

  function setupEditor(textarea, form) {
    var key = textarea.dataset.draftKey;
    var store = storage();
    if (key && store) {
      var draft = store.getItem(key);
      if (draft && !textarea.value) textarea.value = draft;
      textarea.addEventListener("input", function () { store.setItem(key, textarea.value); });
    }
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit ? form.requestSubmit() : form.submit();
        return;
      }
      if (event.key === "Tab" && textarea.classList.contains("code") && !event.ctrlKey && !event.altKey) {
        event.preventDefault();
        var start = textarea.selectionStart;
        var end = textarea.selectionEnd;
        textarea.setRangeText("    ", start, end, "end");
        textarea.dispatchEvent(new Event("input"));
      }
    });
    textarea.focus();
  }

  function clearDrafts(mockId, keepKey) {
    var store = storage();
    if (!store) return;
    var prefix = "mock-draft:" + mockId + ":";
    for (var i = store.length - 1; i >= 0; i--) {
      var k = store.key(i);
      if (k && k.indexOf(prefix) === 0 && k !== keepKey) store.removeItem(k);
    }
  }

  function setupHighlights() {
    var answer = document.getElementById("your-answer");
    if (!answer) return;
    function focus(index, on) {
      answer.querySelectorAll("mark[data-kp]").forEach(function (mark) {
        if (mark.dataset.kp.split(" ").indexOf(index) >= 0) mark.classList.toggle("focus", on);
      });
    }
    document.addEventListener("mouseover", function (event) {
      var kp = event.target.closest && event.target.closest(".mock-kp");
      answer.querySelectorAll("mark.focus").forEach(function (m) { m.classList.remove("focus"); });
      if (kp) focus(kp.dataset.kp, true);
    });
    document.addEventListener("focusin", function (event) {
      var kp = event.target.closest && event.target.closest(".mock-kp");
      answer.querySelectorAll("mark.focus").forEach(function (m) { m.classList.remove("focus"); });
      if (kp) focus(kp.dataset.kp, true);
    });
  }

  // After a submit the server redirects to #review. Scrolling the review itself to the top would push the
  // question out of view (and, at desktop width, slide the review under the sticky header): bring the
  // question's start just below the header instead (scroll-margin-top in mock.css), so question, answer
  // and verdicts read top to bottom.
  function showQuestionWithReview() {
    if (window.location.hash !== "#review") return;
    var article = document.querySelector(".mock-question");
    if (article && document.getElementById("review")) article.scrollIntoView({ block: "start" });
  }
  window.addEventListener("load", function () {
    showQuestionWithReview();
    // the browser may apply the #review fragment once more after load; settle on the question
    window.requestAnimationFrame(showQuestionWithReview);
  });

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("mock-session");
    if (!root) return;
    var form = document.getElementById("answer-form");
    var textarea = document.getElementById("answer-text");
    if (form && textarea) {
      clearDrafts(root.dataset.mockId, textarea.dataset.draftKey);
      setupEditor(textarea, form);
      setupTimer(form);  // the draft is cleared once the server shows this question as answered
    } else {
      clearDrafts(root.dataset.mockId, null);
    }
    var followUp = document.getElementById("follow-up-text");
    if (followUp) {
      followUp.focus();
      followUp.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          document.getElementById("follow-up-submit").click();
        }
      });
    }
    setupHighlights();
  });
})();
