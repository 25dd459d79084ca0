// Keyboard shortcuts and "select all" for the moderation queue. The page works without
// them: every row has its own buttons, and "all on this page" is a choice of the form.
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) return;
  var rows = Array.prototype.slice.call(form.querySelectorAll("tr[data-signature]"));
  var help = document.getElementById("shortcut-help");
  var current = -1;

  // A header checkbox that selects every row on the page.
  var headerCell = form.querySelector("table.queue thead th");
  if (headerCell) {
    var all = document.createElement("input");
    all.type = "checkbox";
    all.id = "select-page";
    all.setAttribute("aria-label", headerCell.textContent.trim() + " — " + rows.length);
    headerCell.appendChild(all);
    all.addEventListener("change", function () {
      rows.forEach(function (row) {
        var box = row.querySelector("input[type=checkbox][name=signature]");
        if (box) box.checked = all.checked;
      });
    });
  }
  var hint = form.querySelector(".shortcut-hint");
  if (hint) hint.hidden = false;

  function focusRow(index) {
    if (!rows.length) return;
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (current >= 0 && rows[current]) rows[current].classList.remove("current");
    current = index;
    var row = rows[current];
    row.classList.add("current");
    var box = row.querySelector("input[type=checkbox]");
    if (box) box.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function press(key) {
    if (current < 0) return;
    var button = rows[current].querySelector("button[data-key='" + key + "']");
    if (button) button.click();
  }

  function toggleHelp(show) {
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
    if (!help.hidden) {
      var close = help.querySelector("[data-close]");
      if (close) close.focus();
    }
  }

  if (help) {
    var close = help.querySelector("[data-close]");
    if (close) close.addEventListener("click", function () { toggleHelp(false); });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var tag = target && target.tagName;
    var typing =
      tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && !/^(checkbox|radio|button|submit)$/.test(target.type)) ||
      (target && target.isContentEditable);
    if (typing) return;
    if (event.key === "Escape" && help && !help.hidden) {
      toggleHelp(false);
      return;
    }
    if (event.key === "?") {
      event.preventDefault();
      toggleHelp();
      return;
    }
    if (help && !help.hidden) return;
    switch (event.key) {
      case "j":
        event.preventDefault();
        focusRow(current + 1);
        break;
      case "k":
        event.preventDefault();
        focusRow(current < 0 ? 0 : current - 1);
        break;
      case "x":
        if (current >= 0) {
          event.preventDefault();
          var box = rows[current].querySelector("input[type=checkbox]");
          if (box) box.checked = !box.checked;
        }
        break;
      case "a":
      case "h":
      case "r":
        event.preventDefault();
        press(event.key);
        break;
    }
  });
})();
