/* Rules pages: the editor's Validate button, the Test panel, and saving the JSON document.
 *
 *   <form data-rule-save data-rule-id="..">  the textarea "document" (JSON), checked, then
 *                                          POST /api/v1/rules (new) or PUT /api/v1/rules/{id}
 *   <button data-validate>                 POST /api/v1/rules/validate, problems listed by field
 *   <form data-rule-test data-rule-source="#id" | data-rule="{json}">
 *                                          POST /api/v1/rules/test, results in [data-test-result]
 *                                          (rendered only for roles with rules:write, which
 *                                          the trial route asks for)
 */
"use strict";

(() => {
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  /* Problems of an invalid rule, or null when it is valid (never a 4xx: the browser logs those). */
  async function check(documentValue) {
    const answer = await OC.api("POST", "/api/v1/rules/validate?verdict=true", documentValue);
    return answer.valid ? null : answer.problems.map((p) => [p.field, p.message]);
  }

  function readDocument(textarea) {
    try {
      const value = JSON.parse(textarea.value);
      textarea.removeAttribute("aria-invalid");
      return value;
    } catch (err) {
      textarea.setAttribute("aria-invalid", "true");
      const error = new Error(`The rule is not valid JSON: ${err.message}`);
      error.json = err.message;
      throw error;
    }
  }

  function showProblems(box, textarea, list) {
    textarea.setAttribute("aria-invalid", "true");
    box.replaceChildren(
      el("p", { class: "bad" }, el("strong", {}, "Not valid."), " Fix these fields:"),
      el("ul", { class: "problems" }, list.map(([field, text]) => el("li", {}, el("code", {}, field), " ", text))),
    );
    box.hidden = false;
  }

  /* The editor's document, checked: the rule, or null after showing why it is not valid. */
  async function checkedDocument(form) {
    const box = form.querySelector("[data-validation]");
    const textarea = form.querySelector("textarea[name=document]");
    let documentValue;
    try {
      documentValue = readDocument(textarea);
    } catch (err) {
      showProblems(box, textarea, [["JSON", err.json]]);
      return null;
    }
    const problems = await check(documentValue);
    if (problems) {
      showProblems(box, textarea, problems);
      return null;
    }
    textarea.removeAttribute("aria-invalid");
    return documentValue;
  }

  async function busy(form, work) {
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    form.setAttribute("aria-busy", "true");
    OC.showError(form, "");
    try {
      await work();
    } catch (err) {
      OC.showError(form, err.message);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      form.removeAttribute("aria-busy");
    }
  }

  function validate(form) {
    return busy(form, async () => {
      const rule = await checkedDocument(form);
      if (!rule) return;
      const answer = await OC.api("POST", "/api/v1/rules/validate", rule);
      const box = form.querySelector("[data-validation]");
      box.replaceChildren(el("p", { class: "good" }, el("strong", {}, "Valid."),
        ` Rule ${answer.rule.id}: ${answer.rule.kind} rule of the ${answer.rule.agent} agent, severity ${answer.rule.severity}.`));
      box.hidden = false;
    });
  }

  function save(form) {
    return busy(form, async () => {
      const rule = await checkedDocument(form);
      if (!rule) return;
      form.querySelector("[data-validation]").hidden = true;
      const id = form.dataset.ruleId;
      const saved = id
        ? await OC.api("PUT", `/api/v1/rules/${encodeURIComponent(id)}`, rule)
        : await OC.api("POST", "/api/v1/rules", rule);
      OC.toast("Rule saved");
      location.assign(`/rules/${encodeURIComponent(saved.id)}`);
    });
  }

  /* The Test panel */

  function chosenSource(form) {
    const checked = form.querySelector("input[name=on]:checked");
    return checked ? checked.value : "lines";
  }

  function syncSource(form) {
    const on = chosenSource(form);
    for (const part of form.querySelectorAll("[data-when]")) part.hidden = part.dataset.when !== on;
  }

  /* The rule to test: the editor's (checked first, its problems shown there) or the page's. */
  async function ruleOf(form) {
    if (!form.dataset.ruleSource) return JSON.parse(form.dataset.rule);
    const editor = document.querySelector(form.dataset.ruleSource).closest("form");
    const rule = await checkedDocument(editor);
    if (!rule) throw new Error("The rule is not valid: see the problems listed under it.");
    return rule;
  }

  function evidenceText(indexes, stored) {
    if (!indexes.length) return "no line of this test";
    const unit = stored ? "event" : "line";
    const numbers = indexes.map((i) => i + 1).join(", ");
    return `${unit}${indexes.length > 1 ? "s" : ""} ${numbers}`;
  }

  function renderFinding(finding, stored) {
    const labels = Object.entries(finding.labels || {});
    const counted = finding.count > 1 || finding.window_seconds
      ? ` · ${finding.count} events${finding.window_seconds ? ` within ${finding.window_seconds} s` : ""}` : "";
    return el("li", { class: `finding finding-${finding.kind}` },
      el("div", { class: "finding-head" },
        el("span", { class: `sev sev-${finding.severity}` }, finding.severity),
        el("span", { class: `chip kind-${finding.kind}` }, finding.kind),
        el("strong", {}, finding.title || "(no title)")),
      finding.summary ? el("p", {}, finding.summary) : null,
      el("p", { class: "muted" }, `Evidence: ${evidenceText(finding.evidence, stored)}${counted}`),
      labels.length ? el("p", { class: "chips" }, labels.map(([k, v]) => el("span", { class: "chip mono" }, `${k}=${v}`))) : null,
      el("p", { class: "muted small" }, finding.reason, " · fingerprint ", el("code", {}, finding.fingerprint.slice(0, 12))),
    );
  }

  function resultCell(line) {
    if (!line.parsed) return el("span", { class: "result result-unparsed" }, "not parsed");
    if (line.matched) return el("span", { class: "result result-match" }, `✓ ${line.roles.join(", ")}`);
    return el("span", { class: "result result-none" }, "no match");
  }

  function lineCell(line, stored) {
    const ev = line.event;
    const text = stored && ev ? `${ev.host} ${ev.program}: ${ev.message}` : line.text;
    const detail = !line.parsed
      ? el("span", { class: "why" }, `The parser refused it: ${line.error}`)
      : el("span", { class: "muted small" },
        `${ev.host || "no host"} · ${ev.program || "no program"} · ${ev.domain}${ev.severity ? ` · ${ev.severity}` : ""} · ${ev.format}/${ev.parse_status}`);
    return el("td", { class: "msg" }, el("span", { class: "line-text" }, text), el("br"), detail);
  }

  function renderResult(box, answer, stored) {
    const t = answer.totals;
    const unit = stored ? "events" : "lines";
    const summary = el("p", { class: "totals", role: "status" },
      el("strong", {}, `${t.matched} of ${t.lines} ${unit} matched`),
      ` · ${t.findings} finding${t.findings === 1 ? "" : "s"} (${t.problems} problem, ${t.clears} clear)`,
      t.unparsed ? ` · ${t.unparsed} not parsed` : "",
      answer.truncated ? " · only the newest 10,000 events were tried" : "");
    const findings = answer.findings.length
      ? el("ol", { class: "findings" }, answer.findings.map((f) => renderFinding(f, stored)))
      : el("p", { class: "muted" }, `No finding: the rule would raise nothing on these ${unit}.`);
    const rows = answer.lines.map((line) => el("tr", { class: line.matched ? "hit" : "" },
      el("td", { class: "num" }, String(line.index + 1)),
      el("td", { class: "nowrap" }, resultCell(line)),
      lineCell(line, stored)));
    const table = answer.lines.length
      ? el("div", { class: "table-wrap" }, el("table", { class: "test-lines" },
        el("caption", { class: "sr" }, `Each ${stored ? "event" : "line"} and whether the rule matched it`),
        el("thead", {}, el("tr", {},
          el("th", { scope: "col", class: "num" }, "#"),
          el("th", { scope: "col" }, "Result"),
          el("th", { scope: "col" }, stored ? "Event" : "Line"))),
        el("tbody", {}, rows)))
      : el("p", { class: "muted" }, stored ? "No event was stored in this range." : "No line to test.");
    box.replaceChildren(summary,
      el("h3", {}, `Findings it would raise (${answer.findings.length})`), findings,
      el("h3", {}, stored ? "Events" : "Lines"), table);
  }

  function runTest(form) {
    const box = form.parentElement.querySelector("[data-test-result]");
    return busy(form, async () => {
      const body = { rule: await ruleOf(form) };
      const stored = chosenSource(form) === "stored";
      if (stored) {
        body.since = Date.now() / 1000 - Number(form.querySelector("select[name=range]").value);
      } else {
        body.lines = form.querySelector("textarea[name=lines]").value.split(/\r?\n/).filter((s) => s.trim() !== "");
        if (!body.lines.length) throw new Error("Paste at least one log line.");
      }
      box.replaceChildren();
      renderResult(box, await OC.api("POST", "/api/v1/rules/test", body), stored);
    });
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-validate]");
    if (button) { event.preventDefault(); validate(button.closest("form")); }
  });
  document.addEventListener("change", (event) => {
    const form = event.target.closest("form[data-rule-test]");
    if (form && event.target.name === "on") syncSource(form);
  });
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.matches("form[data-rule-test]")) { event.preventDefault(); runTest(form); }
    if (form.matches("form[data-rule-save]")) { event.preventDefault(); save(form); }
  });
  document.addEventListener("DOMContentLoaded", () => {
    for (const form of document.querySelectorAll("form[data-rule-test]")) syncSource(form);
  });
})();
