// Secure form pages: keep progress on this device (localStorage), show conditional
// questions, and the signature pad (canvas → PNG data URL in a hidden field). The form works
// without this script, except drawing a signature.
(function () {
  "use strict";

  // A finished or closed form forgets its draft.
  document.querySelectorAll("[data-clear-draft]").forEach(function (el) {
    try { localStorage.removeItem(el.getAttribute("data-clear-draft")); } catch (_) { /* private mode */ }
  });

  const form = document.getElementById("pf-form");
  if (!form) return;
  const key = form.getAttribute("data-storage-key");
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  function controls(name) {
    return Array.prototype.filter.call(form.elements, function (el) { return el.name === name; });
  }

  function valuesOf(name) {
    return controls(name).filter(function (el) {
      if (el.type === "radio" || el.type === "checkbox") return el.checked;
      return el.value !== "";
    }).map(function (el) { return el.value; });
  }

  // ---- conditional questions ----
  const conditional = form.querySelectorAll("[data-show-if]");
  function applyConditions() {
    conditional.forEach(function (box) {
      const parentValues = valuesOf(box.getAttribute("data-show-if"));
      const parentBox = form.querySelector('[data-field="' + box.getAttribute("data-show-if") + '"]');
      const parentShown = !parentBox || !parentBox.hidden;
      const show = parentShown && parentValues.indexOf(box.getAttribute("data-show-value")) >= 0;
      box.hidden = !show;
      box.querySelectorAll("input, textarea, select").forEach(function (el) { el.disabled = !show; });
    });
  }
  form.querySelectorAll(".pf-condition").forEach(function (p) { p.hidden = true; });

  // ---- progress ----
  const progress = document.getElementById("pf-progress");
  function updateProgress() {
    if (!progress) return;
    const fields = form.querySelectorAll("[data-field]");
    let shown = 0, answered = 0;
    fields.forEach(function (box) {
      if (box.hidden) return;
      shown += 1;
      if (valuesOf(box.getAttribute("data-field")).length || box.querySelector('input[type="file"]') && box.querySelector('input[type="file"]').files.length) answered += 1;
    });
    progress.hidden = false;
    progress.textContent = answered + " of " + shown + " answered";
  }

  // ---- draft ----
  function save() {
    const draft = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name.charAt(0) === "_" || el.type === "file" || el.type === "hidden") return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      (draft[el.name] = draft[el.name] || []).push(el.value);
    });
    try { localStorage.setItem(key, JSON.stringify(draft)); } catch (_) { /* full or private */ }
  }
  function restore() {
    let draft = null;
    try { draft = JSON.parse(localStorage.getItem(key) || "null"); } catch (_) { draft = null; }
    if (!draft || summary) return;
    Object.keys(draft).forEach(function (name) {
      controls(name).forEach(function (el) {
        if (el.type === "file" || el.type === "hidden") return;
        if (el.type === "radio" || el.type === "checkbox") el.checked = draft[name].indexOf(el.value) >= 0;
        else if (!el.value) el.value = draft[name][0] || "";
      });
    });
  }

  // ---- signature pads ----
  form.querySelectorAll("[data-signature]").forEach(function (box) {
    const id = box.getAttribute("data-signature");
    const canvas = document.getElementById("c-" + id);
    const input = document.getElementById("i-" + id);
    const ctx = canvas.getContext("2d");
    let drawing = false, drawn = false;
    function reset() {
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.strokeStyle = "#111111";
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      drawn = false;
      input.value = "";
    }
    function point(e) {
      const r = canvas.getBoundingClientRect();
      return { x: (e.clientX - r.left) * canvas.width / r.width, y: (e.clientY - r.top) * canvas.height / r.height };
    }
    canvas.addEventListener("pointerdown", function (e) {
      drawing = true;
      canvas.setPointerCapture(e.pointerId);
      const p = point(e);
      ctx.beginPath();
      ctx.moveTo(p.x, p.y);
      ctx.lineTo(p.x + 0.1, p.y + 0.1);
      ctx.stroke();
      e.preventDefault();
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      const p = point(e);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      drawn = true;
      e.preventDefault();
    });
    function end() {
      if (!drawing) return;
      drawing = false;
      drawn = true;
      input.value = canvas.toDataURL("image/png");
      updateProgress();
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    box.querySelector("[data-clear-signature]").addEventListener("click", function () { reset(); updateProgress(); });
    reset();
    void drawn;
  });

  restore();
  applyConditions();
  updateProgress();
  form.addEventListener("input", function () { applyConditions(); save(); updateProgress(); });
  form.addEventListener("change", function () { applyConditions(); save(); updateProgress(); });
  form.addEventListener("submit", function () {
    const button = document.getElementById("pf-submit");
    if (button) { button.disabled = true; button.textContent = "Sending…"; }
  });
})();
