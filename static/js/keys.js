// Keyboard help on every page: "?" opens an overlay listing this page's keys (Esc or "?" closes it),
// "/" jumps to the page's search box, and the mock's key-point verdicts can be flipped from the keyboard
// (1–9 pick a key point, c / p / m mark it covered / partly / missed, ↑ / ↓ move between key points).
// No key here acts while the learner is typing in a text box, and none during an IME composition.
(function () {
  "use strict";

  // Each section shows when its test finds its page's elements (so a page that gains a widget gains its keys).
  var SECTIONS = [
    {
      title: "闪卡 Drill",
      when: function () { return document.getElementById("drill"); },
      keys: [
        [["Space", "或", "Enter"], "显示答案 Reveal"],
        [["a"], "聚焦作答框，先写再看 Focus the answer box"],
        [["Ctrl", "+", "Enter"], "在作答框中：显示答案"],
        [["Esc"], "离开作答框 Leave the answer box"],
        [["1", "–", "4"], "评分：再来 / 困难 / 良好 / 简单 Again / Hard / Good / Easy"],
        [["u"], "撤销上一次评分 Undo"]
      ]
    },
    {
      title: "模拟面试 · 作答 Mock answer",
      when: function () { return document.getElementById("answer-text") || document.querySelector(".mock-follow-up textarea"); },
      keys: [
        [["Ctrl", "+", "Enter"], "提交回答 Submit the answer"],
        [["Tab"], "在代码框中：插入 4 个空格"]
      ]
    },
    {
      title: "模拟面试 · 要点核对 Key points",
      when: function () { return document.querySelector(".mock-kp-list"); },
      keys: [
        [["1", "…", "9"], "选中第 N 条要点 Pick key point N"],
        [["↑", "或", "↓"], "上一条 / 下一条要点"],
        [["c"], "选中的要点改判为 覆盖 covered"],
        [["p"], "改判为 部分 partly"],
        [["m"], "改判为 遗漏 missed"]
      ]
    },
    {
      title: "手撕代码 · 编辑器 Code editor",
      when: function () { return document.getElementById("code-editor"); },
      keys: [
        [["Ctrl", "+", "Enter"], "运行测试 Run the tests（Mac：Cmd+Enter）"],
        [["Tab"], "缩进 4 个空格（选中多行时整体缩进）"],
        [["Shift", "+", "Tab"], "取消缩进 Dedent"],
        [["Esc"], "离开编辑器，焦点移到“运行测试”按钮 Leave the editor"]
      ]
    },
    {
      title: "搜索 Search",
      when: function () { return document.getElementById("search"); },
      keys: [
        [["/"], "跳到搜索框 Focus search"],
        [["Enter"], "在搜索框中：立即搜索"]
      ]
    }
  ];
  var JOINERS = ["+", "…", "–", "或"];  // shown as text between the keys, not as keys
  var GLOBAL = [
    [["?"], "打开 / 关闭本帮助 Keyboard help"],
    [["Esc"], "关闭本帮助 Close"]
  ];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text) node.textContent = text;
    return node;
  }

  function keyList(rows) {
    var dl = el("dl", { "class": "keys-list" });
    rows.forEach(function (row) {
      var dt = el("dt");
      row[0].forEach(function (k) {
        if (JOINERS.indexOf(k) !== -1) dt.appendChild(document.createTextNode(k === "或" ? " 或 " : k));
        else dt.appendChild(el("kbd", null, k));
      });
      dl.appendChild(dt);
      dl.appendChild(el("dd", null, row[1]));
    });
    return dl;
  }

  var dialog = null;

  function build() {
    var d = el("dialog", { id: "keys-help", "class": "keys-help", "aria-labelledby": "keys-help-title" });
    var head = el("div", { "class": "keys-help-head" });
    head.appendChild(el("h2", { id: "keys-help-title" }, "键盘快捷键 Keyboard shortcuts"));
    var close = el("button", { type: "button", "class": "secondary keys-help-close", "aria-label": "关闭 Close" }, "关闭 ");
    close.appendChild(el("kbd", null, "Esc"));
    close.addEventListener("click", hide);
    head.appendChild(close);
    d.appendChild(head);
    var shown = SECTIONS.filter(function (s) { return s.when(); });
    shown.forEach(function (s) {
      var section = el("section", { "class": "keys-section" });
      section.appendChild(el("h3", null, "本页 · " + s.title));
      section.appendChild(keyList(s.keys));
      d.appendChild(section);
    });
    if (!shown.length) d.appendChild(el("p", { "class": "muted" }, "本页没有专用快捷键。"));
    var global = el("section", { "class": "keys-section" });
    global.appendChild(el("h3", null, "全站 Everywhere"));
    global.appendChild(keyList(GLOBAL));
    global.appendChild(el("p", { "class": "muted small" }, "在输入框里打字时，这些键只是输入文字。"));
    d.appendChild(global);
    d.addEventListener("click", function (e) { if (e.target === d) hide(); });  // a click on the backdrop
    d.addEventListener("cancel", function (e) { e.preventDefault(); hide(); });  // Esc
    return d;
  }

  function isOpen() { return !!(dialog && dialog.open); }

  function show() {
    if (dialog) dialog.remove();
    dialog = build();  // rebuilt each time: htmx may have swapped in a different widget since
    document.body.appendChild(dialog);
    if (dialog.showModal) dialog.showModal(); else dialog.setAttribute("open", "");
    var close = dialog.querySelector(".keys-help-close");
    if (close) close.focus();
  }

  function hide() {
    if (!dialog) return;
    if (dialog.close && dialog.open) dialog.close(); else dialog.removeAttribute("open");
  }

  // ---- the mock's key points: pick one, flip its verdict
  function keyPoints() { return Array.prototype.slice.call(document.querySelectorAll(".mock-kp-list .mock-kp")); }
  var lastKeyPoint = null;  // data-kp of the key point last flipped: focus returns to it after the swap

  function currentKeyPoint() {
    var active = document.activeElement;
    return active && active.closest ? active.closest(".mock-kp-list .mock-kp") : null;
  }

  function pick(item) {
    if (!item) return;
    item.focus();
    item.scrollIntoView({ block: "nearest" });
  }

  function flip(verdict) {
    var item = currentKeyPoint();
    if (!item) { pick(keyPoints()[0]); return; }  // nothing picked yet: pick the first, change nothing
    var button = item.querySelector('button.verdict-btn[value="' + verdict + '"]');
    if (!button || button.disabled || button.classList.contains("selected")) return;
    lastKeyPoint = item.getAttribute("data-kp");
    button.click();  // the same request as a click (htmx, or a plain submit without JavaScript)
  }

  document.addEventListener("htmx:afterSettle", function () {
    if (lastKeyPoint === null) return;
    var again = document.querySelector('.mock-kp-list .mock-kp[data-kp="' + lastKeyPoint + '"]');
    lastKeyPoint = null;
    if (again) again.focus();
  });

  function mockKeys(e) {
    var items = keyPoints();
    if (!items.length) return false;
    var key = e.key;
    if (key >= "1" && key <= "9") {
      var n = Number(key);
      if (n > items.length) return false;
      pick(items[n - 1]);
      return true;
    }
    if (key === "ArrowDown" || key === "ArrowUp") {
      var at = items.indexOf(currentKeyPoint());
      if (at === -1) return false;  // arrows scroll the page unless a key point is picked
      pick(items[Math.max(0, Math.min(items.length - 1, at + (key === "ArrowDown" ? 1 : -1)))]);
      return true;
    }
    var verdict = { c: "covered", p: "partly", m: "missed" }[key.toLowerCase()];
    if (verdict) { flip(verdict); return true; }
    return false;
  }

  // Capture phase on window: runs before the pages' own key handlers, so none of them acts behind the overlay.
  window.addEventListener("keydown", function (e) {
    if (isOpen()) {
      if (e.key === "Escape" || e.key === "?") { e.preventDefault(); hide(); }
      if (e.key !== "Tab") e.stopImmediatePropagation();
      return;
    }
    if (e.isComposing || e.ctrlKey || e.metaKey || e.altKey || window.isTyping(e.target)) return;
    if (e.key === "?") { e.preventDefault(); e.stopImmediatePropagation(); show(); return; }
    if (e.key === "/") {
      var search = document.getElementById("search");
      if (search) { e.preventDefault(); search.focus(); search.select(); }
      return;
    }
    if (e.repeat) return;
    if (mockKeys(e)) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);
})();
