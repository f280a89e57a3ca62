// The staff inbox: live updates over SSE, keyboard flow, the composer's live estimate,
// notifications and idle sign-out. Small and hand-written; every page works without it.
// Server HTML (already escaped) is parsed with DOMParser; any text we make is set with
// textContent, never as markup.
(function () {
  "use strict";
  const meta = function (name) {
    const el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") : "";
  };
  const CSRF = meta("csrf-token");
  const IDLE_MINUTES = parseInt(meta("idle-minutes"), 10) || 15;

  function post(url, fields) {
    const params = new URLSearchParams(fields || {});
    return fetch(url, {
      method: "POST",
      headers: { "X-CSRF-Token": CSRF, "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: params.toString(),
      credentials: "same-origin",
    });
  }

  async function fetchHtml(url) {
    // Marked as background work: a refresh after a live event is not the person's activity,
    // so it must not keep an unattended session alive (the server's idle limit).
    const r = await fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html", "X-Frontdesk-Background": "1" } });
    if (r.redirected && new URL(r.url).pathname === "/login") { location.href = r.url; return null; }
    if (!r.ok) return null;
    return new DOMParser().parseFromString(await r.text(), "text/html");
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  // ---- idle sign-out -----------------------------------------------------------------
  let idleTimer = null;
  function resetIdle() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(async function () {
      try {
        // Not followed: the redirect to /login would be cut off by the navigation below.
        await fetch("/logout", {
          method: "POST",
          headers: { "X-CSRF-Token": CSRF, "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ _csrf: CSRF }).toString(),
          credentials: "same-origin",
          redirect: "manual",
        });
      } catch (_) { /* the server expires it too */ }
      location.href = "/login?expired=1";
    }, IDLE_MINUTES * 60 * 1000);
  }
  ["keydown", "mousedown", "pointerdown", "touchstart", "wheel", "input"].forEach(function (t) {
    document.addEventListener(t, resetIdle, { passive: true, capture: true });
  });
  resetIdle();

  // ---- global keys: "/" focuses search -------------------------------------------------
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    const search = document.getElementById("global-search");
    if (search) { e.preventDefault(); search.focus(); }
  });

  // ---- live events -----------------------------------------------------------------------
  const listeners = [];
  let source = null;
  function connect() {
    if (!window.EventSource || source) return;
    source = new EventSource("/events");
    const state = document.getElementById("live-state");
    source.onopen = function () { if (state) state.textContent = "Live"; };
    source.onerror = function () { if (state) state.textContent = "Reconnecting…"; };
    ["message_received", "message_queued", "message_status", "consent_changed", "consent_review",
      "conversation_updated", "note_added", "form_submitted", "urgent_message", "overdue_escalation",
      "lagged"].forEach(function (kind) {
      source.addEventListener(kind, function (e) {
        let data = {};
        try { data = JSON.parse(e.data); } catch (_) { /* ignore */ }
        data.kind = kind;
        listeners.forEach(function (fn) { fn(data); });
      });
    });
  }
  window.addEventListener("pagehide", function () { if (source) source.close(); });

  // Coalesces bursts of events into one refetch.
  function debounce(fn, ms) {
    let t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  // ---- alerts: title badge, sound, notification ------------------------------------------
  const baseTitle = document.title;
  let unseen = 0;
  function badge() {
    document.title = unseen > 0 ? "(" + unseen + ") " + baseTitle : baseTitle;
  }
  function clearBadge() { if (unseen) { unseen = 0; badge(); } }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) clearBadge(); });
  document.addEventListener("keydown", clearBadge);
  document.addEventListener("pointerdown", clearBadge);

  function soundOn() {
    try { return localStorage.getItem("frontdesk-sound") === "on"; } catch (_) { return false; }
  }
  let audio = null;
  function beep() {
    if (!soundOn()) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = 660;
      gain.gain.setValueAtTime(0.0001, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.4);
    } catch (_) { /* no audio */ }
  }
  function notify() {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      // No patient data in the notification: it may show on a shared screen.
      const n = new Notification("New text in Frontdesk", { body: "A patient sent a message.", tag: "frontdesk-new" });
      n.onclick = function () { window.focus(); n.close(); };
    } catch (_) { /* some browsers only notify from a service worker */ }
  }
  listeners.push(function (ev) {
    if (ev.kind !== "message_received" || !ev.attention) return;
    unseen += 1;
    badge();
    beep();
    if (document.hidden) notify();
  });

  // Urgent messages (on-call staff) and overdue escalations (the department's lead): a
  // prominent banner with a link, read out by screen readers, plus sound and notification.
  // No patient data: the banner says what happened and links to the conversation.
  function showAlert(ev) {
    let box = document.getElementById("urgent-alerts");
    if (!box) {
      box = document.createElement("div");
      box.id = "urgent-alerts";
      box.className = "urgent-alerts";
      box.setAttribute("role", "alert");
      const main = document.querySelector("main") || document.body;
      main.insertBefore(box, main.firstChild);
    }
    const urgent = ev.kind === "urgent_message";
    const item = document.createElement("p");
    item.className = urgent ? "urgent-alert" : "overdue-alert";
    const text = document.createElement("strong");
    text.textContent = urgent ? "Urgent message from a patient. " : "A conversation is overdue. ";
    item.appendChild(text);
    if (ev.conversation_id) {
      const link = document.createElement("a");
      link.href = "/c/" + encodeURIComponent(ev.conversation_id);
      link.textContent = "Open the conversation";
      item.appendChild(link);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "secondary";
    close.textContent = "Dismiss";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(document.createTextNode(" "));
    item.appendChild(close);
    box.appendChild(item);
    unseen += 1;
    badge();
    beep();
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        const n = new Notification(urgent ? "Urgent message in Frontdesk" : "Overdue conversation in Frontdesk",
          { body: urgent ? "A patient's text needs attention now." : "A patient has waited past the target.", tag: "frontdesk-" + ev.kind, requireInteraction: urgent });
        n.onclick = function () { window.focus(); n.close(); };
      } catch (_) { /* some browsers only notify from a service worker */ }
    }
  }
  listeners.push(function (ev) {
    if ((ev.kind === "urgent_message" || ev.kind === "overdue_escalation") && ev.alert) showAlert(ev);
  });

  function setupAlertControls() {
    const button = document.getElementById("notify-button");
    if (button && "Notification" in window && Notification.permission === "default") {
      button.hidden = false;
      button.addEventListener("click", function () {
        Notification.requestPermission().then(function () { button.hidden = true; });
      });
    }
    const toggle = document.getElementById("sound-toggle");
    if (toggle) {
      toggle.checked = soundOn();
      toggle.addEventListener("change", function () {
        try { localStorage.setItem("frontdesk-sound", toggle.checked ? "on" : "off"); } catch (_) { /* private mode */ }
        if (toggle.checked) beep();
      });
    }
  }

  // ---- inbox -------------------------------------------------------------------------------
  function setupInbox() {
    const live = document.getElementById("inbox-live");
    if (!live) return;
    const announce = document.getElementById("inbox-announce");
    let selectedId = null;

    function rows() { return Array.prototype.slice.call(live.querySelectorAll("#rows > li.row")); }
    function select(li, focus) {
      rows().forEach(function (r) { r.classList.toggle("selected", r === li); });
      if (!li) return;
      selectedId = li.getAttribute("data-id");
      if (focus) li.querySelector("a").focus();
    }
    function current() {
      const list = rows();
      return list.find(function (r) { return r.getAttribute("data-id") === selectedId; }) || null;
    }
    live.addEventListener("focusin", function (e) {
      const li = e.target.closest && e.target.closest("li.row");
      if (li) select(li, false);
    });

    async function refresh() {
      const url = "/inbox/rows?view=" + encodeURIComponent(live.getAttribute("data-view")) +
        "&page=" + encodeURIComponent(live.getAttribute("data-page"));
      const doc = await fetchHtml(url);
      if (!doc) return;
      const hadFocus = live.contains(document.activeElement);
      live.replaceChildren.apply(live, Array.prototype.slice.call(doc.body.childNodes));
      const again = current();
      if (again) select(again, hadFocus);
    }
    const refreshSoon = debounce(refresh, 150);
    listeners.push(function (ev) {
      if (ev.kind === "message_received" && announce) announce.textContent = "New message. The list is updated.";
      refreshSoon();
    });

    async function act(url, fields, done) {
      const r = await post(url, fields);
      if (!r.ok) {
        let msg = "That did not work.";
        try { msg = (await r.json()).error.message; } catch (_) { /* keep default */ }
        if (announce) announce.textContent = msg;
        return;
      }
      if (announce) announce.textContent = done;
      refresh();
    }

    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      const list = rows();
      if (!list.length) return;
      const li = current();
      const i = li ? list.indexOf(li) : -1;
      if (e.key === "j") { e.preventDefault(); select(list[Math.min(i + 1, list.length - 1)], true); }
      else if (e.key === "k") { e.preventDefault(); select(list[Math.max(i - 1, 0)], true); }
      else if (e.key === "Enter" && li && document.activeElement === document.body) { location.href = "/c/" + selectedId; }
      else if (e.key === "r" && li) { e.preventDefault(); location.href = "/c/" + selectedId + "#reply"; }
      else if (e.key === "e" && li) { e.preventDefault(); act("/c/" + selectedId + "/status", { status: "close" }, "Conversation closed."); }
      else if (e.key === "a" && li) { e.preventDefault(); act("/c/" + selectedId + "/assign", { me: "1" }, "Assigned to you."); }
    });
  }

  // ---- conversation --------------------------------------------------------------------
  function setupConversation() {
    const root = document.getElementById("conversation");
    if (!root) return;
    const id = root.getAttribute("data-id");
    const announce = document.getElementById("thread-announce");
    function thread() { return document.getElementById("thread"); }
    function episodes() { return (thread().getAttribute("data-episodes") || "").split(" "); }

    async function refresh(ev) {
      const before = {};
      thread().querySelectorAll("li[data-message-id]").forEach(function (li) {
        before[li.getAttribute("data-message-id")] = li.getAttribute("data-status");
      });
      const all = new URLSearchParams(location.search).get("all") === "1" ? "?all=1" : "";
      const doc = await fetchHtml("/c/" + id + "/thread" + all);
      if (!doc) return;
      const fresh = doc.getElementById("thread");
      if (!fresh) return;
      const stick = thread().scrollHeight - thread().scrollTop - thread().clientHeight < 40;
      thread().replaceWith(document.adoptNode(fresh));
      if (stick) thread().scrollTop = thread().scrollHeight;
      // Tell screen readers what changed, in a few words.
      const said = [];
      fresh.querySelectorAll("li[data-message-id]").forEach(function (li) {
        const mid = li.getAttribute("data-message-id");
        const status = li.getAttribute("data-status");
        if (!(mid in before)) said.push(li.classList.contains("inbound") ? "New message from the patient." : "Message " + status + ".");
        else if (before[mid] !== status) said.push("Message " + status + ".");
      });
      if (ev && ev.kind === "note_added") said.push("Note added.");
      if (ev && ev.kind === "form_submitted") said.push("Form submitted.");
      if (announce && said.length) announce.textContent = said.join(" ");
    }
    const refreshSoon = debounce(refresh, 120);
    listeners.push(function (ev) {
      if (ev.kind === "lagged" || (ev.conversation_id && episodes().indexOf(ev.conversation_id) >= 0)) refreshSoon(ev);
    });

    const reply = document.getElementById("reply");
    if (reply && location.hash === "#reply" && !reply.disabled) reply.focus();
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      if (e.key === "r" && reply && !reply.disabled) { e.preventDefault(); reply.focus(); }
    });

    // The secure-form choice matters only when the text holds {form.link} (a template put it
    // there) or a form is already chosen; without script it is always shown.
    const formChoice = document.getElementById("form-link-choice");
    const formKey = document.getElementById("reply-form-key");
    function showFormChoice() {
      if (!formChoice || !reply) return;
      formChoice.hidden = !(reply.value.indexOf("{form.link}") >= 0 || (formKey && formKey.value));
    }
    if (reply) reply.addEventListener("input", showFormChoice);
    showFormChoice();

    // Templates: picked from the select (filled in here), or "/" in an empty reply.
    const picker = document.getElementById("template");
    const apply = document.getElementById("template-apply");
    if (picker && reply) {
      if (apply) apply.hidden = true;
      picker.addEventListener("change", async function () {
        const tid = picker.value;
        if (!tid) return;
        const meter = document.getElementById("compose-meter");
        const r = await fetch("/c/" + id + "/template/" + encodeURIComponent(tid), { headers: { "Accept": "application/json" } });
        const answer = await r.json().catch(function () { return {}; });
        if (r.ok && typeof answer.text === "string") {
          reply.value = answer.text;
          reply.dispatchEvent(new Event("input"));
          if (answer.needs_form && formKey) formKey.focus(); else reply.focus();
        } else if (meter) {
          meter.textContent = (answer.error && answer.error.message) || "The template could not be filled in.";
        }
        picker.value = "";
      });
      reply.addEventListener("keydown", function (e) {
        if (e.key === "/" && reply.value === "") { e.preventDefault(); picker.focus(); }
      });
    }
  }

  // ---- composer estimate (conversation and new conversation) ------------------------------
  function setupComposer() {
    const reply = document.getElementById("reply");
    const meter = document.getElementById("compose-meter");
    if (!reply || !meter || reply.disabled) return;
    const smartBox = document.getElementById("smart-suggestion");
    const smartText = document.getElementById("smart-text");
    const smartApply = document.getElementById("smart-apply");
    const phiHint = document.getElementById("phi-hint");
    let suggestion = null;
    let seq = 0;
    async function check() {
      const mine = ++seq;
      let answer;
      try {
        const r = await fetch("/compose/check", {
          method: "POST",
          headers: { "X-CSRF-Token": CSRF, "Content-Type": "application/json", "Accept": "application/json" },
          body: JSON.stringify({ body: reply.value }),
        });
        if (!r.ok) return;
        answer = await r.json();
      } catch (_) { return; }
      if (mine !== seq) return;
      meter.textContent = answer.summary + (answer.too_long ? " · too long: at most 1600 characters" : "");
      meter.classList.toggle("warn", answer.encoding === "UCS-2" || answer.too_long);
      suggestion = answer.smart;
      if (smartBox) {
        smartBox.hidden = !suggestion;
        if (suggestion) {
          smartText.textContent = "Look-alike characters force " + answer.encoding + " (" + answer.segments +
            " segment" + (answer.segments === 1 ? "" : "s") + "): " + suggestion.replacements.join(", ") +
            ". With plain characters: " + suggestion.segments + " segment" + (suggestion.segments === 1 ? "" : "s") +
            " (" + suggestion.encoding + ").";
        }
      }
      if (phiHint) {
        phiHint.hidden = !answer.phi;
        phiHint.textContent = answer.phi ? answer.phi + (answer.phi_mode === "block"
          ? " This practice does not send health information by text."
          : " You will be asked to confirm before it is sent.") : "";
      }
    }
    const checkSoon = debounce(check, 250);
    reply.addEventListener("input", checkSoon);
    if (smartApply) {
      smartApply.addEventListener("click", function () {
        if (!suggestion) return;
        reply.value = suggestion.text;
        reply.focus();
        check();
      });
    }
    check();
  }

  // ---- admin: live preview of a custom form -------------------------------------------------
  // The patient's page, rendered by the server from the definition as typed, shown in a
  // same-origin srcdoc frame (no framing headers to relax, no history entries).
  function setupFormPreview() {
    const editor = document.getElementById("form-definition");
    const pane = document.getElementById("form-live-preview");
    const frame = document.getElementById("form-preview-frame");
    const state = document.getElementById("form-live-state");
    if (!editor || !pane || !frame) return;
    pane.hidden = false;
    let seq = 0;
    async function refresh() {
      const mine = ++seq;
      try {
        const r = await fetch("/admin/forms", {
          method: "POST",
          headers: { "X-CSRF-Token": CSRF, "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ _csrf: CSRF, definition: editor.value, action: "live" }).toString(),
        });
        const html = await r.text();
        if (mine !== seq) return;
        frame.srcdoc = html;
        if (state) state.textContent = r.ok ? "Updated as you type." : "The definition has a problem; the preview shows it.";
      } catch (_) {
        if (state && mine === seq) state.textContent = "The preview could not be updated.";
      }
    }
    editor.addEventListener("input", debounce(refresh, 500));
    if (editor.value.trim()) refresh();
  }

  setupAlertControls();
  setupFormPreview();
  setupInbox();
  setupConversation();
  setupComposer();
  if (document.getElementById("inbox-live") || document.getElementById("conversation")) connect();
})();
