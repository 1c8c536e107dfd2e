/** The report's whole style sheet, inlined into the page. */
export const REPORT_CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1b1b1b;background:#fff}
h1{font-size:20px}h2{font-size:17px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:28px}h3{font-size:15px}h4{font-size:13px;margin:8px 0 4px}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
pre{background:#f6f6f6;border:1px solid #e3e3e3;padding:6px;overflow-x:auto;white-space:pre-wrap}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d6d6d6;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}dl.meta dt{font-weight:600}dl.meta dd{margin:0;word-break:break-word}
.st{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;font-weight:600;color:#fff;background:#777}
.st-pass{background:#1a7f37}.st-fail{background:#cf222e}.st-error{background:#8250df}.st-miss{background:#9a6700}.st-skip{background:#57606a}.st-running,.st-interrupted{background:#bc4c00}
tr.row-fail td,tr.row-error td{background:#fff5f5}tr.changed td{background:#fff8c5}
tr.delta-worse td{background:#ffebe9}tr.delta-better td{background:#dafbe1}
figure.metric{margin:12px 0 24px}figcaption{margin-bottom:4px}
.none{color:#666;font-style:italic}nav{margin:8px 0 16px}section.case{border-top:1px dashed #ddd;margin-top:12px}
ul.findings{padding-left:18px}svg.chart{display:block;max-width:100%;height:auto}svg text{font-family:system-ui,sans-serif;fill:#222}
`;
