// The settings form's layout: the seeds' groups, each field with its label, kind and range
// (API.md "App configuration"). Special parts (the sender grid, per-country overrides,
// templates per locale) are built by settings.js; every path of the config appears here or there.

/** kinds: int, number, bool, enum (options), text, nullable (empty → null), optional (empty → left out), list (comma-separated) */
export const GROUPS = [
  {
    id: "code",
    title: "Verification code",
    fields: [
      { path: "code.length", label: "Code length (digits)", kind: "int", min: 6, max: 10 },
      { path: "code.ttlSeconds", label: "Code validity period (seconds)", kind: "int", min: 30, max: 600 },
    ],
  },
  {
    id: "limits",
    title: "Limits",
    fields: [
      { path: "limits.maxCodeRequests", label: "Number of codes allowed", kind: "int", min: 1, max: 20 },
      {
        path: "limits.requestTimeoutSeconds",
        label: "Time-out between code requests (seconds)",
        kind: "int",
        min: 1,
        max: 86400,
        hint: "How long no more codes are sent once the number of codes allowed is reached.",
      },
      { path: "limits.maxVerifyAttempts", label: "Attempts before lock", kind: "int", min: 1, max: 10 },
      { path: "limits.lockoutSeconds", label: "Lock time (seconds)", kind: "int", min: 1, max: 86400 },
    ],
  },
  {
    id: "mfa",
    title: "Two-factor authentication",
    fields: [
      { path: "mfa.required", label: "Require two-factor authentication for every user", kind: "bool" },
      { path: "mfa.primaryMethod", label: "Primary method", kind: "enum", options: ["sms", "email"] },
      {
        path: "mfa.fallbackMethod",
        label: "Fallback method",
        kind: "enum",
        options: ["sms", "email", "none"],
      },
      {
        path: "mfa.exemptUserIds",
        label: "Exempt users (user ids, comma-separated)",
        kind: "list",
        hint: "For example API-only accounts: never asked to enroll.",
      },
      { path: "stepUpSeconds", label: "Step-up validity (seconds)", kind: "int", min: 30, max: 3600 },
      { path: "recoveryCodes.count", label: "Recovery codes per user", kind: "int", min: 5, max: 20 },
    ],
  },
  {
    id: "sessions",
    title: "Sessions",
    fields: [
      {
        path: "sessions.durationSeconds",
        label: "Session duration (seconds)",
        kind: "int",
        min: 60,
        max: 31536000,
      },
    ],
  },
  {
    id: "sms",
    title: "SMS configuration",
    fields: [
      { path: "sms.provider", label: "Provider", kind: "enum", options: ["twilio", "sinch", "local"] },
      { path: "sms.secretName", label: "Provider secret name", kind: "text" },
      {
        path: "sms.defaultCountryCode",
        label: "Default country code",
        kind: "text",
        hint: "Used when a user's phone number has none, e.g. +1.",
      },
      {
        path: "sms.allowedCountries",
        label: "Allowed countries (ISO codes, comma-separated, * for all)",
        kind: "list",
      },
      {
        path: "sms.messagingServiceSid",
        label: "Twilio Messaging Service SID",
        kind: "nullable",
        hint: "MG… — when set, Twilio picks the sender from the service's pool.",
      },
    ],
    // then the sender numbers grid and the default number (settings.js)
  },
  {
    id: "sinch",
    title: "Sinch Verification",
    fields: [
      { path: "sms.sinch.endpointUrl", label: "Sinch endpoint URL", kind: "text" },
      {
        path: "sms.sinch.authMethod",
        label: "Sinch authentication method",
        kind: "enum",
        options: ["basic", "signed"],
      },
      { path: "sms.sinch.secretName", label: "Sinch secret name", kind: "text" },
    ],
  },
  {
    id: "email",
    title: "Email",
    fields: [
      { path: "email.provider", label: "Email provider", kind: "enum", options: ["ses", "local"] },
      { path: "email.fromAddress", label: "From address", kind: "nullable", type: "email" },
      { path: "email.fromName", label: "From name", kind: "optional", hint: "Empty: the app's name." },
      { path: "email.configurationSet", label: "SES configuration set", kind: "nullable" },
    ],
  },
  {
    id: "totp",
    title: "Authenticator app (TOTP)",
    fields: [
      {
        path: "totp.issuer",
        label: "Issuer shown in the authenticator app",
        kind: "optional",
        hint: "Empty: the app's name.",
      },
      { path: "totp.digits", label: "Digits", kind: "enum", options: [6, 8] },
      { path: "totp.periodSeconds", label: "Period (seconds)", kind: "enum", options: [30, 60] },
      { path: "totp.algorithm", label: "Algorithm", kind: "enum", options: ["SHA1", "SHA256", "SHA512"] },
      { path: "totp.window", label: "Tolerance (steps either side)", kind: "int", min: 0, max: 2 },
    ],
  },
  {
    id: "webauthn",
    title: "Security keys and passkeys (WebAuthn)",
    fields: [
      {
        path: "webauthn.rpId",
        label: "Relying party id (domain)",
        kind: "nullable",
        hint: "Required to enroll, e.g. example.com.",
      },
      {
        path: "webauthn.rpName",
        label: "Relying party name",
        kind: "optional",
        hint: "Empty: the app's name.",
      },
      {
        path: "webauthn.origins",
        label: "Origins (comma-separated)",
        kind: "list",
        hint: "e.g. https://login.example.com",
      },
      {
        path: "webauthn.userVerification",
        label: "User verification",
        kind: "enum",
        options: ["required", "preferred", "discouraged"],
      },
      { path: "webauthn.attestation", label: "Attestation", kind: "enum", options: ["none", "direct"] },
    ],
  },
  {
    id: "smsProtection",
    title: "SMS protection",
    fields: [
      { path: "smsProtection.mode", label: "Mode", kind: "enum", options: ["off", "monitor", "enforce"] },
      {
        path: "smsProtection.perDestination.perHour",
        label: "SMS per number per hour",
        kind: "int",
        min: 1,
        max: 1000,
      },
      {
        path: "smsProtection.perDestination.perDay",
        label: "SMS per number per day",
        kind: "int",
        min: 1,
        max: 1000,
      },
      {
        path: "smsProtection.perClientIp.perHour",
        label: "SMS per client IP per hour",
        kind: "int",
        min: 1,
        max: 10000,
      },
      {
        path: "smsProtection.perClientIp.perDay",
        label: "SMS per client IP per day",
        kind: "int",
        min: 1,
        max: 10000,
      },
      {
        path: "smsProtection.perCountry.perHour",
        label: "SMS per country per hour",
        kind: "int",
        min: 1,
        max: 1000000,
      },
      {
        path: "smsProtection.perCountry.overrides",
        label: "Per-country hourly limits (e.g. NG=5, ZZ=1)",
        kind: "map",
      },
      {
        path: "smsProtection.appPerDay",
        label: "SMS of the app per day",
        kind: "int",
        min: 1,
        max: 10000000,
      },
      {
        path: "smsProtection.blockedPrefixes",
        label: "Blocked prefixes (E.164, comma-separated)",
        kind: "list",
        hint: "e.g. +88216",
      },
      {
        path: "smsProtection.conversion.minSends",
        label: "Breaker: minimum SMS in the window",
        kind: "int",
        min: 5,
        max: 10000,
      },
      {
        path: "smsProtection.conversion.minRate",
        label: "Breaker: minimum conversion (0 to 1)",
        kind: "number",
        min: 0,
        max: 1,
        step: "0.01",
      },
      {
        path: "smsProtection.conversion.windowSeconds",
        label: "Breaker: window (seconds)",
        kind: "int",
        min: 600,
        max: 86400,
      },
      {
        path: "smsProtection.conversion.pauseSeconds",
        label: "Breaker: pause (seconds)",
        kind: "int",
        min: 60,
        max: 86400,
      },
    ],
  },
];

export const TEMPLATE_FIELDS = [
  ["sms", "SMS text", "input"],
  ["emailSubject", "Email subject", "input"],
  ["emailText", "Email text", "textarea"],
  ["emailHtml", "Email HTML", "textarea"],
];
