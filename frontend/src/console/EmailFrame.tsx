import { useEffect, useRef, useState, type ReactElement } from "react";
import { attachmentUrl, type Attachment } from "../api/client";
import { useT } from "./hooks";

// Customer HTML (already sanitized by the server) in a sandboxed frame: no allow-scripts, so
// nothing in it can run even if sanitizing missed something; a CSP inside the document too.
// allow-same-origin (without scripts) only lets the console measure its height. Remote
// images (tracking pixels among them) load only when the agent asks for them.
function frameCsp(remoteImages: boolean): string {
  const images = remoteImages ? "data: blob: https: http:" : "data: blob:";
  return `default-src 'none'; img-src ${images}; style-src 'unsafe-inline'; font-src data:; script-src 'none'`;
}

export function emailDocument(html: string, remoteImages = false): string {
  return (
    `<!doctype html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${frameCsp(remoteImages)}">` +
    `<base target="_blank"><style>body{margin:0;font:14px/1.5 system-ui,sans-serif;color:#1f2933;` +
    `overflow-wrap:anywhere}img{max-width:100%;height:auto}</style></head><body>${html}</body></html>`
  );
}

/** The HTML with its inline images (`cid:` sources) pointing at their attachments' blob
 * URLs (the frame allows blob: images and nothing remote, so no tracking pixel loads). */
function withInlineImages(html: string, urls: Map<string, string>): string {
  if (urls.size === 0) return html;
  const doc = new DOMParser().parseFromString(html, "text/html"); // inert: nothing runs
  for (const img of Array.from(doc.querySelectorAll<HTMLImageElement>('img[src^="cid:"]'))) {
    const url = urls.get((img.getAttribute("src") ?? "").slice(4).replace(/^<|>$/g, ""));
    if (url) img.setAttribute("src", url);
  }
  return doc.body.innerHTML;
}

/** Blob URLs of the message's stored inline images, by Content-ID, once fetched. */
function useInlineImages(html: string, attachments: Attachment[]): Map<string, string> {
  const [urls, setUrls] = useState<Map<string, string>>(new Map());
  const inline = attachments.filter((a) => a.stored && a.content_id && html.includes(`cid:${a.content_id}`));
  const key = inline.map((a) => a.id).join(",");
  useEffect(() => {
    if (!key) return;
    let live = true;
    let made: (readonly [string, string])[] = [];
    void Promise.all(
      inline.map(async (a) => [a.content_id ?? "", await attachmentUrl(a.id).catch(() => "")] as const),
    ).then((pairs) => {
      made = pairs.filter(([, url]) => url !== "");
      if (live) setUrls(new Map(made));
      else made.forEach(([, url]) => URL.revokeObjectURL(url));
    });
    return () => {
      live = false;
      made.forEach(([, url]) => URL.revokeObjectURL(url));
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` names the attachments
  }, [key]);
  return urls;
}

// The sanitizer keeps no style attributes, so an <img> is the only way HTML loads a file.
const REMOTE_IMAGE = /<img\b[^>]*\ssrc="https?:/i;

export function EmailFrame({ html, attachments }: { html: string; attachments: Attachment[] }): ReactElement {
  const t = useT();
  const ref = useRef<HTMLIFrameElement>(null);
  const [height, setHeight] = useState(60);
  const [remoteImages, setRemoteImages] = useState(false);
  const images = useInlineImages(html, attachments);
  return (
    <>
      {!remoteImages && REMOTE_IMAGE.test(html) && (
        <p className="remote-images" data-testid="remote-images">
          {t("remoteImagesHidden")}{" "}
          <button type="button" className="link" onClick={() => setRemoteImages(true)}>
            {t("showImages")}
          </button>
        </p>
      )}
      <iframe
        ref={ref}
        className="email-frame"
        title="email"
        sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"
        referrerPolicy="no-referrer"
        srcDoc={emailDocument(withInlineImages(html, images), remoteImages)}
        style={{ height }}
        onLoad={() => {
          const doc = ref.current?.contentDocument;
          if (doc?.body) setHeight(Math.min(2000, doc.documentElement.scrollHeight + 4));
        }}
      />
    </>
  );
}
