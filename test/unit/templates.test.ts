import { describe, expect, it } from "vitest";
import { type AppConfig, parseAppConfig } from "#core/config";
import { renderTemplate, templatesFor } from "#core/templates";

const configWith = (templates: unknown): AppConfig => {
  const parsed = parseAppConfig({ templates });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
};

describe("renderTemplate", () => {
  const values = { app: "Acme", code: "012345", minutes: 5 };

  it("replaces {app}, {code} and {minutes}, every time they appear", () => {
    expect(renderTemplate("{app}: {code} ({code}) in {minutes} min", values)).toBe(
      "Acme: 012345 (012345) in 5 min",
    );
  });

  it("leaves other braces as written", () => {
    expect(renderTemplate("{name} {code} {}", values)).toBe("{name} 012345 {}");
  });

  it("does not expand placeholders found in the values", () => {
    expect(renderTemplate("{app} {code}", { ...values, app: "{code}" })).toBe("{code} 012345");
  });
});

describe("templatesFor", () => {
  const config = configWith({
    en: { sms: "EN {code}" },
    pt: {
      sms: "PT {code}",
      emailSubject: "PT assunto",
      emailText: "PT texto {code}",
      emailHtml: "<p>PT {code}</p>",
    },
    "pt-BR": { sms: "BR {code}" },
    fr: { emailSubject: "FR sujet" },
  });

  it("uses the exact locale first", () => {
    expect(templatesFor(config, "pt-BR").sms).toBe("BR {code}");
  });

  it("falls back from a regional locale to its language", () => {
    expect(templatesFor(config, "pt-PT")).toEqual(config.templates.pt);
  });

  it("falls back to en for an unknown language or no locale", () => {
    expect(templatesFor(config, "de-DE")).toEqual(config.templates.en);
    expect(templatesFor(config, "de")).toEqual(config.templates.en);
    expect(templatesFor(config, undefined)).toEqual(config.templates.en);
    expect(templatesFor(config, "de").sms).toBe("EN {code}");
  });

  it("fills the fields a partial locale leaves out from en, field by field", () => {
    const fr = templatesFor(config, "fr");
    expect(fr.emailSubject).toBe("FR sujet");
    expect(fr.sms).toBe("EN {code}");
    expect(fr.emailText).toBe(config.templates.en.emailText);
    expect(fr.emailHtml).toBe(config.templates.en.emailHtml);
    const br = templatesFor(config, "pt-BR");
    expect(br.sms).toBe("BR {code}");
    expect(br.emailSubject).toBeTruthy();
    expect(br.emailText).toContain("{code}");
  });

  it("gives every field a template containing {code} whatever the locale", () => {
    for (const locale of ["en", "pt", "pt-BR", "fr", "fr-CA", "xx", undefined]) {
      const t = templatesFor(config, locale);
      for (const text of [t.sms, t.emailText, t.emailHtml]) expect(text).toContain("{code}");
      expect(t.emailSubject.length).toBeGreaterThan(0);
    }
  });
});
