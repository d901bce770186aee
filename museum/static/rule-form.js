// The rule form shows only the parameters of the chosen action (without this script, all of them show).
(function () {
  "use strict";
  const action = document.getElementById("action");
  if (!action) return;
  function show() {
    document.querySelectorAll(".params [data-for]").forEach(function (element) {
      const wanted = element.dataset.for.split(" ");
      const visible = wanted.includes(action.value);
      element.hidden = !visible;
      element.querySelectorAll("input, select").forEach(function (input) { input.disabled = !visible; });
    });
  }
  action.addEventListener("change", show);
  show();
})();
