/* Alerts, one alert, silences: the bulk bar and the body transforms of the silence and
 * maintenance-window forms (see app.js for the data-api / data-transform conventions). */
"use strict";

(() => {
  const now = () => Date.now() / 1000;
  const value = (form, name) => (form.elements[name]?.value || "").trim();
  const list = (text) => text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  const escapeRegex = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  /* A silence: matchers from data-matchers (one alert) or the m<i>_label/op/value rows. */
  OC.transforms.silence = (body, form) => {
    let matchers;
    if (form.dataset.matchers) {
      matchers = JSON.parse(form.dataset.matchers);
    } else {
      matchers = [];
      for (let i = 0; form.elements[`m${i}_label`]; i += 1) {
        const label = value(form, `m${i}_label`);
        if (label) matchers.push({ label, op: value(form, `m${i}_op`) || "=", value: form.elements[`m${i}_value`].value });
      }
    }
    const out = { matchers, ends_at: now() + Number(body.duration || 3600) };
    if (body.comment) out.comment = body.comment;
    return out;
  };

  /* A maintenance window: weekly (days, start, minutes) or cron, over devices/groups/sites. */
  OC.transforms.window = (body, form) => {
    const scope = {};
    for (const key of ["devices", "groups", "sites"]) {
      const values = list(value(form, key));
      if (values.length) scope[key] = values;
    }
    const duration = Math.round(Number(value(form, "minutes") || 60) * 60);
    const timezone = value(form, "timezone") || "UTC";
    const cron = value(form, "cron");
    const schedule = cron
      ? { kind: "cron", cron, duration, timezone }
      : {
          kind: "weekly", duration, timezone, start: value(form, "start") || "00:00",
          days: [...form.querySelectorAll('input[name="day"]:checked')].map((box) => box.value),
        };
    const out = { name: body.name, scope, schedule };
    if (body.comment) out.comment = body.comment;
    return out;
  };

  const bar = () => document.querySelector("[data-bulk]");
  const ticked = () => [...document.querySelectorAll('input[name="ids"]:checked')];

  function count() {
    const box = bar();
    if (!box) return;
    const n = ticked().length;
    box.querySelector("[data-bulk-count]").textContent = String(n);
    box.classList.toggle("some", n > 0);
  }

  function fail(message) {
    const slot = bar()?.querySelector("[data-error]");
    if (slot) { slot.textContent = message; slot.hidden = !message; }
    if (message) OC.toast(message, "error");
  }

  async function finish(message) {
    for (const box of ticked()) box.checked = false;
    for (const all of document.querySelectorAll("[data-select-all]")) all.checked = false;
    OC.toast(message);
    await OC.refresh();
    count();
  }

  async function bulk(button) {
    const ids = ticked().map((box) => box.value);
    if (!ids.length) { fail("Select one or more alerts first."); return; }
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    fail("");
    button.disabled = true;
    try {
      let done = 0;
      let failed = 0;
      for (let start = 0; start < ids.length; start += 500) {
        const answer = await OC.api("POST", "/api/v1/alerts/bulk", { ids: ids.slice(start, start + 500), action: button.dataset.bulkAction });
        done += answer.done;
        failed += answer.failed;
      }
      await finish(`${button.dataset.done}: ${done}${failed ? `, ${failed} not found` : ""}`);
    } catch (err) {
      fail(err.message);
    } finally {
      button.disabled = false;
    }
  }

  async function silence(form) {
    const boxes = ticked();
    if (!boxes.length) { fail("Select one or more alerts first."); return; }
    fail("");
    const ends_at = now() + Number(value(form, "duration") || 3600);
    const comment = value(form, "comment");
    let bodies;
    if (value(form, "scope") === "devices") {
      const devices = [...new Set(boxes.map((box) => box.dataset.device))];
      const matcher = devices.length === 1
        ? { label: "device_id", op: "=", value: devices[0] }
        : { label: "device_id", op: "=~", value: devices.map(escapeRegex).join("|") };
      bodies = [{ matchers: [matcher], ends_at }];
    } else {
      bodies = boxes.map((box) => ({ matchers: JSON.parse(box.dataset.matchers), ends_at }));
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      for (const body of bodies) {
        if (comment) body.comment = comment;
        await OC.api("POST", "/api/v1/silences", body);
      }
      await finish(`Silenced: ${bodies.length} silence${bodies.length === 1 ? "" : "s"} created`);
    } catch (err) {
      fail(err.message);
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-bulk-action]");
    if (button) { event.preventDefault(); bulk(button); }
  });
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("[data-bulk-silence]");
    if (form) { event.preventDefault(); silence(form); }
  });
  document.addEventListener("change", (event) => {
    if (event.target.matches('input[name="ids"], [data-select-all]')) count();
  });
  document.addEventListener("oc:refreshed", count);
  document.addEventListener("DOMContentLoaded", count);
})();
