// The simulated phone: sends the patient's texts and shows the practice's replies live.
// All text is inserted with textContent: patients and staff can type anything, even <script>.
(function () {
  "use strict";
  const STORAGE_KEY = "frontdesk-simulator-number";
  const CONNECT_TIMEOUT_MS = 5000;
  const identity = document.getElementById("identity");
  const numberInput = document.getElementById("patient-number");
  const composer = document.getElementById("composer");
  const bodyInput = document.getElementById("body");
  const thread = document.getElementById("thread");
  const errorLine = document.getElementById("error");
  const statusLine = document.getElementById("status-line");
  const bubbles = new Map(); // provider_message_id -> status element
  // The phone's feed: the number it listens for, its EventSource, and a promise that settles
  // once the server has accepted (or refused) it.
  let line = null;

  function randomNumber() {
    const n = Math.floor(Math.random() * 100).toString().padStart(2, "0");
    return "+1 212 555 01" + n;
  }

  function showError(text) {
    errorLine.textContent = text;
  }

  function badNumber(phone) {
    return "“" + phone + "” is not a number this phone can use. Type it with its country code, like +1 212 555 0100.";
  }

  function addBubble(direction, text, id, status) {
    const item = document.createElement("li");
    item.className = "bubble " + direction;
    const body = document.createElement("p");
    body.textContent = text;
    item.appendChild(body);
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = status || "";
    item.appendChild(meta);
    thread.appendChild(item);
    // Scroll the thread only, not the page around it.
    thread.scrollTop = thread.scrollHeight;
    if (id) bubbles.set(id, meta);
  }

  // Listens for texts to `phone`. Resolves once connected; rejects if the server refuses
  // the number (the feed is then closed) or does not answer in time.
  function connect(phone) {
    if (line) line.source.close();
    thread.replaceChildren();
    bubbles.clear();
    statusLine.textContent = "Connecting as " + phone + "…";
    const source = new EventSource("/simulator/events?phone=" + encodeURIComponent(phone));
    const current = { phone: phone, source: source, open: false };
    line = current;
    current.ready = new Promise(function (resolve, reject) {
      const timer = setTimeout(function () {
        if (!current.open) reject(new Error("The server did not answer; is Frontdesk still running?"));
      }, CONNECT_TIMEOUT_MS);
      source.onopen = function () {
        clearTimeout(timer);
        current.open = true;
        statusLine.textContent = "Connected as " + phone;
        try { localStorage.setItem(STORAGE_KEY, phone); } catch (_) { /* private mode */ }
        resolve();
      };
      source.onerror = function () {
        if (line !== current) return;
        if (source.readyState === EventSource.CLOSED) {
          // An HTTP error, not a dropped connection: the server refused this number.
          clearTimeout(timer);
          statusLine.textContent = "Not connected";
          reject(new Error(badNumber(phone)));
        } else {
          statusLine.textContent = "Reconnecting…";
        }
      };
    });
    // A failure is shown by whoever waits on `ready`; never leave it unhandled.
    current.ready.catch(function () {});
    source.onmessage = function (e) {
      let event;
      try { event = JSON.parse(e.data); } catch (_) { return; }
      if (event.kind === "message_to_phone") {
        addBubble("incoming", event.body, event.provider_message_id, "delivered");
      } else if (event.kind === "status" && bubbles.has(event.provider_message_id)) {
        bubbles.get(event.provider_message_id).textContent = event.status;
      }
    };
    return current.ready;
  }

  // The number as typed, or null (with the error shown) when it cannot be a phone number.
  function typedNumber() {
    const phone = numberInput.value.trim();
    if (!phone) {
      showError("Type your phone number first.");
      numberInput.focus();
      return null;
    }
    if (!/^[+\d\s().\-]+$/.test(phone) || !/\d/.test(phone)) {
      showError(badNumber(phone));
      numberInput.focus();
      return null;
    }
    return phone;
  }

  // Makes sure the feed listens for the number now typed, so replies to it are seen.
  async function ensureConnected() {
    const phone = typedNumber();
    if (!phone) return false;
    if (!line || line.phone !== phone || line.source.readyState === EventSource.CLOSED) connect(phone);
    try {
      await line.ready;
      return true;
    } catch (err) {
      showError(err.message);
      return false;
    }
  }

  // The server's error, for a person: `from: ...` becomes `Your number: ...`.
  function explain(answer) {
    const error = answer && answer.error;
    if (!error || !error.message) return "The text could not be sent.";
    const labels = { from: "Your number", body: "Message" };
    const label = error.field && labels[error.field];
    if (label && error.message.indexOf(error.field + ": ") === 0) {
      const rest = error.message.slice(error.field.length + 2);
      return label + ": " + rest;
    }
    return error.message;
  }

  identity.addEventListener("submit", async function (e) {
    e.preventDefault();
    showError("");
    if (await ensureConnected()) bodyInput.focus();
  });

  composer.addEventListener("submit", async function (e) {
    e.preventDefault();
    showError("");
    const text = bodyInput.value;
    if (!text.trim()) return;
    const button = composer.querySelector("button");
    button.disabled = true;
    try {
      if (!(await ensureConnected())) return;
      const response = await fetch("/simulator/send", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ from: line.phone, body: text }),
      });
      const answer = await response.json().catch(function () { return {}; });
      if (!response.ok) {
        showError(explain(answer));
        return;
      }
      addBubble("outgoing", text, answer.provider_message_id, "sent");
      bodyInput.value = "";
      bodyInput.focus();
    } catch (_) {
      showError("The server did not answer; is Frontdesk still running?");
    } finally {
      button.disabled = false;
    }
  });

  bodyInput.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });

  let saved = null;
  try { saved = localStorage.getItem(STORAGE_KEY); } catch (_) { /* private mode */ }
  numberInput.value = saved || randomNumber();
  connect(numberInput.value.trim()).catch(function (err) { showError(err.message); });
})();
