import type { AppConfig, MessageTemplate } from "./config.ts";

export interface TemplateValues {
  app: string;
  code: string;
  minutes: number;
}

/** Replaces `{app}`, `{code}` and `{minutes}`; any other braces are left as written. */
export const renderTemplate = (template: string, values: TemplateValues): string =>
  template.replace(/\{(app|code|minutes)\}/g, (_, key: keyof TemplateValues) => String(values[key]));

/** The template set for a locale: exact (`pt-BR`), then language (`pt`), then `en`. Missing fields come from `en`. */
export function templatesFor(config: AppConfig, locale: string | undefined): MessageTemplate {
  const en = config.templates.en;
  const candidates = locale ? [locale, locale.split("-")[0] ?? locale] : [];
  for (const candidate of candidates) {
    const found = config.templates[candidate];
    if (found) return { ...en, ...found };
  }
  return en;
}
