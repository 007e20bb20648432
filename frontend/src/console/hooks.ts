import { useEffect, useState } from "react";
import { translate, type Key } from "./i18n";
import { useStore } from "./store";

export function useT(): (key: Key, vars?: Record<string, string | number>) => string {
  const lang = useStore((s) => s.lang);
  return (key, vars) => translate(lang, key, vars);
}

/** The current time, refreshed every `ms` (waiting times and due callbacks tick along). */
export function useNow(ms = 30000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(timer);
  }, [ms]);
  return now;
}
