// Live preview of a letter's Markdown while the author types. The page works without it:
// the form's "Preview" button asks the server for the same rendering.
(function () {
  "use strict";
  var source = document.querySelector("textarea.markdown-source");
  var preview = document.getElementById("markdown-preview");
  var form = source && source.form;
  var endpoint = form && form.getAttribute("data-preview-url");
  if (!source || !preview || !endpoint) return;
  var token = form.querySelector("input[name=csrfmiddlewaretoken]");
  var timer = null;
  var latest = 0;

  function render() {
    var request = ++latest;
    var data = new FormData();
    data.append("body", source.value);
    if (token) data.append("csrfmiddlewaretoken", token.value);
    fetch(endpoint, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null || request !== latest) return;
        // The server returns HTML already sanitized by the same code as the letter page.
        preview.innerHTML = html;
        preview.hidden = false;
      })
      .catch(function () { /* the Preview button still works */ });
  }

  source.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(render, 400);
  });
})();
