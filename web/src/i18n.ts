/** @module Languages: English and German. Each area of the app keeps its own words in a `*.i18n.ts` file, merged here. */
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import { common } from "./common.i18n";
import { manage } from "./manage/manage.i18n";
import { reports } from "./reports/reports.i18n";

export const LANGUAGES = [
  { code: "en", name: "English" },
  { code: "de", name: "Deutsch" },
] as const;

const stored = typeof localStorage === "undefined" ? null : localStorage.getItem("language");
const initial = stored ?? (navigator.language.startsWith("de") ? "de" : "en");

void i18n.use(initReactI18next).init({
  lng: initial,
  fallbackLng: "en",
  interpolation: { escapeValue: false },
  resources: {
    en: { translation: { ...common.en, ...reports.en, ...manage.en } },
    de: { translation: { ...common.de, ...reports.de, ...manage.de } },
  },
});

export function setLanguage(code: string): void {
  localStorage.setItem("language", code);
  void i18n.changeLanguage(code);
  document.documentElement.lang = code;
}

export default i18n;
