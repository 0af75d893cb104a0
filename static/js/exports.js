// The Exports page, while an export is queued or running: fetch the page again every two
// seconds and bring this one up to date, then stop once nothing is queued or running.
// Without JavaScript the page reloads itself instead (a <noscript> meta refresh).
//
// Only what changed is touched, cell by cell: a keyboard user's focus on a Cancel button
// survives the progress updates beside it, and the status line (the page's one live
// region) is announced only when its sentence changes, not the whole table every time.
(function () {
  "use strict";
  var INTERVAL = 2000;

  function active(root) {
    return root.querySelector("[data-export-active]") !== null;
  }

  // Each response carries a freshly masked CSRF token: not a change worth a redraw.
  function content(cell) {
    return cell.innerHTML.replace(/<input[^>]*csrfmiddlewaretoken[^>]*>/g, "");
  }

  function rowIds(root) {
    return Array.prototype.map.call(root.querySelectorAll("#exports tbody tr"), function (row) {
      return row.id;
    }).join(" ");
  }

  function updateRow(row, fresh) {
    row.toggleAttribute("data-export-active", fresh.hasAttribute("data-export-active"));
    Array.prototype.forEach.call(fresh.cells, function (cell, index) {
      var current = row.cells[index];
      if (current && content(current) !== content(cell)) {
        current.replaceChildren.apply(current, Array.prototype.slice.call(cell.childNodes));
      }
    });
  }

  function update(fresh) {
    var status = document.getElementById("exports-status");
    var freshStatus = fresh.getElementById("exports-status");
    if (status && freshStatus && status.textContent !== freshStatus.textContent) {
      status.textContent = freshStatus.textContent;
    }
    var list = document.getElementById("exports");
    var freshList = fresh.getElementById("exports");
    if (rowIds(document) === rowIds(fresh) && rowIds(fresh) !== "") {
      Array.prototype.forEach.call(freshList.querySelectorAll("tbody tr"), function (row) {
        updateRow(document.getElementById(row.id), row);
      });
    } else {
      // An export was added or removed (in another tab, say): the list is redrawn whole.
      list.replaceWith(document.adoptNode(freshList));
    }
  }

  function refresh() {
    if (document.hidden) {
      // Nobody is looking: wait until the tab is shown again.
      document.addEventListener("visibilitychange", refresh, { once: true });
      return;
    }
    fetch(window.location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        // Not the Exports page (the session ended and this is the login page): stop.
        if (!fresh.getElementById("exports") || !document.getElementById("exports")) { return; }
        update(fresh);
        if (active(document)) { window.setTimeout(refresh, INTERVAL); }
      })
      .catch(function () { window.setTimeout(refresh, INTERVAL * 5); });
  }

  if (active(document)) { window.setTimeout(refresh, INTERVAL); }
})();
