// The help desk's ticket page: the Print button opens the browser's print dialog (one ticket to a page).
"use strict";
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
