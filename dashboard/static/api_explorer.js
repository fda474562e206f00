// The API explorer at /api/ (dashboard/api/explorer.py): Swagger UI, vendored in
// static/vendor/swagger-ui/, showing the caller's OpenAPI document. A file of its own, not an
// inline script, so the page runs under the site's Content-Security-Policy.
//
// "Try it out" calls the API from this page with the operator's session cookie. The API asks
// a session's POST, PATCH and DELETE for the CSRF token in the X-CSRFToken header, as the
// pages' forms carry it: the interceptor adds the page's token to those requests, and only
// to this site's addresses, so the token never leaves it.
(function () {
  'use strict';
  var root = document.getElementById('swagger-ui');
  if (!root || typeof window.SwaggerUIBundle !== 'function') { return; }
  var token = root.getAttribute('data-csrf-token') || '';
  var unsafe = { POST: true, PUT: true, PATCH: true, DELETE: true };

  function sameOrigin(url) {
    try {
      return new URL(url, window.location.href).origin === window.location.origin;
    } catch (error) {
      return false;
    }
  }

  window.SwaggerUIBundle({
    url: root.getAttribute('data-openapi-url'),
    domNode: root,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    // The public validator badge would call validator.swagger.io: nothing leaves this site.
    validatorUrl: null,
    deepLinking: false,
    displayRequestDuration: true,
    requestInterceptor: function (request) {
      var method = String(request.method || 'GET').toUpperCase();
      if (unsafe[method] && token && sameOrigin(request.url)) {
        request.headers = request.headers || {};
        request.headers['X-CSRFToken'] = token;
      }
      // The session cookie goes with every call to this site, never elsewhere.
      request.credentials = 'same-origin';
      return request;
    }
  });
}());
