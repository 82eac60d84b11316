/**
 * The UI's one stylesheet, served as `assets/style.css` (the Content-Security-Policy allows styles
 * from the UI's own origin only: no inline styles, no scripts at all).
 *
 * @module
 */
export const STYLESHEET = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg: #f6f7f9; --card: #fff; --accent: #2557d6;
  --ok: #1f7a3d; --warn: #9a6700; --bad: #b42318; --info: #315a9c; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); font-size: 14px; line-height: 1.45; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 16px; padding: 10px 24px; background: #17203a; color: #fff; }
header.top a { color: #dfe6ff; }
header.top a.brand { font-weight: 700; font-size: 16px; color: #fff; margin-right: 8px; }
header.top nav { display: flex; gap: 14px; }
header.top nav a.active { color: #fff; border-bottom: 2px solid #8fb0ff; }
header.top form.find { margin-left: auto; display: flex; gap: 6px; }
header.top .who { font-size: 12px; color: #c8d2f0; display: flex; gap: 8px; align-items: center; }
main { padding: 20px 24px 40px; max-width: 1400px; }
h1 { font-size: 20px; margin: 0 0 14px; }
h2 { font-size: 16px; margin: 22px 0 10px; }
.banner { padding: 8px 12px; border-radius: 6px; margin-bottom: 14px; border: 1px solid; }
.banner.readonly { background: #fff8e6; border-color: #f0d48a; color: #6b4e00; }
.banner.error { background: #fdeceb; border-color: #f3b7b2; color: var(--bad); }
.banner.ok { background: #eaf6ee; border-color: #a9d8b8; color: var(--ok); }
table { border-collapse: collapse; width: 100%; background: var(--card); border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f6; font-weight: 600; font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .02em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.gap td { color: var(--muted); font-style: italic; background: #fafbfc; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12.5px; }
pre { background: var(--card); border: 1px solid var(--line); padding: 10px; overflow: auto; max-height: 420px; white-space: pre-wrap; word-break: break-all; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 14px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card h3 { margin: 0 0 8px; font-size: 14px; display: flex; justify-content: space-between; align-items: center; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid; }
.badge.loaded, .badge.pending, .badge.schedule { color: var(--ok); border-color: #a9d8b8; background: #eaf6ee; }
.badge.loading, .badge.fresh, .badge.cancel, .badge.cancelled { color: var(--warn); border-color: #f0d48a; background: #fff8e6; }
.badge.stopped, .badge.tombstone, .badge.dispatched, .badge.none { color: var(--muted); border-color: var(--line); background: #f1f3f6; }
.badge.halted, .badge.invalid, .badge.incompatible, .badge.unknown { color: var(--bad); border-color: #f3b7b2; background: #fdeceb; }
form.inline { display: inline-flex; flex-wrap: wrap; gap: 8px; align-items: end; margin: 0 0 14px; }
label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 3px; }
input, select, button { font: inherit; padding: 5px 8px; border: 1px solid #b9c1cf; border-radius: 5px; background: #fff; color: var(--fg); }
button, .button { cursor: pointer; background: var(--accent); color: #fff; border-color: var(--accent); padding: 5px 12px; border-radius: 5px; display: inline-block; }
button.danger, .button.danger { background: var(--bad); border-color: var(--bad); }
.button.secondary { background: #fff; color: var(--accent); }
.pager { display: flex; gap: 14px; margin: 10px 0; align-items: center; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
progress { width: 240px; height: 12px; }
.stats { display: flex; gap: 14px; flex-wrap: wrap; margin-bottom: 16px; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 150px; }
.stat .value { font-size: 22px; font-weight: 700; }
.actions { display: flex; gap: 10px; margin: 12px 0; }
`;
