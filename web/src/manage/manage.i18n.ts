/** @module Words of the manage screens, English and German. */
export const manage: { en: Record<string, string>; de: Record<string, string> } = {
  en: {},
  de: {},
};
