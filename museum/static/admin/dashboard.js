// The live dashboard: draws the charts from the figures the page was served with, then asks for new
// figures every few seconds and updates the numbers, tables, alerts and charts in place (no reload).
// Everything is built with DOM calls and textContent: nothing from the server is parsed as HTML.
(function () {
  "use strict";
  const root = document.getElementById("dashboard");
  if (!root) return;
  const labels = JSON.parse(root.dataset.labels);
  const source = root.dataset.source;
  const pollMs = Math.max(1, Number(root.dataset.pollSeconds || 3)) * 1000;
  const big = root.dataset.screen === "big";
  const lang = document.documentElement.lang || "zh";
  const locale = lang.startsWith("en") ? "en" : "zh-CN";
  const timeFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: root.dataset.tz });
  const clockFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: root.dataset.tz });
  const fontSize = big ? 18 : 12;
  const colours = { booked: "#8fb8e8", admitted: "#1a7f37", no_shows: "#b42318", actual: "#0b5cad", expected: "#9a6700" };
  let lastGood = null;

  function hhmm(iso) { return iso ? timeFormat.format(new Date(iso)) : "–"; }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }
  function cell(tag, text, className) {
    const element = document.createElement(tag);
    element.textContent = text;
    if (className) element.className = className;
    if (tag === "th") element.scope = "row";
    return element;
  }

  // ---------------------------------------------------------------- charts
  const charts = {};
  function chart(name) {
    if (!window.echarts) return null;
    if (!charts[name]) {
      const key = CSS.escape(name);
      const element = root.querySelector(`[data-chart="${key}"], [data-gauge="${key}"]`);
      if (!element) return null;
      charts[name] = window.echarts.init(element, null, { renderer: "canvas", locale: locale === "en" ? "EN" : "ZH" });
    }
    return charts[name];
  }
  const textStyle = { fontSize: fontSize };

  function drawGauges(data) {
    for (const venue of data.venues) {
      const gauge = chart(venue.key);
      if (!gauge) continue;
      const limit = Math.max(venue.safe_capacity, 1);
      gauge.setOption({
        animation: false,
        series: [{
          type: "gauge", min: 0, max: limit, splitNumber: 4, radius: "92%",
          progress: { show: true, width: big ? 22 : 14 },
          axisLine: { lineStyle: { width: big ? 22 : 14, color: [[0.8, "#1a7f37"], [0.95, "#9a6700"], [1, "#b42318"]] } },
          axisLabel: { fontSize: fontSize - 2, distance: big ? 30 : 20 }, splitLine: { distance: 0, length: 8 },
          axisTick: { show: false }, pointer: { show: true },
          detail: { valueAnimation: false, fontSize: big ? 40 : 24, formatter: String(venue.inside), offsetCenter: [0, "60%"] },
          data: [{ value: Math.min(venue.inside, limit) }],
        }],
      });
    }
  }

  function drawArrivals(data) {
    const line = chart("arrivals");
    if (!line) return;
    const times = data.arrivals.starts.map(hhmm);
    const now = Date.parse(data.now);
    const past = data.arrivals.starts.map((start) => Date.parse(start) <= now);
    line.setOption({
      animation: false, textStyle: textStyle,
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0, data: [labels.actual, labels.expected], textStyle: textStyle },
      grid: { left: 48, right: 16, top: big ? 56 : 40, bottom: big ? 40 : 32 },
      xAxis: { type: "category", data: times, axisLabel: { fontSize: fontSize } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: fontSize } },
      series: [
        { name: labels.actual, type: "line", data: data.arrivals.actual.map((v, i) => (past[i] ? v : null)),
          itemStyle: { color: colours.actual }, lineStyle: { width: big ? 4 : 2 } },
        { name: labels.expected, type: "line", data: data.arrivals.expected,
          itemStyle: { color: colours.expected }, lineStyle: { type: "dashed", width: big ? 3 : 2 } },
      ],
    });
  }

  function drawWindows(data) {
    const bars = chart("windows");
    if (!bars) return;
    const names = data.windows.map((w) => `${hhmm(w.start)}–${hhmm(w.end)}`);
    const series = ["booked", "admitted", "no_shows"].map((key) => ({
      name: labels[key], type: "bar", data: data.windows.map((w) => w[key]), itemStyle: { color: colours[key] },
    }));
    bars.setOption({
      animation: false, textStyle: textStyle,
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0, data: series.map((s) => s.name), textStyle: textStyle },
      grid: { left: 48, right: 16, top: big ? 56 : 40, bottom: big ? 40 : 32 },
      xAxis: { type: "category", data: names, axisLabel: { fontSize: fontSize } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: fontSize } },
      series: series,
    });
  }

  // ---------------------------------------------------------------- numbers and tables
  function setFigure(name, value) {
    for (const element of root.querySelectorAll(`[data-live="${name}"]`)) element.textContent = String(value);
  }

  function drawVenues(data) {
    for (const venue of data.venues) {
      const inside = root.querySelector(`[data-venue-inside="${CSS.escape(venue.key)}"]`);
      const share = root.querySelector(`[data-venue-share="${CSS.escape(venue.key)}"]`);
      if (inside) inside.textContent = String(venue.inside);
      if (share) share.textContent = String(venue.safe_capacity ? Math.floor((100 * venue.inside) / venue.safe_capacity) : 0);
    }
  }

  function drawWindowTable(data) {
    const body = root.querySelector('[data-live="windows"]');
    if (!body || !data.windows.length) return;
    body.replaceChildren(...data.windows.map((w) => {
      const row = document.createElement("tr");
      row.append(cell("th", `${hhmm(w.start)}–${hhmm(w.end)}`), cell("td", w.capacity), cell("td", w.booked),
        cell("td", w.admitted), cell("td", w.no_shows));
      return row;
    }));
  }

  function drawArrivalsTable(data) {
    const body = root.querySelector('[data-live="arrivals"]');
    if (!body) return;
    const now = Date.parse(data.now);
    body.replaceChildren(...data.arrivals.starts.map((start, index) => {
      const row = document.createElement("tr");
      const arrived = Date.parse(start) <= now ? data.arrivals.actual[index] : "–";
      row.append(cell("th", hhmm(start)), cell("td", arrived), cell("td", data.arrivals.expected[index]));
      return row;
    }));
  }

  function drawGates(data) {
    const body = root.querySelector('[data-live="gates"]');
    if (!body) return;
    body.replaceChildren(...data.gates.map((gate) => {
      const row = document.createElement("tr");
      if (gate.silent) row.className = "silent";
      const refused = cell("td", gate.refused_last_15_min);
      const reasons = Object.entries(gate.refusals);
      if (reasons.length) {
        const detail = reasons.map(([reason, n]) => `${labels.reasons[reason] || reason} ${n}`).join(", ");
        refused.append(" ", cell("span", `(${detail})`, "muted"));
      }
      const state = document.createElement("td");
      if (!gate.active) state.textContent = labels.inactive;
      else if (gate.silent) state.append(cell("strong", labels.silent, "bad"));
      else state.textContent = labels.ok;
      row.append(cell("th", gate.name), cell("td", gate.in_last_5_min), cell("td", gate.in_last_15_min), refused,
        cell("td", hhmm(gate.last_contact_at)), state);
      return row;
    }));
  }

  function ackForm(alert) {
    const form = document.createElement("form");
    form.method = "post";
    form.action = root.dataset.ack;
    form.className = "inline-form";
    const hidden = { csrf_token: root.dataset.csrf, code: alert.code, subject: alert.subject };
    if (big) hidden.screen = "big";
    for (const [name, value] of Object.entries(hidden)) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    }
    const note = document.createElement("input");
    note.name = "note";
    note.maxLength = 300;
    note.placeholder = labels.note;
    note.setAttribute("aria-label", labels.note);
    const button = cell("button", labels.acknowledge);
    button.type = "submit";
    form.append(note, button);
    return form;
  }

  function drawAlerts(data) {
    const list = root.querySelector('[data-live="alerts"]');
    if (!list) return;
    // The same alerts as before: only their texts change (the numbers in them), in place. A new or ended
    // alert redraws the list, but never under the keyboard of someone acknowledging one.
    const signature = JSON.stringify(data.alerts.map((a) => [a.code, a.subject, a.acknowledged]));
    if (list.dataset.signature === signature) {
      list.querySelectorAll(".alert .message").forEach((element, index) => {
        if (data.alerts[index]) element.textContent = data.alerts[index].message;
      });
      return;
    }
    if (list.contains(document.activeElement)) return;
    list.dataset.signature = signature;
    if (!data.alerts.length) {
      list.replaceChildren(cell("li", labels.no_alerts, "alert none"));
      return;
    }
    list.replaceChildren(...data.alerts.map((alert) => {
      const item = document.createElement("li");
      item.className = `alert ${alert.level}${alert.acknowledged ? " acknowledged" : ""}`;
      item.dataset.code = alert.code;
      item.append(cell("span", labels[alert.level], "level"), " ", cell("span", alert.message, "message"), " ");
      if (alert.acknowledged) item.append(cell("span", fill(labels.acknowledged_by, { who: alert.acknowledged_by }), "who"));
      else item.append(ackForm(alert));
      return item;
    }));
  }

  function draw(data) {
    for (const name of ["inside", "entered", "exited", "booked", "admitted", "expected_to_come", "no_shows"]) {
      setFigure(name, data[name]);
    }
    setFigure("updated", clockFormat.format(new Date(data.now)));
    drawVenues(data);
    drawWindowTable(data);
    drawArrivalsTable(data);
    drawGates(data);
    drawAlerts(data);
    drawGauges(data);
    drawArrivals(data);
    drawWindows(data);
  }

  function showStale(stale) {
    const note = root.querySelector('[data-live="stale"]');
    if (!note) return;
    note.hidden = !stale;
    if (stale && lastGood) note.textContent = fill(labels.stale, { time: clockFormat.format(new Date(lastGood.now)) });
  }

  async function refresh() {
    try {
      const answer = await fetch(source, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" });
      if (answer.status === 401 || answer.status === 403) { window.location.reload(); return; }
      if (!answer.ok) throw new Error(String(answer.status));
      lastGood = await answer.json();
      draw(lastGood);
      showStale(false);
    } catch (error) {
      showStale(true);
    } finally {
      window.setTimeout(refresh, pollMs);
    }
  }

  lastGood = JSON.parse(root.dataset.initial);
  draw(lastGood);
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  window.setTimeout(refresh, pollMs);
})();
