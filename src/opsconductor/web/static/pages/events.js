/* Events page: the live tail. While the toggle is pressed the page asks /events/tail every
 * 2 s for rows newer than the newest shown (same filters), prepends those it does not show
 * yet and keeps at most MAX_ROWS rows in the table. */
"use strict";

(() => {
  const MAX_ROWS = 500;
  const EVERY_MS = 2000;

  function start() {
    const toggle = document.getElementById("tail-toggle");
    const body = document.getElementById("event-rows");
    if (!toggle || !body) return;
    const state = document.querySelector("[data-tail-state]");
    let after = toggle.dataset.after;
    let timer = null;
    let busy = false;

    const seen = () => new Set([...body.querySelectorAll("tr[data-id]")].map((tr) => tr.dataset.id));

    async function poll() {
      if (busy) return;
      busy = true;
      try {
        const query = toggle.dataset.query;
        const url = `/events/tail?after=${encodeURIComponent(after)}${query ? `&${query}` : ""}`;
        const answer = await OC.api("GET", url);
        after = answer.newest || after;
        if (answer.count) {
          const template = document.createElement("template");
          template.innerHTML = `<table><tbody>${answer.html}</tbody></table>`;
          const shown = seen();
          const fresh = [...template.content.querySelectorAll("tr[data-id]")].filter((tr) => !shown.has(tr.dataset.id));
          if (fresh.length) {
            body.prepend(...fresh);
            document.querySelector(".empty")?.remove();
          }
          while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
        }
        if (state) state.textContent = `Live: checked ${new Date().toLocaleTimeString()}.`;
      } catch (err) {
        if (state) state.textContent = `Live tail paused: ${err.message}`;
      } finally {
        busy = false;
      }
    }

    function set(on) {
      toggle.setAttribute("aria-pressed", String(on));
      toggle.textContent = on ? "Live tail: on" : "Live tail";
      clearInterval(timer);
      timer = null;
      if (on) {
        poll();
        timer = setInterval(poll, EVERY_MS);
      } else if (state) {
        state.textContent = "";
      }
    }

    toggle.addEventListener("click", () => set(toggle.getAttribute("aria-pressed") !== "true"));
    document.addEventListener("visibilitychange", () => {
      if (toggle.getAttribute("aria-pressed") === "true" && !document.hidden) poll();
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
