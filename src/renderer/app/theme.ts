// Light and dark themes: the user's preference (system, light or dark) kept in localStorage; `system`
// follows the OS through prefers-color-scheme. The resolved theme sets <html data-theme>, which the CSS
// variables in styles.css key on.
import { createContext, useCallback, useEffect, useState } from 'react';
import type { ThemeName } from '../../shared/figures/theme.js';

export type ThemePreference = 'system' | 'light' | 'dark';

/** The theme in effect, for components that draw (figures follow the app's theme). */
export const ThemeContext = createContext<ThemeName>('light');

const STORAGE_KEY = 'monoscope.theme';
const DARK_QUERY = '(prefers-color-scheme: dark)';

function storedPreference(): ThemePreference {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

/** The next preference in the cycle system → light → dark → system. */
export function nextPreference(p: ThemePreference): ThemePreference {
  return p === 'system' ? 'light' : p === 'light' ? 'dark' : 'system';
}

/** The preference, the theme it resolves to now, and setters; keeps <html data-theme> in step. */
export function useTheme(): {
  preference: ThemePreference;
  theme: ThemeName;
  setPreference: (p: ThemePreference) => void;
  toggle: () => void;
} {
  const [preference, setPreferenceState] = useState<ThemePreference>(storedPreference);
  const [systemDark, setSystemDark] = useState(() => window.matchMedia(DARK_QUERY).matches);

  useEffect(() => {
    const query = window.matchMedia(DARK_QUERY);
    const onChange = () => setSystemDark(query.matches);
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);

  const theme: ThemeName = preference === 'system' ? (systemDark ? 'dark' : 'light') : preference;
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  const setPreference = useCallback((p: ThemePreference) => {
    setPreferenceState(p);
    try {
      if (p === 'system') localStorage.removeItem(STORAGE_KEY);
      else localStorage.setItem(STORAGE_KEY, p);
    } catch {
      // Storage can be unavailable (private windows); the choice then lasts for this session.
    }
  }, []);
  const toggle = useCallback(() => setPreference(nextPreference(preference)), [preference, setPreference]);
  return { preference, theme, setPreference, toggle };
}
