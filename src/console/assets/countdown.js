// alarm-digest console: ticks the server-rendered escalation countdowns down once a second.
// Progressive: without it the page shows the remaining time as rendered.
(function () {
  function text(s) {
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
    if (h > 0) return h + " h " + m + " min";
    if (m > 0) return m + " min " + r + " s";
    return r + " s";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (t) {
      var left = Math.max(0, Math.round((Date.parse(t.getAttribute("datetime")) - now) / 1000));
      t.textContent = text(left);
    });
  }
  setInterval(tick, 1000);
})();
