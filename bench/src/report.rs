//! The printed table (the JSON report is `Results` serialised as it is).

use comfy_table::{Table, presets::ASCII_MARKDOWN};

use crate::load::Stats;
use crate::scenarios::Results;

fn ms(v: f64) -> String {
    if v.is_finite() { format!("{v:.2}") } else { "n/a".into() }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.filter(|v| v.is_finite()).map(|v| format!("{v:.digits$}")).unwrap_or_else(|| "n/a".into())
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn stats_row(table: &mut Table, topology: &str, what: &str, s: &Stats, ratio: Option<f64>) {
    table.add_row(vec![
        topology.to_string(),
        what.to_string(),
        s.concurrency.to_string(),
        ms(s.p50_ms),
        ms(s.p95_ms),
        ms(s.p99_ms),
        format!("{:.0}", s.throughput_rps),
        ratio.map(|r| format!("{r:.2}")).unwrap_or_default(),
        format!("{}/{}", s.ok, s.ok + s.errors),
    ]);
}

/// Every section as Markdown-style tables.
pub fn table(r: &Results) -> String {
    let mut out = format!(
        "Talk 2 Tables benchmark, {} — {} CPU(s) {}, load average {:.2} before / {:.2} after\n\n",
        r.date, r.machine.cpus, r.machine.cpu_model, r.machine.load_before[0], r.machine.load_after[0]
    );

    let mut latency = Table::new();
    latency.load_preset(ASCII_MARKDOWN).set_header(vec![
        "topology",
        "path",
        "conc.",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "req/s",
        "chat÷base p50",
        "ok",
    ]);
    for t in &r.topologies {
        for (b, c) in t.baseline.iter().zip(&t.chat) {
            let ratio = t.ratio.iter().find(|x| x.concurrency == c.concurrency).map(|x| x.p50);
            stats_row(&mut latency, &t.name, "baseline execute_query", b, None);
            stats_row(&mut latency, &t.name, "POST /api/chat", c, ratio);
        }
    }
    for t in &r.topologies {
        stats_row(&mut latency, &t.name, "GET /api/health/live (HTTP hop)", &t.http_hop, None);
    }
    out.push_str(&format!("Latency (fixed {} requests per row)\n{latency}\n\n", r.settings.requests));

    let mut cache = Table::new();
    cache.load_preset(ASCII_MARKDOWN).set_header(vec![
        "resource cache",
        "resource requests/question",
        "tools/call/question",
        "p50 ms",
        "p95 ms",
    ]);
    for c in &r.cache {
        cache.add_row(vec![
            c.cache.clone(),
            format!("{:.2}", c.resource_requests_per_question),
            format!("{:.2}", c.tool_calls_per_question),
            ms(c.latency.p50_ms),
            ms(c.latency.p95_ms),
        ]);
    }
    out.push_str(&format!(
        "Resource cache (http topology, {} questions each)\n{cache}\n\n",
        r.settings.cache_questions
    ));

    let mut llm = Table::new();
    llm.load_preset(ASCII_MARKDOWN).set_header(vec![
        "LLM stub delay ms",
        "generator",
        "completions/question",
        "p50 ms",
        "pipeline share p50 ms",
        "note",
    ]);
    for l in &r.llm {
        llm.add_row(vec![
            l.delay_ms.to_string(),
            l.generator.clone(),
            format!("{:.2}", l.llm_calls_per_question),
            opt(l.latency.as_ref().map(|s| s.p50_ms), 2),
            opt(l.pipeline_p50_ms, 2),
            l.note.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&format!("LLM generator path (embedded, concurrency 1)\n{llm}\n\n"));

    let rust = r.calls.iter().find(|c| c.language == "rust");
    let mut calls = Table::new();
    calls.load_preset(ASCII_MARKDOWN).set_header(vec![
        "language",
        "modes() µs",
        "over Rust µs",
        "chat() p50 µs",
        "over Rust µs",
        "chat() mean µs",
        "note",
    ]);
    for c in &r.calls {
        let over = |v: Option<f64>, base: Option<f64>| opt(v.zip(base).map(|(v, b)| v - b), 2);
        calls.add_row(vec![
            c.language.clone(),
            opt(c.modes_us, 2),
            over(c.modes_us, rust.and_then(|r| r.modes_us)),
            opt(c.chat_us, 1),
            over(c.chat_us, rust.and_then(|r| r.chat_us)),
            opt(c.chat_mean_us, 1),
            c.note.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&format!("In-process call cost (embedded engine, warm)\n{calls}\n\n"));

    let mut memory = Table::new();
    memory.load_preset(ASCII_MARKDOWN).set_header(vec![
        "topology",
        "idle VmRSS MiB",
        "VmRSS under load MiB",
        "VmHWM MiB",
        "load conc.",
    ]);
    for t in &r.topologies {
        memory.add_row(vec![
            t.name.clone(),
            mib(t.memory.idle.rss_kib),
            mib(t.memory.under_load_rss_kib),
            mib(t.memory.peak_hwm_kib),
            t.memory.load_concurrency.to_string(),
        ]);
    }
    out.push_str(&format!("talk2tables-server memory\n{memory}\n"));
    out
}
