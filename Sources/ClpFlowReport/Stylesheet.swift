// The report's inline CSS.

extension ReportRenderer {
    static let stylesheet = """
    :root{color-scheme:light}
    body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d232b;background:#f6f7f9;margin:0;padding:0 24px 32px;line-height:1.45;font-size:14px}
    header,nav,section,footer{max-width:1160px;margin:0 auto}
    header{padding:20px 0 6px}
    h1{font-size:24px;margin:0 0 6px}
    h2{font-size:19px;margin:0 0 10px;padding-bottom:4px;border-bottom:2px solid #dfe3e8}
    h3{font-size:15px;margin:16px 0 8px}
    .subtitle{margin:2px 0;color:#4a5563}
    nav{padding:8px 0 12px;display:flex;flex-wrap:wrap;gap:6px 14px}
    nav a{color:#0b5cad;text-decoration:none;font-weight:600}
    section{background:#fff;border:1px solid #e1e5ea;border-radius:8px;padding:16px 18px;margin-top:16px}
    .note{color:#4a5563;margin:0 0 12px;max-width:900px}
    .charts{display:flex;flex-wrap:wrap;gap:14px}
    figure{margin:0;border:1px solid #eceff3;border-radius:6px;background:#fff}
    figcaption{font-size:12px;color:#4a5563;padding:0 10px 8px}
    svg.chart{display:block;font-family:inherit}
    .chart-title{font-size:14px;font-weight:600;fill:#1d232b}
    table{border-collapse:collapse}
    table.data{margin:4px 0 8px}
    table.data th,table.data td{padding:5px 10px;border-bottom:1px solid #e6e9ed;text-align:left;vertical-align:top}
    table.data thead th{background:#f1f3f6;font-weight:600;border-bottom:2px solid #d5dae0}
    table.data tbody tr:nth-child(even){background:#fafbfc}
    .n{text-align:right!important;font-variant-numeric:tabular-nums}
    tr.best td,td.best{background:#fff4c7!important}
    .badge{display:inline-block;font-size:11px;background:#f2c94c;color:#3d3000;border-radius:4px;padding:0 5px;margin-left:4px;font-weight:600}
    .cell-note{font-size:11px;color:#6b7582}
    .swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
    .status{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600}
    .status.ok{background:#dff3e4;color:#17602c}.status.warn{background:#fdf0d2;color:#7a5300}.status.bad{background:#fbe0de;color:#8e1d16}
    table.kv th{text-align:left;padding:3px 16px 3px 0;color:#4a5563;font-weight:600;vertical-align:top}
    table.kv td{padding:3px 0;word-break:break-word}
    td.key{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px;word-break:break-all;max-width:420px}
    .scroll{overflow-x:auto;max-width:100%}
    table.summary td:first-child{overflow-wrap:anywhere;min-width:8em}
    table.ablation td.n{white-space:nowrap}
    table.seeds td.n,table.objective td.n,table.seeds td:first-child{white-space:nowrap}
    .sample{border-top:1px solid #e6e9ed;padding-top:4px;margin-top:12px}
    .sample:first-of-type{border-top:none}
    .doc{white-space:pre-wrap;background:#f7f8fa;border:1px solid #e6e9ed;border-radius:4px;padding:8px 10px;max-height:220px;overflow:auto;margin:6px 0}
    summary{cursor:pointer;color:#4a5563;font-weight:600}
    table.samples{table-layout:fixed;width:100%}
    .input{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;color:#444;white-space:pre-wrap}
    table.samples th.w{width:110px;white-space:nowrap;font-weight:600}
    .gen{white-space:pre-wrap}
    .rewards{font-size:11.5px;color:#5b6673;margin-top:4px}
    .problems{border-color:#f0b4ae;background:#fff6f5}
    footer{color:#6b7582;font-size:12px;padding-top:14px}
    """
}
