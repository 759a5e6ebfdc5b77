/** @module Words of the reports screens, English and German. */
export const reports: { en: Record<string, string>; de: Record<string, string> } = {
  en: {},
  de: {},
};
