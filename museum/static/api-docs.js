// The API docs page: Swagger UI over our own OpenAPI document, with nothing loaded from elsewhere.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.documentUrl,
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // the default would ask validator.swagger.io about our document
    tryItOutEnabled: false,
  });
})();
