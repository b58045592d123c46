// The /logs page live: new lines from the board's Server-Sent Events. The
// page works without this file (the board renders the lines it keeps, and a
// <noscript> refresh reloads it). Each event's data is the position after it,
// a newline, then the lines; a reconnect asks for what came after that.
(function () {
  var d = document, b = d.body, g = d.getElementById("g"), s = d.getElementById("s");
  var pos = b.dataset.pos, es = null, delay = 3000, MAX = 400;
  function connect() {
    if (es) es.close();
    es = new EventSource("/api/logs/events?from=" + pos);
    es.addEventListener("log", function (e) {
      var i = e.data.indexOf("\n"), end = g.scrollHeight - g.scrollTop - g.clientHeight < 20;
      pos = e.data.slice(0, i);
      g.appendChild(d.createTextNode(e.data.slice(i + 1)));
      while (g.childNodes.length > MAX) g.removeChild(g.firstChild); // bounded, like the board's ring
      if (end) g.scrollTop = g.scrollHeight;
    });
    // The board keeps one live log page: a newer one pushed this one out.
    es.addEventListener("closed", function () {
      es.close();
      b.classList.remove("live");
      s.textContent = "Paused: another log page is live; retrying in 30 s";
      setTimeout(connect, 30000);
    });
    es.onopen = function () { delay = 3000; b.classList.add("live"); s.textContent = "Live"; };
    es.onerror = function () {
      es.close();
      b.classList.remove("live");
      s.textContent = "Offline; retrying in " + delay / 1000 + " s";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 60000);
    };
  }
  connect();
})();
