/** The inline stylesheet of report.html: system fonts, a centred column, cards, quiet tables. */
export const REPORT_CSS = `
:root { color-scheme: light; --ink: #202124; --soft: #5f6368; --line: #e3e6ea; --panel: #f7f8fa; --accent: #1f4e79; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 14px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 48px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 20px; }
h1 { font-size: 26px; margin: 0 0 4px; letter-spacing: -0.01em; }
h1 .method { font-weight: 500; color: var(--accent); }
h2 { font-size: 18px; margin: 0 0 6px; }
h3 { font-size: 14px; margin: 16px 0 6px; color: var(--soft); text-transform: uppercase; letter-spacing: 0.04em; }
.sub { color: var(--soft); margin: 0; }
code { font: 12.5px/1.4 ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace; }
section { margin: 0 0 28px; }
.note { color: var(--soft); margin: 0 0 10px; max-width: 78ch; }
.warnings { background: #fff7e6; border: 1px solid #f5c26b; border-left: 5px solid #e8a317; border-radius: 6px;
  padding: 10px 14px; margin: 0 0 22px; }
.warnings h2 { font-size: 15px; margin: 0 0 4px; color: #8a5a00; }
.warnings ul { margin: 0; padding-left: 20px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin: 0 0 24px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .value { font-size: 22px; font-weight: 600; }
.card .label { color: var(--soft); font-size: 12.5px; }
.card.alert .value { color: #b3261e; }
.columns { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.2fr); gap: 28px; align-items: start; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; color: #3c4043; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; margin: 0; padding: 0; list-style: none; }
.chips li { background: #e8f0f8; color: var(--accent); border-radius: 12px; padding: 1px 10px; font-size: 12.5px; }
figure { margin: 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
.chart { border-top: 1px solid var(--line); padding-top: 16px; }
.verdict { font-weight: 600; }
.verdict.good { color: #1e7b34; }
.verdict.bad { color: #b3261e; }
.empty { color: var(--soft); font-style: italic; }
footer { color: var(--soft); font-size: 12px; border-top: 1px solid var(--line); padding-top: 10px; }
@media (max-width: 800px) { .columns { grid-template-columns: 1fr; } }
`;
