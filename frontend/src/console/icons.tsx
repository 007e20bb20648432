// Channel icons. A new channel needs one entry here (and an inbox setup form in admin.tsx);
// an unknown kind falls back to a generic bubble.
import type { ReactElement } from "react";

const paths: Record<string, ReactElement> = {
  telegram: <path d="M21 4 3 11l5 2 2 6 3-4 5 4 3-15ZM8 13l10-6-7 8" />,
  email: (
    <>
      <rect x="3" y="5" width="18" height="14" rx="2" />
      <path d="m3 7 9 6 9-6" />
    </>
  ),
  sms: (
    <>
      <rect x="6" y="2" width="12" height="20" rx="2" />
      <path d="M10 18h4" />
    </>
  ),
  webchat: <path d="M4 5h16v10H9l-5 4V5Z" />,
  callback: <path d="M5 4h4l2 5-3 2a11 11 0 0 0 5 5l2-3 5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2Z" />,
  voice: <path d="M5 4h4l2 5-3 2a11 11 0 0 0 5 5l2-3 5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2ZM15 3a6 6 0 0 1 6 6M15 7a2 2 0 0 1 2 2" />,
  api: <path d="m8 8-4 4 4 4M16 8l4 4-4 4M13 6l-2 12" />,
};

export function ChannelIcon({
  kind,
  label,
  decorative = false,
}: {
  kind: string;
  label?: string;
  decorative?: boolean;
}): ReactElement {
  return (
    <svg
      className={`icon channel-${kind}`}
      viewBox="0 0 24 24"
      width="16"
      height="16"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.8"
      strokeLinecap="round"
      strokeLinejoin="round"
      role={decorative ? undefined : "img"}
      aria-label={decorative ? undefined : (label ?? kind)}
      aria-hidden={decorative ? true : undefined}
    >
      {!decorative && <title>{label ?? kind}</title>}
      {paths[kind] ?? paths.webchat}
    </svg>
  );
}

const glyphs: Record<string, ReactElement> = {
  bell: <path d="M6 16V11a6 6 0 0 1 12 0v5l2 2H4l2-2ZM10 21h4" />,
  bellOff: <path d="M6 16V11a6 6 0 0 1 9-5.2M18 11v5l2 2H4M10 21h4M3 3l18 18" />,
  clip: <path d="m20 11-8 8a5 5 0 0 1-7-7l8-8a3.5 3.5 0 0 1 5 5l-8 8a2 2 0 0 1-3-3l7-7" />,
  clock: (
    <>
      <circle cx="12" cy="12" r="9" />
      <path d="M12 7v5l3 2" />
    </>
  ),
};

/** A small decorative glyph (its meaning is in the text or label beside it). */
export function Glyph({ name, size = 14 }: { name: keyof typeof glyphs; size?: number }): ReactElement {
  return (
    <svg
      className="glyph"
      viewBox="0 0 24 24"
      width={size}
      height={size}
      fill="none"
      stroke="currentColor"
      strokeWidth="1.8"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
    >
      {glyphs[name]}
    </svg>
  );
}
