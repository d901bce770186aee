// The booking form's "add a visitor" button adds one blank row here, without a round trip (without this
// script the button posts the form, and the page comes back with one more row and what was typed).
(function () {
  "use strict";
  const button = document.querySelector("button.add-visitor");
  const template = document.getElementById("visitor-row-template");
  const rows = document.getElementById("rows");
  const list = document.getElementById("visitor-rows");
  if (!button || !template || !rows || !list) return;
  const max = Number(button.dataset.max) || 1;
  button.addEventListener("click", function (event) {
    event.preventDefault();
    const index = Number(rows.value) || 0;
    if (index >= max) return;
    const html = template.innerHTML.split("__N__").join(String(index)).split("__NUM__").join(String(index + 1));
    list.insertAdjacentHTML("beforeend", html);
    rows.value = String(index + 1);
    button.textContent = button.dataset.again;
    button.hidden = index + 1 >= max;
    const name = document.getElementById("v" + index + "-name");
    if (name) name.focus();
  });
})();
