// The Exports page, while an export is queued or running: fetch the page again every two
// seconds and put its exports table in place of this one (progress, status, links).
// Without JavaScript the page refreshes itself (a <noscript> meta refresh) instead.
(function () {
  "use strict";
  var INTERVAL = 2000;

  function active(root) {
    return root.querySelector("[data-export-active]") !== null;
  }

  function refresh() {
    fetch(window.location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("exports");
        var current = document.getElementById("exports");
        if (fresh && current) { current.replaceWith(fresh); }
        if (fresh && active(fresh)) { window.setTimeout(refresh, INTERVAL); }
      })
      .catch(function () { window.setTimeout(refresh, INTERVAL * 5); });
  }

  if (active(document)) { window.setTimeout(refresh, INTERVAL); }
})();
