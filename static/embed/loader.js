/* Undersigned embed loader, served at /embed.js.
 *
 *   <div data-undersigned="SLUG" data-theme="auto" data-accent="#0a7cff" data-lang="en"
 *        data-compact="0"></div>
 *   <script src="https://SITE/embed.js" async></script>
 *   <noscript><iframe src="https://SITE/embed/SLUG/" title="..." width="100%" height="190"></iframe></noscript>
 *
 * Each such element gets an iframe of the widget, which it then lets size itself. */
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector('script[src$="/embed.js"]');
  if (!script) {
    return;
  }
  var origin = new URL(script.src, window.location.href).origin;
  var SLUG = /^[-A-Za-z0-9_]{1,80}$/;
  var OPTIONS = ["theme", "accent", "lang", "compact"];
  var frames = [];

  function widgetUrl(slug, element) {
    var url = new URL("/embed/" + encodeURIComponent(slug) + "/", origin);
    OPTIONS.forEach(function (name) {
      var value = element.getAttribute("data-" + name);
      if (value) {
        url.searchParams.set(name, value); // validated again by the server
      }
    });
    return url.href;
  }

  function mount(element) {
    var slug = element.getAttribute("data-undersigned");
    if (!slug || !SLUG.test(slug) || element.hasAttribute("data-undersigned-mounted")) {
      return;
    }
    element.setAttribute("data-undersigned-mounted", "");
    var compact = element.getAttribute("data-compact") === "1";
    var iframe = document.createElement("iframe");
    iframe.src = widgetUrl(slug, element);
    iframe.title = element.getAttribute("data-title") || "Signature counter";
    iframe.loading = "lazy";
    iframe.setAttribute("scrolling", "no");
    // The widget needs its scripts and to open the letter in a new tab; nothing else.
    iframe.setAttribute(
      "sandbox",
      "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox"
    );
    iframe.style.width = "100%";
    iframe.style.maxWidth = element.getAttribute("data-max-width") || "32rem";
    iframe.style.height = (compact ? 64 : 190) + "px";
    iframe.style.border = "0";
    iframe.style.display = "block";
    iframe.style.colorScheme = "normal";
    while (element.firstChild) {
      element.removeChild(element.firstChild);
    }
    element.appendChild(iframe);
    frames.push({ iframe: iframe, slug: slug });
  }

  function scan() {
    var elements = document.querySelectorAll("[data-undersigned]");
    for (var i = 0; i < elements.length; i++) {
      mount(elements[i]);
    }
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin) {
      return;
    }
    var data = event.data;
    if (!data || data.undersigned !== "resize" || typeof data.height !== "number") {
      return;
    }
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      if (frame.iframe.contentWindow === event.source && frame.slug === data.slug) {
        var height = Math.max(32, Math.min(2000, Math.ceil(data.height)));
        frame.iframe.style.height = height + "px";
      }
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", scan);
  } else {
    scan();
  }
  // For pages that add the element later.
  window.Undersigned = window.Undersigned || {};
  window.Undersigned.scan = scan;
})();
