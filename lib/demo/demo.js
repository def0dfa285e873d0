// The demo client app: a password stand-in, then otp-service for the second factor through the
// local stack's same-origin proxy (/demo/api/... adds the API key on the server side).
// Secrets (the session token, codes, the TOTP secret) live in this module's variables only:
// never in the URL, localStorage or sessionStorage.

/** The stand-in first factor: a real client app checks its own password store. */
const DEMO_PASSWORD = "demo-password";
const OUTBOX_POLL_MS = 2000;

const $ = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing`);
  return element;
};

const state = {
  userId: "",
  /** The session token from the last approval; kept in memory only. */
  sessionToken: "",
  /** `login` or `step_up`: what the second-factor screen is for. */
  purpose: "login",
  /** The sensitive action to retry after a step-up. */
  pending: undefined,
  /** Pending enrollments by type: factorId. */
  enrolling: {},
  /** The sms/email challenge waiting for its code. */
  challengeId: "",
  recoveryCodes: [],
};

/** Writes a message beside the control it belongs to; kind ok|error|"" (progress). */
function say(id, text, kind = "") {
  const element = $(id);
  element.textContent = text;
  element.className = `status${kind ? ` ${kind}` : ""}`;
}

function problemText(error) {
  if (error?.problem?.code) {
    const extra =
      error.problem.attemptsRemaining === undefined
        ? ""
        : ` (${error.problem.attemptsRemaining} attempts left)`;
    return `${error.problem.code}: ${error.problem.detail ?? error.message}${extra}`;
  }
  return `${error?.name ?? "Error"}: ${error?.message ?? String(error)}`;
}

/** Same-origin calls to the local stack's proxy; an error answer (problem+json) is thrown with its body. */
async function api(method, path, body) {
  const response = await fetch(`/demo/api${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { detail: text };
  }
  if (!response.ok) {
    throw Object.assign(new Error(json.detail ?? `HTTP ${response.status}`), { problem: json });
  }
  return json;
}

const userPath = () => `/users/${encodeURIComponent(state.userId)}`;

function show(screen) {
  for (const id of ["screen-password", "screen-second-factor", "screen-account"]) {
    $(id).hidden = id !== screen;
  }
}

function clearStatuses(root) {
  for (const element of root.querySelectorAll(".status")) {
    element.textContent = "";
    element.className = "status";
  }
}

// ---- 1. Password stand-in -------------------------------------------------------------------

$("password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const userId = $("user").value.trim();
  if (!/^[A-Za-z0-9._@+-]{1,128}$/.test(userId)) {
    say("sign-in-status", "A user id is 1 to 128 letters, digits or . _ @ + -", "error");
    $("user").focus();
    return;
  }
  if ($("password").value !== DEMO_PASSWORD) {
    say("sign-in-status", "Wrong password (the stand-in password is demo-password).", "error");
    $("password").focus();
    return;
  }
  state.userId = userId;
  state.sessionToken = "";
  say("sign-in-status", "Checking the second factor…");
  try {
    const list = await api("GET", `${userPath()}/factors`);
    $("password").value = "";
    say("sign-in-status", "");
    if (list.enabled) {
      openSecondFactor("login", list);
    } else {
      await openAccount("Signed in with the password only: two-factor authentication is off.");
    }
  } catch (error) {
    say("sign-in-status", problemText(error), "error");
  }
});

// ---- 2. Second factor (login or step-up) ---------------------------------------------------------

function openSecondFactor(purpose, list) {
  state.purpose = purpose;
  state.challengeId = "";
  const screen = $("screen-second-factor");
  clearStatuses(screen);
  $("challenge-form").hidden = true;
  for (const id of ["challenge-code", "totp-code", "recovery-code"]) $(id).value = "";
  const active = new Set(list.factors.filter((f) => f.status === "active").map((f) => f.type));
  $("send-email").hidden = !active.has("email");
  $("send-sms").hidden = !active.has("sms");
  $("by-code").hidden = !active.has("email") && !active.has("sms");
  $("by-totp").hidden = !active.has("totp");
  $("by-passkey").hidden = !active.has("webauthn");
  $("second-title").textContent = purpose === "login" ? "Second factor" : "Confirm it's you";
  $("second-intro").textContent =
    purpose === "login"
      ? `${state.userId} has two-factor authentication on: choose a method.`
      : "This change needs a recent verification (step-up): verify with one of your methods.";
  show("screen-second-factor");
  $("second-title").focus();
}

async function sendCode(channel) {
  say("send-status", `Sending a code by ${channel}…`);
  try {
    const challenge = await api("POST", "/challenges", {
      userId: state.userId,
      channel,
      purpose: state.purpose,
    });
    state.challengeId = challenge.challengeId;
    // The service says when it fell back (no factor for the primary, SMS protection, a failed delivery).
    const fallback = challenge.fallbackUsed
      ? ` Fallback used${challenge.fallbackReason ? ` (${challenge.fallbackReason})` : ""}: sent by ${
          challenge.channel
        }${channel === "auto" ? "" : ` instead of ${channel}`}.`
      : "";
    say(
      "send-status",
      `Code sent by ${challenge.channel} to ${challenge.destination}.${fallback}`,
      challenge.fallbackUsed ? "warn" : "ok",
    );
    $("challenge-form").hidden = false;
    $("challenge-code").focus();
    refreshOutbox();
  } catch (error) {
    say("send-status", problemText(error), "error");
  }
}

$("send-auto").addEventListener("click", () => sendCode("auto"));
$("send-email").addEventListener("click", () => sendCode("email"));
$("send-sms").addEventListener("click", () => sendCode("sms"));

/** An approval: keep the session token, validate it, and go on with what the verification was for. */
async function approved(approval) {
  state.sessionToken = approval.sessionToken;
  const session = await api("POST", "/sessions/validate", { sessionToken: state.sessionToken });
  const left =
    approval.method === "recovery" ? ` ${approval.recoveryCodesRemaining} recovery codes left.` : "";
  const message = `Approved with ${approval.method}. Session valid: ${
    session.valid ? `yes, for ${session.userId}` : "no"
  }.${left}`;
  const pending = state.purpose === "step_up" ? state.pending : undefined;
  state.pending = undefined;
  await openAccount(message);
  if (pending) await pending();
}

async function verify(statusId, body) {
  say(statusId, "Verifying…");
  try {
    const approval = await api("POST", "/verifications", { userId: state.userId, ...body });
    await approved(approval);
  } catch (error) {
    say(statusId, problemText(error), "error");
  }
}

$("challenge-form").addEventListener("submit", (event) => {
  event.preventDefault();
  verify("challenge-status", { challengeId: state.challengeId, code: $("challenge-code").value.trim() });
});

$("totp-form").addEventListener("submit", (event) => {
  event.preventDefault();
  verify("totp-status", { code: $("totp-code").value.trim() });
});

$("recovery-form").addEventListener("submit", (event) => {
  event.preventDefault();
  verify("recovery-status", { code: $("recovery-code").value.trim().toLowerCase() });
});

function webauthnSupported(statusId) {
  const ok =
    window.isSecureContext &&
    typeof PublicKeyCredential !== "undefined" &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";
  if (!ok) {
    say(
      statusId,
      "This browser lacks WebAuthn's JSON helpers (or this is not a secure context): use a current Chromium on http://localhost.",
      "error",
    );
  }
  return ok;
}

$("login").addEventListener("click", async () => {
  if (!webauthnSupported("passkey-status")) return;
  try {
    say("passkey-status", "Starting a challenge…");
    const challenge = await api("POST", "/challenges", {
      userId: state.userId,
      channel: "webauthn",
      purpose: state.purpose,
    });
    say("passkey-status", "Touch your security key…");
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(challenge.requestOptions);
    const credential = await navigator.credentials.get({ publicKey });
    const approval = await api("POST", "/verifications", {
      userId: state.userId,
      challengeId: challenge.challengeId,
      credential: credential.toJSON(),
    });
    await approved(approval);
  } catch (error) {
    say("passkey-status", problemText(error), "error");
  }
});

$("cancel-second").addEventListener("click", () => {
  if (state.purpose === "step_up") {
    state.pending = undefined;
    show("screen-account");
  } else {
    show("screen-password");
  }
});

// ---- 3. Account: factors, enrollment, recovery codes, sensitive changes ----------------------------

async function openAccount(message) {
  clearStatuses($("screen-account"));
  say("account-status", message, "ok");
  show("screen-account");
  $("account-title").focus();
  await loadFactors();
}

const TYPE_NAMES = {
  email: "Email",
  sms: "SMS",
  totp: "Authenticator app",
  webauthn: "Passkey or security key",
};

async function loadFactors() {
  try {
    const list = await api("GET", `${userPath()}/factors`);
    const body = $("factors-body");
    body.replaceChildren();
    for (const factor of list.factors) {
      const row = document.createElement("tr");
      const cells = [
        TYPE_NAMES[factor.type] ?? factor.type,
        factor.destination ?? "",
        factor.status,
        factor.lastUsedAt ? new Date(factor.lastUsedAt).toLocaleString() : "never",
      ];
      for (const text of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      const action = document.createElement("td");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.setAttribute(
        "aria-label",
        `Remove ${TYPE_NAMES[factor.type] ?? factor.type} ${factor.destination ?? ""}`,
      );
      remove.addEventListener("click", () =>
        sensitive("factors-status", async () => {
          await api("DELETE", `${userPath()}/factors/${encodeURIComponent(factor.factorId)}`);
          await loadFactors();
          say("factors-status", `Removed ${TYPE_NAMES[factor.type] ?? factor.type}.`, "ok");
        }),
      );
      action.append(remove);
      row.append(action);
      body.append(row);
    }
    $("factors-table").hidden = list.factors.length === 0;
    // Only a user with MFA on has recovery codes to renew or MFA to turn off; the last answer stays readable.
    $("sensitive").hidden = !list.enabled && $("sensitive-status").textContent === "";
    $("mfa-summary").textContent = list.enabled
      ? `Two-factor authentication is on. Recovery codes left: ${list.recoveryCodesRemaining ?? 0}.`
      : "Two-factor authentication is off: add a method to turn it on.";
  } catch (error) {
    say("factors-status", problemText(error), "error");
  }
}

/** The first activation turned MFA on: say so, and show the recovery codes (this once). */
function mfaTurnedOn(codes) {
  say(
    "account-status",
    "Two-factor authentication is now on: the next sign-in asks for a second factor.",
    "ok",
  );
  showRecoveryCodes(codes);
}

function showRecoveryCodes(codes) {
  state.recoveryCodes = codes;
  const list = $("codes-list");
  list.replaceChildren(
    ...codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }),
  );
  say("codes-status", "");
  $("codes-panel").hidden = false;
  $("codes-title").focus();
}

$("download-codes").addEventListener("click", () => {
  const text = [
    `Recovery codes for ${state.userId} (otp-service demo)`,
    "Each code works once.",
    "",
    ...state.recoveryCodes,
    "",
  ].join("\n");
  // A Blob URL: the codes never travel in a URL of their own, and the link lives only for this click.
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = `recovery-codes-${state.userId}.txt`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  say("codes-status", "Downloaded.", "ok");
});

$("copy-codes").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(state.recoveryCodes.join("\n"));
    say("codes-status", "Copied to the clipboard.", "ok");
  } catch (error) {
    say(
      "codes-status",
      `Could not copy: ${error?.message ?? error}. Select the codes and copy them.`,
      "error",
    );
  }
});

$("hide-codes").addEventListener("click", () => {
  state.recoveryCodes = [];
  $("codes-list").replaceChildren();
  $("codes-panel").hidden = true;
  $("new-codes").focus();
});

/** Enrollment of a code-confirmed factor (email, sms, totp): enroll, then show its activation form. */
function enrollWith(type, statusId, bodyOf) {
  $(`enroll-${type}-form`).addEventListener("submit", async (event) => {
    event.preventDefault();
    say(statusId, "Enrolling…");
    try {
      const enrolled = await api("POST", `${userPath()}/factors`, { type, ...bodyOf() });
      state.enrolling[type] = enrolled.factorId;
      if (type === "totp") {
        $("totp-qr").src = enrolled.qrCodeDataUrl;
        $("totp-secret").textContent = enrolled.secret;
        $("totp-setup").hidden = false;
        say(statusId, "Scan the QR code (or type the secret), then enter the app's code.", "ok");
      } else {
        say(statusId, `Code sent to ${enrolled.destination}: enter it to activate.`, "ok");
        refreshOutbox();
      }
      $(`activate-${type}-form`).hidden = false;
      $(`activate-${type}-code`).value = "";
      $(`activate-${type}-code`).focus();
    } catch (error) {
      say(statusId, problemText(error), "error");
    }
  });
  $(`activate-${type}-form`).addEventListener("submit", async (event) => {
    event.preventDefault();
    say(statusId, "Activating…");
    try {
      const activated = await api(
        "POST",
        `${userPath()}/factors/${encodeURIComponent(state.enrolling[type])}/activate`,
        { code: $(`activate-${type}-code`).value.trim() },
      );
      delete state.enrolling[type];
      $(`activate-${type}-form`).hidden = true;
      if (type === "totp") {
        $("totp-setup").hidden = true;
        $("totp-secret").textContent = "";
        $("totp-qr").removeAttribute("src");
      }
      await loadFactors();
      say(statusId, `${TYPE_NAMES[type]} active: ${activated.factor.destination}.`, "ok");
      if (activated.recoveryCodes) mfaTurnedOn(activated.recoveryCodes);
    } catch (error) {
      say(statusId, problemText(error), "error");
    }
  });
}

enrollWith("email", "email-status", () => ({ email: $("enroll-email-address").value.trim() }));
enrollWith("sms", "sms-status", () => ({ phone: $("enroll-sms-phone").value.trim() }));
enrollWith("totp", "totp-enroll-status", () => ({
  label: $("enroll-totp-label").value.trim() || state.userId,
}));

$("enroll-webauthn-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!webauthnSupported("webauthn-status")) return;
  try {
    say("webauthn-status", "Enrolling…");
    const enrolled = await api("POST", `${userPath()}/factors`, {
      type: "webauthn",
      label: $("label").value.trim() || undefined,
    });
    say("webauthn-status", "Touch your security key…");
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(enrolled.creationOptions);
    const credential = await navigator.credentials.create({ publicKey });
    const activated = await api(
      "POST",
      `${userPath()}/factors/${encodeURIComponent(enrolled.factorId)}/activate`,
      { credential: credential.toJSON() },
    );
    await loadFactors();
    say("webauthn-status", `Key registered: ${activated.factor.destination}`, "ok");
    if (activated.recoveryCodes) mfaTurnedOn(activated.recoveryCodes);
  } catch (error) {
    say("webauthn-status", problemText(error), "error");
  }
});

/**
 * A change that needs a step-up: tried at once (a recent login counts); on 403 step_up_required
 * the second-factor screen asks for a verification with purpose step_up, then the change is retried.
 */
async function sensitive(statusId, action) {
  say(statusId, "Working…");
  try {
    await action();
  } catch (error) {
    if (error?.problem?.code !== "step_up_required") {
      say(statusId, problemText(error), "error");
      return;
    }
    try {
      const list = await api("GET", `${userPath()}/factors`);
      state.pending = () => sensitive(statusId, action);
      openSecondFactor("step_up", list);
    } catch (listError) {
      say(statusId, problemText(listError), "error");
    }
  }
}

$("new-codes").addEventListener("click", () =>
  sensitive("sensitive-status", async () => {
    const answer = await api("POST", `${userPath()}/recovery-codes`);
    await loadFactors();
    say("sensitive-status", "New recovery codes made: the old ones no longer work.", "ok");
    showRecoveryCodes(answer.recoveryCodes);
  }),
);

$("mfa-off").addEventListener("click", () =>
  sensitive("sensitive-status", async () => {
    await api("DELETE", `${userPath()}/mfa`);
    state.sessionToken = "";
    $("codes-panel").hidden = true;
    await loadFactors();
    say(
      "sensitive-status",
      "Two-factor authentication is off: methods, recovery codes and sessions removed.",
      "ok",
    );
  }),
);

function signOut(message) {
  state.sessionToken = "";
  state.userId = "";
  state.recoveryCodes = [];
  $("codes-list").replaceChildren();
  $("codes-panel").hidden = true;
  // Nothing of the last user's screens stays behind for the next one.
  clearStatuses($("screen-account"));
  clearStatuses($("screen-second-factor"));
  $("factors-body").replaceChildren();
  show("screen-password");
  say("sign-in-status", message, "ok");
  $("user").focus();
}

$("sign-out").addEventListener("click", () => signOut("Signed out."));

$("sign-out-everywhere").addEventListener("click", async () => {
  say("sign-out-status", "Revoking every session…");
  try {
    await api("DELETE", `${userPath()}/sessions`);
    signOut("Signed out everywhere: every session of this user was revoked.");
  } catch (error) {
    say("sign-out-status", problemText(error), "error");
  }
});

// ---- The outbox beside the app ---------------------------------------------------------------

let outboxSeen = "";
let outboxTimer;

async function refreshOutbox() {
  try {
    const response = await fetch("/dev/outbox");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    say("outbox-status", "");
    // Re-render only on change: a poll must not disturb a reader or move focus.
    if (text === outboxSeen) return;
    outboxSeen = text;
    const { messages } = JSON.parse(text);
    $("outbox").replaceChildren(
      ...messages.slice(0, 20).map((message) => {
        const item = document.createElement("li");
        const head = document.createElement("p");
        head.className = "meta";
        head.textContent = `${message.channel} to ${message.to} · ${new Date(message.at).toLocaleTimeString()}`;
        item.append(head);
        if (message.subject) {
          const subject = document.createElement("p");
          subject.className = "subject";
          subject.textContent = message.subject;
          item.append(subject);
        }
        const body = document.createElement("pre");
        body.textContent = message.body;
        item.append(body);
        return item;
      }),
    );
    if (messages.length === 0) $("outbox").replaceChildren();
  } catch (error) {
    say("outbox-status", `Could not read the outbox: ${error?.message ?? error}`, "error");
  }
}

function pollOutbox() {
  clearInterval(outboxTimer);
  if ($("outbox-auto").checked) outboxTimer = setInterval(refreshOutbox, OUTBOX_POLL_MS);
}

$("outbox-refresh").addEventListener("click", refreshOutbox);
$("outbox-auto").addEventListener("change", pollOutbox);
refreshOutbox();
pollOutbox();
