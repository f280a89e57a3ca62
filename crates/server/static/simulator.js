// The simulated phone: sends the patient's texts and shows the practice's replies live.
// All text is inserted with textContent: patients and staff can type anything, even <script>.
(function () {
  "use strict";
  const STORAGE_KEY = "frontdesk-simulator-number";
  const identity = document.getElementById("identity");
  const numberInput = document.getElementById("patient-number");
  const composer = document.getElementById("composer");
  const bodyInput = document.getElementById("body");
  const thread = document.getElementById("thread");
  const errorLine = document.getElementById("error");
  const statusLine = document.getElementById("status-line");
  const bubbles = new Map(); // provider_message_id -> status element
  let source = null;

  function randomNumber() {
    const n = Math.floor(Math.random() * 100).toString().padStart(2, "0");
    return "+1 212 555 01" + n;
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
    item.scrollIntoView({ block: "end" });
    if (id) bubbles.set(id, meta);
  }

  function connect(phone) {
    if (source) source.close();
    thread.replaceChildren();
    bubbles.clear();
    source = new EventSource("/simulator/events?phone=" + encodeURIComponent(phone));
    source.onopen = function () { statusLine.textContent = "Connected as " + phone; };
    source.onerror = function () { statusLine.textContent = "Reconnecting…"; };
    source.onmessage = function (e) {
      let event;
      try { event = JSON.parse(e.data); } catch (_) { return; }
      if (event.kind === "message_to_phone") {
        addBubble("incoming", event.body, event.provider_message_id, "delivered");
      } else if (event.kind === "status" && bubbles.has(event.provider_message_id)) {
        bubbles.get(event.provider_message_id).textContent = event.status;
      }
    };
  }

  identity.addEventListener("submit", function (e) {
    e.preventDefault();
    const phone = numberInput.value.trim();
    if (!phone) return;
    localStorage.setItem(STORAGE_KEY, phone);
    connect(phone);
  });

  composer.addEventListener("submit", async function (e) {
    e.preventDefault();
    errorLine.textContent = "";
    const text = bodyInput.value;
    if (!text.trim()) return;
    const button = composer.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch("/simulator/send", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ from: numberInput.value.trim(), body: text }),
      });
      const answer = await response.json().catch(function () { return {}; });
      if (!response.ok) {
        errorLine.textContent = (answer.error && answer.error.message) || "The text could not be sent.";
        return;
      }
      addBubble("outgoing", text, answer.provider_message_id, "sent");
      bodyInput.value = "";
    } catch (_) {
      errorLine.textContent = "The server did not answer; is Frontdesk still running?";
    } finally {
      button.disabled = false;
      bodyInput.focus();
    }
  });

  bodyInput.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });

  numberInput.value = localStorage.getItem(STORAGE_KEY) || randomNumber();
  connect(numberInput.value.trim());
})();
