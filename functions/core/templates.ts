import type { AppConfig, MessageTemplate } from "./config.ts";

export interface TemplateValues {
  app: string;
  code: string;
  minutes: number;
}

/** Replaces `{app}`, `{code}` and `{minutes}`; any other braces are left as written. */
export const renderTemplate = (template: string, values: TemplateValues): string =>
  template.replace(/\{(app|code|minutes)\}/g, (_, key: keyof TemplateValues) => String(values[key]));

/** The templates for a locale, field by field: exact (`pt-BR`), then language (`pt`), then `en`. */
export function templatesFor(config: AppConfig, locale: string | undefined): MessageTemplate {
  const en = config.templates.en;
  if (!locale) return en;
  const language = locale.split("-")[0] ?? locale;
  return {
    ...en,
    ...(language !== locale ? config.templates[language] : {}),
    ...config.templates[locale],
  };
}
