/* Admin pages: the new API key's secret (shown once, from the API's answer only), copying it,
 * and the audit log's hash-chain check. */
"use strict";

(() => {
  function showSecret(result) {
    const box = document.getElementById("new-secret");
    if (!box || !result || !result.key) return;
    box.querySelector("[data-secret]").textContent = result.key;
    box.querySelector("[data-secret-name]").textContent = result.name || "";
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
    document.getElementById("new-key")?.reset();
    refreshKeys();
  }

  async function refreshKeys() {
    try {
      const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById("keys");
      const list = document.getElementById("keys");
      if (fresh && list) list.replaceChildren(...fresh.childNodes);
    } catch (err) {
      /* the list catches up on the next reload */
    }
  }

  async function copy(button) {
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.textContent);
      OC.toast("Copied to the clipboard");
    } catch (err) {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      OC.toast("Copying was refused; the key is selected: press Ctrl+C", "error");
    }
  }

  function showVerdict(result) {
    const slot = document.getElementById("verify-result");
    if (!slot || !result) return;
    slot.hidden = false;
    slot.classList.toggle("bad", !result.intact);
    slot.classList.toggle("good", !!result.intact);
    slot.textContent = result.intact
      ? `Hash chain intact: ${result.records.toLocaleString()} records checked.`
      : `Hash chain BROKEN after ${result.records.toLocaleString()} records: ${result.fault || "unknown fault"}`;
  }

  document.addEventListener("oc:done", (event) => {
    const target = event.target;
    if (target.id === "new-key") showSecret(event.detail);
    else if (target.id === "verify-chain") showVerdict(event.detail);
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (button) copy(button);
  });
})();
