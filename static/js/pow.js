// The bot challenge of the signing form, while a letter is under attack
// (petition/signing/challenge.py): fetch a challenge from our own server, try numbers until
// SHA-256(salt + number) is the published hash, and put the answer in the form's hidden
// fields. Nothing is sent anywhere else. Without this script (or if it fails) the form
// still works: the signature is then held for a moderator.
(function () {
  "use strict";
  var form = document.querySelector("form[data-challenge]");
  if (!form || !window.crypto || !window.crypto.subtle || !window.fetch) return;
  var url = form.getAttribute("data-challenge");
  var status = form.querySelector(".pow-status");
  var encoder = new TextEncoder();
  var BATCH = 500;
  // An answer is good for ten minutes on the server; fetch a new one before that.
  var FRESH_MS = 8 * 60 * 1000;
  var started = 0;
  var solvedAt = 0;
  var solving = null;
  var sending = false;

  function fromHex(hex) {
    var bytes = new Uint8Array(hex.length / 2);
    for (var i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
    return bytes;
  }

  function same(buffer, target) {
    var bytes = new Uint8Array(buffer);
    for (var i = 0; i < target.length; i++) if (bytes[i] !== target[i]) return false;
    return true;
  }

  function search(salt, target, max, from) {
    if (from >= max) return Promise.resolve(-1);
    var tries = [];
    var end = Math.min(max, from + BATCH);
    for (var n = from; n < end; n++) {
      tries.push(crypto.subtle.digest("SHA-256", encoder.encode(salt + n)));
    }
    return Promise.all(tries).then(function (hashes) {
      for (var i = 0; i < hashes.length; i++) if (same(hashes[i], target)) return from + i;
      return search(salt, target, max, end);
    });
  }

  function set(name, value) {
    form.querySelector("input[name=" + name + "]").value = value;
  }

  function solve() {
    started = performance.now();
    solvedAt = 0;
    solving = fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("challenge " + response.status);
        return response.json();
      })
      .then(function (challenge) {
        return search(challenge.salt, fromHex(challenge.challenge), challenge.maxnumber, 0)
          .then(function (number) {
            if (number < 0) throw new Error("no answer");
            set("pow_salt", challenge.salt);
            set("pow_number", String(number));
            set("pow_signature", challenge.signature);
            solvedAt = Date.now();
            form.setAttribute("data-pow-ms", String(Math.round(performance.now() - started)));
          });
      })
      .catch(function () {
        form.setAttribute("data-pow-failed", "");
      });
    return solving;
  }

  form.addEventListener("submit", function (event) {
    if (sending) return;
    var fresh = solvedAt && Date.now() - solvedAt < FRESH_MS;
    if (fresh) return;
    event.preventDefault();
    if (solvedAt) solve();
    if (status) {
      status.textContent = status.getAttribute("data-solving");
      status.hidden = false;
    }
    solving.then(function () {
      sending = true;
      // form.submit() skips the submit event and the browser's own checks, as wanted here.
      form.submit();
    });
  });

  // Back to a page kept in memory after signing: its answer was used; get a new one.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      sending = false;
      solve();
    }
  });

  solve();
})();
