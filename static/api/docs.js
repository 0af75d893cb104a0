// Swagger UI for /api/v1/docs/: its start-up code lives here, not inline, because the
// console's Content-Security-Policy allows scripts from its own files only.
"use strict";

(function () {
  const container = document.getElementById("swagger-ui");
  if (!container || typeof SwaggerUIBundle === "undefined") {
    return;
  }
  // What WCAG asks of Swagger UI's operations that CSS cannot give (docs.css has the
  // colours): a name for each form control, keyboard access to each scrolling example.
  // Added as Swagger UI draws them, since it draws an operation only when it is opened.
  function describe(root) {
    root.querySelectorAll("pre.microlight:not([tabindex])").forEach(function (example) {
      example.setAttribute("tabindex", "0");
    });
    root.querySelectorAll("textarea:not([aria-label])").forEach(function (field) {
      const parameter = field.closest("[data-param-name]");
      field.setAttribute(
        "aria-label",
        parameter ? parameter.dataset.paramName : field.classList.contains("body-param__text")
          ? "Request body" : "Text"
      );
    });
    root.querySelectorAll("select:not([aria-label])").forEach(function (field) {
      const parameter = field.closest("[data-param-name]");
      if (parameter) {
        field.setAttribute("aria-label", parameter.dataset.paramName);
      }
    });
  }
  new MutationObserver(function () {
    describe(container);
  }).observe(container, { childList: true, subtree: true });

  SwaggerUIBundle({
    url: container.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    // Off: a deep link puts a link inside each operation's toggle button, which
    // assistive technology cannot tell apart (axe: nested-interactive).
    deepLinking: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // The session's cookie goes with "Try it out"; a key can be entered under Authorize.
    withCredentials: true,
    // A POST with the session needs the page's CSRF token (Django refuses it without);
    // a key's request is not checked, and a GET changes nothing.
    requestInterceptor: function (request) {
      if (request.method !== "GET" && request.method !== "HEAD") {
        request.headers["X-CSRFToken"] = container.dataset.csrfToken;
      }
      return request;
    },
  });
})();
