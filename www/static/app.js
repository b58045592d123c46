// Live updates for the dashboard, inline in the page (lib/dashpage.py). The
// page works without it: every value is rendered by the board and the LED
// buttons are a plain form.
// With it, the buttons use the JSON API and the values follow the board's
// Server-Sent Events. The board keeps a few streams open; beyond them each
// answer carries the current values and ends ("mode: poll N"), and the
// browser asks again N ms later by itself, so every page stays live. A lost
// board is retried with exponential backoff.
(function () {
  var d = document, b = d.body, f = d.getElementById("f");
  var RETRY = +b.dataset.retry || 3000;
  var delay = RETRY, es = null, timer = 0, up = -1, got = false;
  var last = new Date(); // when the values shown came from the board (the page: now)

  function set(id, v) {
    var e = d.getElementById(id);
    v = String(v);
    if (e.textContent != v) e.textContent = v;
  }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function dur(s) { // as the board's uptime_text()
    var days = Math.floor(s / 86400);
    s %= 86400;
    return (days ? days + "d " : "") + two(Math.floor(s / 3600)) + ":" +
      two(Math.floor(s / 60) % 60) + ":" + two(s % 60);
  }
  function led(on) {
    set("l", on ? "On" : "Off");
    b.className = b.className.replace(/\b(on|off)\b/, on ? "on" : "off");
  }
  function clock(t) { return two(t.getHours()) + ":" + two(t.getMinutes()) + ":" + two(t.getSeconds()); }
  function live(yes, text) {
    b.classList.toggle("live", yes);
    b.classList.toggle("stale", !yes); // dimmed: these values are not live
    set("s", text);
  }
  function show(s) {
    var w = s.wifi, h = s.http, t = s.uptime_s;
    led(s.board.led);
    set("t", s.board.temperature_c.toFixed(1) + " \u00b0C");
    if (t > up || t < up - 2) up = t; // the local tick may run a second ahead
    set("u", dur(up));
    set("m", Math.floor(s.heap_free / 1024) + " KB");
    set("w", !w ? "\u2014" : w.connected ? w.rssi + " dBm, " + w.ssid : "not connected");
    set("i", (w && w.ip) || "\u2014");
    set("r", h.requests);
    set("c", h.active + " open, " + h.accepted + " total");
    var q = s.mqtt;
    if (q) set("q", (q.connected ? "connected" : "not connected" + (q.last_error ? ": " + q.last_error : "")) +
      ", " + q.received + " in, " + q.sent + " out");
  }

  function stop() {
    if (es) es.close();
    es = null;
    clearTimeout(timer);
  }
  function later(ms, why) {
    stop();
    live(false, why + "; retrying in " + Math.round(ms / 1000) + " s; values from " + clock(last));
    timer = setTimeout(connect, ms);
  }
  function connect() {
    stop();
    if (d.hidden) return; // a hidden tab holds none of the board's few sockets
    es = new EventSource("/api/events");
    es.addEventListener("status", function (e) {
      delay = RETRY;
      got = true;
      last = new Date();
      live(true, "Live");
      show(JSON.parse(e.data));
    });
    // Other pages hold the board's streams: this answer ends, and the
    // browser asks again after the retry time the board sent.
    es.addEventListener("mode", function (e) {
      live(true, "Live, every " + Math.round(e.data.split(" ")[1] / 1000) + " s");
    });
    es.onerror = function () {
      // An answer that brought values and ended is the board's polling; an
      // error without values since the last one is a lost board.
      if (got && es.readyState == 0) { got = false; return; }
      later(delay, "Offline");
      delay = Math.min(delay * 2, 60000);
    };
  }

  setInterval(function () {
    if (es && up >= 0 && b.classList.contains("live")) set("u", dur(++up));
  }, 1000);
  d.addEventListener("visibilitychange", function () { d.hidden ? stop() : connect(); });

  f.addEventListener("submit", function (e) {
    var a = e.submitter && e.submitter.value, h = { "Content-Type": "application/json" };
    if (!a) return; // an old browser: the plain form post
    e.preventDefault();
    if (f.token && f.token.value) h["X-API-Token"] = f.token.value;
    fetch("/api/led", {
      method: "POST", headers: h,
      body: JSON.stringify(a == "toggle" ? { toggle: true } : { on: a == "on" })
    }).then(function (r) { return r.json(); }).then(function (j) {
      if (j.error) set("s", j.error); else led(j.on);
    }).catch(function () { set("s", "The board did not answer"); });
  });
  // A crowd: the page came with fresh values, and the board asks for the
  // first poll later rather than now, when every browser is loading.
  var first = +b.dataset.poll || 0;
  if (first) {
    live(true, "Live, every " + Math.round(first / 1000) + " s");
    timer = setTimeout(connect, first);
  } else connect();
})();
