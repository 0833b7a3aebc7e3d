// The hand-coding lab's editor (/code/{slug}): CodeMirror 5 over the form's textarea, so the page still
// submits a plain form without JavaScript. Tab indents 4 spaces, Shift-Tab dedents, Ctrl/Cmd+Enter runs;
// the draft is kept in localStorage per exercise and survives a reload; "恢复初始代码" brings the starter back.
(function () {
  "use strict";

  var DRAFT_PREFIX = "codelab-draft:";

  function storage() {
    try { return window.localStorage; } catch (err) { return null; }  // blocked storage: no drafts, still usable
  }

  function submitRun(form) {
    var button = document.getElementById("run-button");
    if (button && button.disabled) return;
    if (form.requestSubmit) form.requestSubmit(button || undefined); else if (button) button.click();
  }

  function setUpEditor(root) {
    var textarea = document.getElementById("code-editor");
    var form = document.getElementById("run-form");
    if (!textarea || !form) return;
    var slug = root.getAttribute("data-slug");
    var key = DRAFT_PREFIX + slug;
    var store = storage();
    var starter = document.getElementById("starter-code");
    var starterText = starter ? starter.value : "";
    var state = document.getElementById("draft-state");
    var reset = document.getElementById("reset-code");

    // A page rendered from a plain-form run shows the code that was run; otherwise the saved draft wins.
    if (store && textarea.getAttribute("data-submitted") !== "1") {
      var draft = store.getItem(key);
      if (draft !== null && draft !== textarea.value) {
        textarea.value = draft;
        if (state) state.textContent = "已恢复上次的草稿";
      }
    }

    function saveDraft(text) {
      if (!store) return;
      try {
        if (text === starterText) store.removeItem(key); else store.setItem(key, text);
      } catch (err) { /* quota: keep going without a draft */ }
    }

    var cm = null;
    if (window.CodeMirror) {
      cm = window.CodeMirror.fromTextArea(textarea, {
        mode: { name: "python", version: 3 },
        lineNumbers: true,
        indentUnit: 4,
        tabSize: 4,
        indentWithTabs: false,
        matchBrackets: true,
        viewportMargin: Infinity,
        screenReaderLabel: "代码编辑器 Code editor",
        extraKeys: {
          "Tab": function (editor) {
            if (editor.somethingSelected()) editor.indentSelection("add");
            else editor.replaceSelection("    ", "end", "+input");
          },
          "Shift-Tab": function (editor) { editor.indentSelection("subtract"); },
          "Ctrl-Enter": function () { submitRun(form); },
          "Cmd-Enter": function () { submitRun(form); },
          // Leave the editor with the keyboard (Tab is taken by indentation): Esc moves focus to the buttons.
          "Esc": function (editor) {
            var next = document.getElementById("run-button");
            if (!next || next.disabled) next = document.getElementById("reset-code");
            if (next && !next.hidden) next.focus(); else editor.getInputField().blur();
          }
        }
      });
      cm.getWrapperElement().id = "code-editor-cm";
      var timer = null;
      cm.on("change", function (editor) {
        editor.save();  // the textarea is what the form (and htmx) submit
        if (timer) clearTimeout(timer);
        timer = setTimeout(function () {
          saveDraft(editor.getValue());
          if (state) state.textContent = "草稿已保存";
        }, 250);
      });
      window.codelabEditor = cm;  // for tests and the console
    } else {
      textarea.addEventListener("input", function () { saveDraft(textarea.value); });
      textarea.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submitRun(form); }
      });
    }
    // Save on submit too (a run right after typing, before the debounce fires).
    form.addEventListener("submit", function () {
      if (cm) cm.save();
      saveDraft(textarea.value);
    });

    if (reset) {
      reset.hidden = false;
      reset.addEventListener("click", function () {
        var current = cm ? cm.getValue() : textarea.value;
        if (current !== starterText && !window.confirm("放弃当前代码，恢复初始代码？(Discard your code and restore the starter code?)")) return;
        if (cm) { cm.setValue(starterText); cm.save(); cm.focus(); } else { textarea.value = starterText; }
        if (store) store.removeItem(key);
        if (state) state.textContent = "已恢复初始代码";
      });
    }
  }

  // Hints one at a time: each next hint appears once the one before it has been opened.
  function setUpHints() {
    var hints = Array.prototype.slice.call(document.querySelectorAll("#hints details.hint"));
    hints.forEach(function (hint, i) {
      if (i > 0) hint.hidden = true;
      hint.addEventListener("toggle", function () {
        if (hint.open && hints[i + 1]) hints[i + 1].hidden = false;
      });
    });
  }

  // 503 (runner busy or off) carries the page's explanation: show it instead of htmx's silent error.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr && xhr.status === 503 && evt.detail.target && evt.detail.target.id === "run-results") {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  // A phone shows the results below the fold: bring the verdict into view (nearest edge, so a wide screen that
  // already shows it does not jump away from the editor).
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (!evt.detail.target || evt.detail.target.id !== "run-results") return;
    var verdict = document.getElementById("run-verdict") || document.getElementById("run-refused");
    if (verdict && verdict.getBoundingClientRect().top > window.innerHeight) {
      verdict.scrollIntoView({ block: "nearest" });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("exercise");
    if (!root) return;
    setUpEditor(root);
    setUpHints();
  });
})();
