// The queue page: asks where the visitor stands at the interval the server suggests (it grows with the
// wait, with some jitter so that many phones do not ask in step) and shows it in place. The server keeps
// the place in a cookie, and sets the pass's cookie the booking form sends once it is the visitor's turn.
(function () {
  "use strict";
  var box = document.getElementById("queue");
  if (!box) { return; }
  var url = box.dataset.statusUrl;
  var timer = null;
  var failures = 0;

  function fill(template, name, value) { return template.split("{" + name + "}").join(String(value)); }

  function estimate(seconds) {
    if (seconds === null || seconds === undefined) { return "–"; }
    if (seconds < 60) { return box.dataset.soon; }
    if (seconds < 5400) {
      var minutes = Math.ceil(seconds / 60);
      return fill(minutes === 1 ? box.dataset.minuteOne : box.dataset.minuteOther, "n", minutes);
    }
    var hours = Math.round(seconds / 3600);
    return fill(hours === 1 ? box.dataset.hourOne : box.dataset.hourOther, "n", hours);
  }

  function clock(iso) {
    return new Intl.DateTimeFormat(box.dataset.lang, {
      timeZone: box.dataset.tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).format(new Date(iso));
  }

  function setLive(name, text) {
    var element = box.querySelector('[data-live="' + name + '"]');
    if (element && element.textContent !== text) { element.textContent = text; }
  }

  function show(state) {
    box.querySelectorAll("[data-state]").forEach(function (part) {
      part.hidden = part.dataset.state !== state;
    });
  }

  function apply(data) {
    var before = box.dataset.status;
    if (before === "not_open" && data.status !== "not_open") {
      window.location.reload(); // joining needs the form the server renders
      return false;
    }
    if (data.status === "waiting" && data.position !== null) {
      setLive("position", String(data.position));
      setLive("ahead", String(data.ahead));
      setLive("estimate", estimate(data.estimate_seconds));
    }
    if (data.status === "admitted" && data.pass) {
      var template = document.getElementById("pass-until-text");
      setLive("pass-until", fill(template.content.textContent, "time", clock(data.pass.expires_at)));
    }
    show(data.status === "waiting" && data.position === null ? "waiting-early" : data.status);
    box.dataset.status = data.status;
    return true;
  }

  function schedule(seconds) {
    window.clearTimeout(timer);
    if (!seconds) { return; }
    timer = window.setTimeout(poll, seconds * 1000 * (0.85 + Math.random() * 0.3));
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : Promise.reject(answer.status); })
      .then(function (data) {
        failures = 0;
        if (apply(data)) { schedule(data.poll_seconds); }
      })
      .catch(function () {
        failures += 1;
        schedule(Math.min(60, 2 * Math.pow(2, failures)));
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && box.dataset.status === "waiting") { poll(); }
  });
  schedule(Number(box.dataset.poll));
}());
