/* Copy buttons for the embed snippets; without JavaScript the fields are still selectable. */
(function () {
  "use strict";

  function copy(field, button) {
    var done = function () {
      var label = button.getAttribute("data-label") || button.textContent;
      button.setAttribute("data-label", label);
      button.textContent = "✓ " + label;
      window.setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
    } else {
      field.select();
      try {
        if (document.execCommand("copy")) {
          done();
        }
      } catch (e) {
        /* the text stays selected for the reader to copy */
      }
    }
  }

  function init() {
    var buttons = document.querySelectorAll(".embed-panel [data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () { copy(field, button); });
      field.addEventListener("focus", function () { field.select(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
