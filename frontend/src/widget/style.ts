// Everything lives in a shadow root: the page's selectors can't reach inside. Only
// the host element itself is visible to page CSS, so its rules are !important (inside a
// shadow tree, !important :host rules beat the page's own !important rules).
export function css(brand: string): string {
  return `
:host{all:initial!important;display:block!important;position:fixed!important;z-index:2147483646!important;
bottom:20px!important;inset-inline-end:20px!important;top:auto!important;left:auto;width:auto!important;
height:auto!important;margin:0!important;padding:0!important;border:0!important;opacity:1!important;
visibility:visible!important;transform:none!important;filter:none!important;contain:layout style;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Tahoma,sans-serif!important;color:#111827!important}
*{box-sizing:border-box;font:inherit;color:inherit;margin:0;letter-spacing:normal;text-transform:none}
button,input,textarea{all:revert;font:inherit}
.launcher{all:unset;cursor:pointer;position:relative;display:flex;align-items:center;justify-content:center;
width:56px;height:56px;border-radius:50%;background:${brand};color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25)}
.launcher svg{width:28px;height:28px;fill:#fff}
.badge{position:absolute;top:-4px;inset-inline-end:-4px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;
background:#dc2626;color:#fff;font-size:12px;line-height:20px;text-align:center}
.badge[hidden],[hidden]{display:none!important}
.panel{position:absolute;bottom:68px;right:0;width:min(370px,calc(100vw - 40px));height:min(560px,calc(100vh - 110px));
display:flex;flex-direction:column;background:#fff;border-radius:12px;overflow:hidden;box-shadow:0 10px 40px rgba(0,0,0,.25)}
.panel.left{left:0;right:auto}
.head{background:${brand};color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}
.head h2{font-size:16px;font-weight:600;flex:1;color:#fff}
.head button{all:unset;cursor:pointer;color:#fff;font-size:20px;padding:0 4px}
.tabs{display:flex;border-bottom:1px solid #e5e7eb}
.tabs button{all:unset;cursor:pointer;flex:1;text-align:center;padding:8px;color:#374151}
.tabs button[aria-selected=true]{border-bottom:2px solid ${brand};font-weight:600}
.body{flex:1;overflow:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f9fafb}
.status{font-size:12px;color:#6b7280}
.older{align-self:center;background:none;border:0;color:${brand};font-size:12px;cursor:pointer;text-decoration:underline}
.msg{max-width:80%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #e5e7eb}
.msg.inbound{align-self:flex-end;background:${brand};color:#fff;border-color:${brand}}
.msg .who{display:block;font-size:11px;opacity:.75}
.msg img{display:block;max-width:100%;border-radius:6px;margin-top:4px}
.msg .file{all:unset;cursor:pointer;text-decoration:underline;display:block}
.typing{font-size:12px;color:#6b7280;padding:0 12px 4px}
form{display:flex;flex-direction:column;gap:8px}
label{display:flex;flex-direction:column;gap:2px;font-size:13px;color:#374151}
input,textarea{box-sizing:border-box;min-width:0;border:1px solid #d1d5db;border-radius:6px;padding:7px 8px;background:#fff;color:#111827;width:100%}
.row{display:flex;gap:6px}.row>*{flex:1;min-width:0}
.err{color:#b91c1c;font-size:12px}
.compose{display:flex;flex-direction:row;gap:6px;padding:8px;border-top:1px solid #e5e7eb;align-items:flex-end;background:#fff}
.compose textarea{resize:none;height:40px;flex:1;min-width:0;width:auto}
.primary{all:unset;cursor:pointer;background:${brand};color:#fff;border-radius:6px;padding:8px 12px;text-align:center}
.icon{all:unset;cursor:pointer;padding:8px;display:flex}
.icon svg{width:20px;height:20px;fill:#4b5563}
.survey{display:flex;flex-direction:column;gap:6px;margin-top:6px}
.survey .scores{display:flex;flex-wrap:wrap;gap:4px}
.survey .scores button{all:unset;cursor:pointer;min-width:26px;padding:5px 6px;text-align:center;border:1px solid ${brand};border-radius:6px;color:${brand}}
.survey .scores button:hover,.survey .scores button:focus-visible{background:${brand};color:#fff}
.survey .rated{font-weight:600}
.hp{position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden}
`;
}
