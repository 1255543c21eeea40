// alarm-digest console: progressive enhancement only; every page works without it.
"use strict";

// Live refresh: a section with data-refresh="N" is fetched again every N seconds and its
// content replaced in place, so the reader keeps the page (its URL, the cursor included),
// the scroll position and the focus; unchanged content is left as it is. It pauses while the tab is hidden, while focus is
// inside the section, and when the "Live refresh" box is unticked.
(function liveRefresh() {
  const section = document.querySelector("[data-refresh]");
  const toggle = document.getElementById("live");
  if (!section || !toggle) return;
  const status = document.getElementById("live-status");
  const seconds = Number(section.dataset.refresh) || 5;
  toggle.closest("[hidden]")?.removeAttribute("hidden");
  let busy = false;
  async function refresh() {
    if (busy || !toggle.checked || document.hidden || section.contains(document.activeElement)) return;
    busy = true;
    try {
      const response = await fetch(window.location.href, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
        redirect: "manual",
      });
      if (!response.ok) {
        toggle.checked = false;
        status.textContent = "Live refresh stopped (" + (response.status || "session ended") + ")";
        return;
      }
      const fresh = new DOMParser()
        .parseFromString(await response.text(), "text/html")
        .getElementById(section.id);
      // Unchanged rows are left alone, so a selection or a found element stays valid.
      // The status is announced only when something changed.
      if (fresh && fresh.innerHTML !== section.innerHTML) {
        section.replaceChildren(...fresh.childNodes);
        status.textContent = "Updated " + new Date().toLocaleTimeString();
      }
    } catch (e) {
      status.textContent = "Live refresh failed; retrying";
    } finally {
      busy = false;
    }
  }
  setInterval(refresh, seconds * 1000);
})();

// On a phone-width screen the filter box starts folded while no filter is set, so the
// rows come first.
(function foldFilters() {
  const box = document.querySelector("details.filters-box");
  if (box && box.dataset.set === "0" && window.matchMedia("(max-width: 40rem)").matches) {
    box.open = false;
  }
})();

// Escalation countdowns: the server-rendered time to the next level ticks down once a
// second; without this the page shows the remaining time as rendered.
(function countdowns() {
  const text = (s) => {
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
    if (h > 0) return h + " h " + m + " min";
    if (m > 0) return m + " min " + r + " s";
    return r + " s";
  };
  const tick = () => {
    const now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach((t) => {
      const left = Math.max(0, Math.round((Date.parse(t.getAttribute("datetime")) - now) / 1000));
      t.textContent = text(left);
    });
  };
  if (document.querySelector("time[data-countdown]")) setInterval(tick, 1000);
})();
