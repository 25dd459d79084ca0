/* The widget's live behaviour: accent colour, host iframe resizing, and a count that
   follows count.json. Everything here is an improvement; the page works without it. */
(function () {
  "use strict";

  var root = document.documentElement;
  var widget = document.querySelector(".widget");
  if (!widget) {
    return;
  }
  var slug = widget.getAttribute("data-slug");
  var goal = Number(widget.getAttribute("data-goal")) || 0;
  var shown = Number(widget.getAttribute("data-count")) || 0;
  var countUrl = widget.getAttribute("data-count-url");
  var lang = root.getAttribute("lang") || "en";
  var numberEl = widget.querySelector('[data-role="count"]');
  var labelEl = widget.querySelector('[data-role="label"]');
  var barEl = widget.querySelector('[data-role="bar"]');
  var percentEl = widget.querySelector('[data-role="percent"]');
  var progressEl = widget.querySelector('[role="progressbar"]');
  var POLL_MS = 12000;
  var JITTER_MS = 3000;
  var ANIMATION_MS = 900;

  // --- accent: set through the CSSOM, which a CSP without 'unsafe-inline' allows ---------
  function ink(hex) {
    var channels = [1, 3, 5].map(function (i) {
      var c = parseInt(hex.substr(i, 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
    // Whichever of black or white text contrasts more with the chosen colour.
    return (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) ? "#111111" : "#ffffff";
  }
  var accent = root.getAttribute("data-accent");
  if (accent && /^#[0-9a-f]{6}$/.test(accent)) {
    root.style.setProperty("--accent", accent);
    root.style.setProperty("--accent-ink", ink(accent));
  }

  // --- resizing the host iframe ----------------------------------------------------------
  var lastHeight = 0;
  function reportHeight() {
    if (window.parent === window) {
      return;
    }
    var height = Math.ceil(root.getBoundingClientRect().height);
    if (height === lastHeight) {
      return;
    }
    lastHeight = height;
    // The height is not secret and the host's origin is unknown here; the loader checks
    // that the message comes from this origin and this slug.
    window.parent.postMessage({ undersigned: "resize", slug: slug, height: height }, "*");
  }
  if ("ResizeObserver" in window) {
    new ResizeObserver(reportHeight).observe(root);
  }
  window.addEventListener("load", reportHeight);
  reportHeight();

  // --- live count ------------------------------------------------------------------------
  var format = (function () {
    try {
      return new Intl.NumberFormat(lang).format;
    } catch (e) {
      return String;
    }
  })();
  var plural = (function () {
    try {
      var rules = new Intl.PluralRules(lang);
      return function (n) { return rules.select(n); };
    } catch (e) {
      return function (n) { return n === 1 ? "one" : "other"; };
    }
  })();

  function render(n) {
    numberEl.textContent = format(n);
    if (labelEl) {
      labelEl.textContent = labelEl.getAttribute(plural(n) === "one" ? "data-one" : "data-other");
    }
    if (goal && barEl) {
      var percent = Math.min(100, Math.floor((100 * n) / goal));
      barEl.setAttribute("width", String(percent));
      if (percentEl) {
        percentEl.textContent = String(percent);
      }
    }
  }

  var animation = 0;
  function animateTo(target) {
    var from = shown;
    shown = target;
    if (progressEl) {
      progressEl.setAttribute("aria-valuenow", String(Math.min(target, goal)));
    }
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var token = ++animation;
    widget.classList.add("changed");
    var start = null;
    function frame(now) {
      if (token !== animation) {
        return;
      }
      if (start === null) {
        start = now;
      }
      var progress = reduce ? 1 : Math.min(1, (now - start) / ANIMATION_MS);
      var eased = 1 - Math.pow(1 - progress, 3);
      render(Math.round(from + (target - from) * eased));
      if (progress < 1) {
        window.requestAnimationFrame(frame);
      }
    }
    window.requestAnimationFrame(frame);
    // Browsers pause animation frames in hidden or off-screen frames; land on the number anyway.
    window.setTimeout(function () {
      if (token === animation) {
        render(target);
        widget.classList.remove("changed");
      }
    }, ANIMATION_MS + 1200);
  }

  var etag = null;
  var timer = 0;
  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, POLL_MS + Math.random() * JITTER_MS);
  }
  function poll() {
    if (document.hidden || !window.fetch) {
      schedule();
      return;
    }
    var headers = {};
    if (etag) {
      headers["If-None-Match"] = etag;
    }
    window
      .fetch(countUrl, { headers: headers, credentials: "omit", cache: "no-store" })
      .then(function (response) {
        if (response.status !== 200) {
          return null; // 304: nothing new
        }
        etag = response.headers.get("ETag");
        return response.json();
      })
      .then(function (data) {
        if (!data || typeof data.count !== "number") {
          return;
        }
        if (data.status === "open" || data.status === "closed") {
          widget.setAttribute("data-status", data.status);
        }
        if (data.count !== shown) {
          animateTo(data.count);
        }
      })
      .catch(function () {
        /* offline or server busy: try again at the next tick */
      })
      .then(schedule);
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      poll();
    }
  });
  schedule();
})();
