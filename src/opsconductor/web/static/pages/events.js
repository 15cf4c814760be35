/* Events page: the live tail. While the toggle is pressed the page asks /events/tail every
 * 2 s for rows after the newest position it has (same filters) — at once again while the
 * answer says `more` (the server sends at most 200 rows a time, oldest first, so a burst
 * arrives in full) — puts those it does not show yet in their place (newest first) and keeps
 * at most MAX_ROWS rows in the table. The status line speaks only when rows arrive (or the
 * tail pauses), never on every quiet check. */
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
    let paused = false;

    const on = () => toggle.getAttribute("aria-pressed") === "true";
    const seen = () => new Set([...body.querySelectorAll("tr[data-id]")].map((tr) => tr.dataset.id));

    function say(text) {
      if (state && state.textContent !== text) state.textContent = text;
    }

    /* Insert `rows` (newest first) among the shown rows, which are newest first too. */
    function place(rows) {
      let next = body.querySelector("tr[data-id]");
      for (const tr of rows) {
        while (next && next.dataset.id > tr.dataset.id) next = next.nextElementSibling;
        body.insertBefore(tr, next);
      }
    }

    async function poll() {
      if (busy) return;
      busy = true;
      let again = false;
      try {
        const query = toggle.dataset.query;
        const url = `/events/tail?after=${encodeURIComponent(after)}${query ? `&${query}` : ""}`;
        const answer = await OC.api("GET", url);
        after = answer.newest || after;
        if (paused) say("");
        paused = false;
        again = Boolean(answer.more) && on();
        if (answer.count) {
          const template = document.createElement("template");
          template.innerHTML = `<table><tbody>${answer.html}</tbody></table>`;
          const shown = seen();
          const fresh = [...template.content.querySelectorAll("tr[data-id]")].filter((tr) => !shown.has(tr.dataset.id));
          if (fresh.length) {
            place(fresh);
            document.querySelector(".empty")?.remove();
            while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
            const many = fresh.length === 1 ? "1 new event" : `${fresh.length} new events`;
            say(`Live: ${many} at ${new Date().toLocaleTimeString()}.`);
          }
        }
      } catch (err) {
        paused = true;
        say(`Live tail paused: ${err.message}`);
      } finally {
        busy = false;
      }
      if (again) poll();
    }

    function set(pressed) {
      toggle.setAttribute("aria-pressed", String(pressed));
      toggle.textContent = pressed ? "Live tail: on" : "Live tail";
      clearInterval(timer);
      timer = null;
      if (pressed) {
        poll();
        timer = setInterval(poll, EVERY_MS);
      } else {
        say("");
      }
    }

    toggle.addEventListener("click", () => set(!on()));
    document.addEventListener("visibilitychange", () => {
      if (on() && !document.hidden) poll();
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
