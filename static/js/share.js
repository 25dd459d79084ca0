// The share block (petition/templates/petition/_share.html): a copy button, the browser's
// own share sheet where it has one, and a prompt for the reader's Mastodon server. Without
// this script the block still works: the link sits in a field to copy, the other links
// are plain links. Nothing here talks to another site until the reader chooses one.
(function () {
  "use strict";
  var block = document.querySelector(".share[data-share-url]");
  if (!block) return;
  var url = block.getAttribute("data-share-url");
  var text = block.getAttribute("data-share-text");
  var title = block.getAttribute("data-share-title");
  var field = document.getElementById("share-url");
  var status = document.getElementById("share-status");

  var copy = document.getElementById("share-copy");
  if (copy && field) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      function done(ok) {
        status.textContent = copy.getAttribute(ok ? "data-copied" : "data-failed");
        if (!ok) { field.focus(); field.select(); }
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(url).then(function () { done(true); }, function () {
          field.select();
          done(document.execCommand && document.execCommand("copy"));
        });
      } else {
        field.select();
        done(document.execCommand && document.execCommand("copy"));
      }
    });
  }

  var nativeRow = document.getElementById("share-native-row");
  var nativeButton = document.getElementById("share-native");
  if (nativeRow && nativeButton && typeof navigator.share === "function") {
    nativeRow.hidden = false;
    nativeButton.addEventListener("click", function () {
      navigator.share({ title: title, text: text, url: url }).catch(function () {
        // Cancelled by the reader, or refused: nothing to do.
      });
    });
  }

  // A server name as a reader types it ("mastodon.social", "@me@example.social",
  // "https://example.social/home"), reduced to a host, or "" when it is not one.
  function mastodonHost(typed) {
    var host = (typed || "").trim().replace(/^https?:\/\//i, "").split("/")[0];
    host = host.split("@").pop().toLowerCase();
    return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:[0-9]{1,5})?$/.test(host) ? host : "";
  }

  var mastodon = block.querySelector(".share-mastodon");
  var note = document.getElementById("share-mastodon-note");
  if (mastodon) {
    if (note) note.hidden = true;
    mastodon.addEventListener("click", function (event) {
      event.preventDefault();
      var remembered = "";
      try { remembered = window.localStorage.getItem("undersigned-mastodon") || ""; } catch (e) { /* storage off */ }
      var host = mastodonHost(window.prompt(mastodon.getAttribute("data-prompt"), remembered));
      if (!host) return;
      try { window.localStorage.setItem("undersigned-mastodon", host); } catch (e) { /* storage off */ }
      window.open("https://" + host + "/share?text=" + encodeURIComponent(text + " " + url), "_blank", "noopener,noreferrer");
    });
  }
}());
