// Starts the vendored Swagger UI on /docs (a file, not an inline script, so the page keeps the CSP).
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (!root || !window.SwaggerUIBundle) return;
    window.ui = window.SwaggerUIBundle({
      url: root.getAttribute("data-openapi-url"),
      dom_id: "#swagger-ui",
      layout: "BaseLayout",
      deepLinking: true,
      showExtensions: true,
      showCommonExtensions: true,
      validatorUrl: null, // no badge fetched from validator.swagger.io
      presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
      // "Try it out" writes are same-origin; the header lets bodiless POSTs (undo, finish, …) through.
      requestInterceptor: function (req) {
        if (meta && req.method && req.method.toUpperCase() !== "GET") {
          req.headers["X-CSRF-Token"] = meta.getAttribute("content");
        }
        return req;
      },
    });
  });
})();
