/* Device form: checks the address and the labels before the API is asked, so a typing
 * mistake is explained in the form at once (the API checks again and its answer is shown
 * in the same place). */
"use strict";

(() => {
  const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  const IPV6 = /^[0-9a-fA-F:.]{2,45}$/;

  function problem(form) {
    const address = form.querySelector("input[name=address]");
    if (address) {
      const value = address.value.trim();
      if (!IPV4.test(value) && !(value.includes(":") && IPV6.test(value))) {
        return `Address: "${value}" is not an IPv4 or IPv6 address.`;
      }
    }
    for (const name of ["groups", "tags"]) {
      const input = form.querySelector(`input[name=${name}]`);
      const labels = input ? input.value.split(",").map((s) => s.trim()).filter(Boolean) : [];
      const long = labels.find((s) => s.length > 64);
      if (long) return `${name[0].toUpperCase()}${name.slice(1)}: "${long.slice(0, 20)}…" is longer than 64 characters.`;
      if (labels.length > 64) return `${name[0].toUpperCase()}${name.slice(1)}: at most 64.`;
    }
    return "";
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.querySelector("form[data-device-form]");
    if (!form) return;
    form.addEventListener("input", () => OC.showError(form, ""));
    form.addEventListener("submit", (event) => {
      const message = problem(form);
      if (!message) return;
      event.preventDefault();
      event.stopPropagation();
      OC.showError(form, message);
      form.querySelector("[data-error]")?.focus?.();
    });
  });
})();
