/* Profile: the two-factor set-up's secret, URI and QR code from the API's answer. */
"use strict";

document.addEventListener("oc:done", (event) => {
  if (event.target.id !== "totp-setup" || !event.detail) return;
  const pending = document.getElementById("totp-pending");
  pending.querySelector("[data-totp-secret]").textContent = event.detail.secret;
  pending.querySelector("[data-totp-uri]").textContent = event.detail.otpauth_uri;
  const qr = document.getElementById("totp-qr");
  qr.addEventListener("load", () => { qr.hidden = false; }, { once: true });
  qr.src = `/profile/totp.svg?t=${Date.now()}`;
  event.target.hidden = true;
  pending.hidden = false;
  pending.querySelector("input[name=code]")?.focus();
});
