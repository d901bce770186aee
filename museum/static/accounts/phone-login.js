// The "send code" button counts down until the number may ask again (the server enforces it anyway).
(function () {
  "use strict";
  document.querySelectorAll("button.send-code[data-resend-after]").forEach(function (button) {
    var left = parseInt(button.getAttribute("data-resend-after"), 10) || 0;
    if (left <= 0) return;
    var label = button.textContent;
    var waiting = button.getAttribute("data-wait-label") || "{s}";
    function tick() {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.disabled = true;
      button.textContent = waiting.replace("{s}", String(left));
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    tick();
  });
})();
