/* OpsConductor console: changes through the JSON API, live updates, small conveniences.
 *
 * Conventions the pages use (no inline scripts; the CSP forbids them):
 *   <form data-api="POST /api/v1/..." data-then="reload|redirect:/path|event">  fields → JSON body
 *       field types: data-type="number|bool|list|json" on an input; empty optional fields are left out
 *   <button data-action="POST /api/v1/..." data-confirm="Really?" data-then="reload">
 *   <section id="x" data-live="alert,finding">  re-rendered from the server when those change
 *   <input type="checkbox" data-select-all="ids">  ticks every input[name=ids] of the page
 *   <time data-ago datetime="...">  kept "n min ago" fresh
 */
"use strict";

const OC = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  class ApiError extends Error {
    constructor(status, body) {
      super(describe(status, body));
      this.status = status;
      this.body = body;
    }
  }

  function describe(status, body) {
    const detail = body && body.detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".") || "value"}: ${d.msg}`).join("; ");
    }
    if (typeof detail === "string" && detail) return detail;
    return status === 0 ? "The server did not answer. Check the connection and try again." : `Request failed (${status}).`;
  }

  async function api(method, url, body) {
    const headers = { "X-CSRF-Token": csrf(), Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      throw new ApiError(0, null);
    }
    if (response.status === 401) {
      window.location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
      throw new ApiError(401, { detail: "Your session ended; log in again." });
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (err) { data = { detail: text.slice(0, 200) }; }
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function toast(message, kind) {
    const box = document.querySelector("[data-toast]");
    if (!box) return;
    box.textContent = message;
    box.className = `toast ${kind || "ok"}`;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 8000 : 4000);
  }

  function fieldValue(input) {
    const type = input.dataset.type;
    if (input.type === "checkbox" && type === "bool") return input.checked;
    if (input.type === "checkbox") return input.checked ? input.value : undefined;
    const raw = input.value;
    if (raw === "" && !input.required && !input.dataset.keepEmpty) return undefined;
    if (type === "number") return Number(raw);
    if (type === "bool") return raw === "true";
    if (type === "list") return raw.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
    if (type === "lines") return raw.split("\n").filter((s) => s.trim() !== "");
    if (type === "json") return raw.trim() ? JSON.parse(raw) : undefined;
    return raw;
  }

  function formBody(form) {
    const body = {};
    for (const input of form.querySelectorAll("input[name], select[name], textarea[name]")) {
      if (input.disabled || input.dataset.skip !== undefined) continue;
      const value = fieldValue(input);
      if (value === undefined) continue;
      const name = input.name;
      if (input.type === "checkbox" && input.dataset.type !== "bool") {
        (body[name] = body[name] || []).push(value);
      } else {
        body[name] = value;
      }
    }
    return body;
  }

  function showError(form, message) {
    const slot = form.querySelector("[data-error]");
    if (slot) {
      slot.textContent = message;
      slot.hidden = !message;
    } else if (message) {
      toast(message, "error");
    }
  }

  function fill(url, element) {
    return url.replace(/\{(\w+)\}/g, (_, key) => encodeURIComponent(element.dataset[key] || ""));
  }

  async function after(then, result, element) {
    if (!then || then === "reload") { location.reload(); return; }
    if (then.startsWith("redirect:")) {
      location.assign(fill(then.slice(9), element).replace("%7Bid%7D", encodeURIComponent(result?.id || "")));
      return;
    }
    if (then === "refresh") { await refresh(); return; }
    element.dispatchEvent(new CustomEvent("oc:done", { bubbles: true, detail: result }));
  }

  async function submitForm(form, event) {
    event.preventDefault();
    const [method, url] = form.dataset.api.split(" ");
    let body;
    try {
      body = formBody(form);
    } catch (err) {
      showError(form, `Not valid JSON: ${err.message}`);
      return;
    }
    const transform = form.dataset.transform && OC.transforms[form.dataset.transform];
    if (transform) body = transform(body, form);
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    form.setAttribute("aria-busy", "true");
    showError(form, "");
    try {
      const result = await api(method, fill(url, form), method === "DELETE" && !Object.keys(body).length ? undefined : body);
      if (form.dataset.done) toast(form.dataset.done);
      await after(form.dataset.then, result, form);
    } catch (err) {
      showError(form, err.message);
    } finally {
      if (button) button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  }

  async function runAction(button) {
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    const [method, url] = button.dataset.action.split(" ");
    const body = button.dataset.body ? JSON.parse(button.dataset.body) : (method === "POST" ? {} : undefined);
    button.disabled = true;
    try {
      const result = await api(method, fill(url, button), body);
      if (button.dataset.done) toast(button.dataset.done);
      await after(button.dataset.then, result, button);
    } catch (err) {
      toast(err.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  /* Live: one WebSocket per page; sections marked data-live re-render when their types change. */
  const live = {
    socket: null, handlers: [], types: new Set(), backoff: 1000, timer: null,
    subscribe(types, handler) {
      types.forEach((t) => this.types.add(t));
      if (handler) this.handlers.push(handler);
      if (!this.socket) this.connect();
      else if (this.socket.readyState === WebSocket.OPEN) this.send();
    },
    send() { this.socket.send(JSON.stringify({ subscribe: [...this.types] })); },
    state(label, ok) {
      const dot = document.querySelector("[data-live-state]");
      if (!dot) return;
      dot.dataset.liveState = ok ? "on" : "off";
      dot.querySelector("[data-live-label]").textContent = label;
    },
    connect() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
      this.socket = socket;
      socket.addEventListener("open", () => { this.backoff = 1000; this.send(); });
      socket.addEventListener("message", (event) => {
        let frame;
        try { frame = JSON.parse(event.data); } catch (err) { return; }
        if (frame.type === "subscribed") { this.state("live", true); return; }
        if (frame.type === "error") return;
        for (const handler of this.handlers) handler(frame);
      });
      socket.addEventListener("close", (event) => {
        this.socket = null;
        this.state("reconnecting", false);
        if (event.code === 4401) { location.reload(); return; }
        if (event.code === 4403) { this.state("not allowed", false); return; }
        setTimeout(() => this.connect(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, 30000);
      });
    },
  };

  /* A section the person is using is left alone: focus in a field, or a form with changes. */
  function busy(section) {
    const active = document.activeElement;
    if (active && section.contains(active) && active.matches("input,select,textarea")) return true;
    for (const field of section.querySelectorAll("input,textarea,select")) {
      if (field.name === "ids" || field.type === "hidden") continue;
      if (field.matches("select")) {
        if ([...field.options].some((o) => o.selected !== o.defaultSelected)) return true;
      } else if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) return true;
      } else if (field.value !== field.defaultValue) {
        return true;
      }
    }
    return false;
  }

  function replaceSection(section, fresh) {
    const active = document.activeElement;
    const focusId = active && section.contains(active) ? active.id : "";
    const ticked = new Set([...section.querySelectorAll("input[name=ids]:checked")].map((i) => i.value));
    section.replaceChildren(...fresh.childNodes);
    for (const box of section.querySelectorAll("input[name=ids]")) box.checked = ticked.has(box.value);
    if (focusId) document.getElementById(focusId)?.focus();
  }

  let refreshing = null;
  let pending = false;
  async function refresh() {
    if (refreshing) { pending = true; return refreshing; }
    refreshing = (async () => {
      try {
        const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (!response.ok) return;
        const doc = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const section of document.querySelectorAll("[data-live]")) {
          const fresh = doc.getElementById(section.id);
          if (fresh && !busy(section)) replaceSection(section, fresh);
        }
        document.dispatchEvent(new CustomEvent("oc:refreshed"));
      } finally {
        refreshing = null;
        if (pending) { pending = false; schedule(); }
      }
    })();
    return refreshing;
  }

  /* At most one re-render every MIN_GAP ms, a short pause after the first change of a burst. */
  const MIN_GAP = 2000;
  let timer = null;
  let lastRefresh = 0;
  function schedule() {
    if (timer) return;
    const wait = Math.max(300, MIN_GAP - (Date.now() - lastRefresh));
    timer = setTimeout(() => { timer = null; lastRefresh = Date.now(); refresh(); }, wait);
  }

  /* data-live-filter="alert_id=…" keeps a section to the changes of one record. */
  function concerns(section, family, data) {
    if (!section.dataset.live.split(",").map((t) => t.trim()).includes(family)) return false;
    const filter = section.dataset.liveFilter;
    if (!filter || !data) return true;
    const [key, value] = filter.split("=");
    return String(data[key]) === value;
  }

  /* Heartbeats arrive every few seconds: a status section is re-rendered when a component's
     status changes, and otherwise at most every STATUS_GAP ms (to move its "last seen"). */
  const STATUS_GAP = 30000;
  function watchLive() {
    const sections = [...document.querySelectorAll("[data-live]")];
    const types = new Set();
    sections.forEach((s) => s.dataset.live.split(",").forEach((t) => t.trim() && types.add(t.trim())));
    if (!types.size) {
      document.querySelector("[data-live-state]")?.setAttribute("hidden", "");
      return;
    }
    const statuses = new Map();
    let lastStatus = Date.now();
    live.subscribe([...types], (frame) => {
      const family = frame.type.split(".")[0];
      if (!sections.some((s) => concerns(s, family, frame.data))) return;
      if (family === "status") {
        const { component, status } = frame.data || {};
        const changed = statuses.has(component) && statuses.get(component) !== status;
        statuses.set(component, status);
        if (!changed && Date.now() - lastStatus < STATUS_GAP) return;
        lastStatus = Date.now();
      }
      schedule();
    });
  }

  function tickTimes() {
    const now = Date.now() / 1000;
    for (const el of document.querySelectorAll("time[data-ago]")) {
      const at = Date.parse(el.getAttribute("datetime")) / 1000;
      if (Number.isNaN(at)) continue;
      const s = now - at;
      const span = (v) => v >= 86400 ? `${Math.floor(v / 86400)} d` : v >= 3600 ? `${Math.floor(v / 3600)} h` : v >= 60 ? `${Math.floor(v / 60)} min` : `${Math.floor(v)} s`;
      el.textContent = s < 0 ? `in ${span(-s)}` : s < 5 ? "just now" : `${span(s)} ago`;
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.api) submitForm(form, event);
  });
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest(".menu-toggle");
    if (toggle) {
      const open = toggle.closest(".menu").classList.toggle("open");
      toggle.setAttribute("aria-expanded", String(open));
      return;
    }
    const button = event.target.closest("[data-action]");
    if (button) { event.preventDefault(); runAction(button); }
  });
  document.addEventListener("change", (event) => {
    const all = event.target.closest("[data-select-all]");
    if (!all) return;
    for (const box of document.querySelectorAll(`input[name="${all.dataset.selectAll}"]`)) box.checked = all.checked;
  });
  document.addEventListener("DOMContentLoaded", () => {
    watchLive();
    setInterval(tickTimes, 30000);
  });

  return { api, toast, live, refresh, formBody, showError, transforms: {}, ApiError };
})();
window.OC = OC;
