//! In-process call cost: the same calls on an embedded engine from Rust (this process),
//! from Node (the napi addon through `node/lib`) and from Python (when its binding is
//! built), each timed inside its own language.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use talk2tables::{ChatRequest, Engine};
use tokio::process::Command;

use crate::BenchResult;

/// The Node measuring script (reads `T2T_*` variables, prints one JSON line).
const NODE_SCRIPT: &str = include_str!("../scripts/calls.js");
/// The Python measuring script (same contract).
const PYTHON_SCRIPT: &str = include_str!("../scripts/calls.py");
/// Limit for one language's whole measurement.
const LANGUAGE_TIMEOUT: Duration = Duration::from_secs(300);

/// Per-call cost in one language, microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct CallCost {
    /// `rust`, `node` or `python`.
    pub language: String,
    /// Mean of `engine.modes()` (a cheap synchronous call).
    pub modes_us: Option<f64>,
    /// Median of `engine.chat(question)` on a warm engine, sequential, each call timed.
    pub chat_us: Option<f64>,
    /// Mean of the same calls.
    pub chat_mean_us: Option<f64>,
    /// Why there are no figures (binding not built, script failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CallCost {
    fn missing(language: &str, note: String) -> CallCost {
        CallCost { language: language.into(), modes_us: None, chat_us: None, chat_mean_us: None, note: Some(note) }
    }
}

/// What each language measures.
pub struct Plan<'a> {
    /// Directory for the engines' sample databases.
    pub data_dir: &'a Path,
    /// `modes()` calls.
    pub modes_calls: usize,
    /// `chat()` calls, cycling through `questions`.
    pub chat_calls: usize,
    /// The question mix.
    pub questions: &'a [String],
}

/// Rust: an embedded engine in this process.
///
/// Errors: the engine cannot start, or a warm-up question fails.
pub async fn rust(plan: &Plan<'_>) -> BenchResult<CallCost> {
    let engine = Engine::embedded(plan.data_dir.join("rust")).await.map_err(|e| format!("Rust engine: {e}"))?;
    for q in plan.questions {
        engine.ask(q).await.map_err(|e| format!("Rust warm-up {q:?}: {e}"))?;
    }
    let t = Instant::now();
    let mut available = 0usize;
    for _ in 0..plan.modes_calls {
        available += std::hint::black_box(engine.modes()).available_modes.len();
    }
    let modes_us = t.elapsed().as_secs_f64() * 1e6 / plan.modes_calls.max(1) as f64;
    std::hint::black_box(available);
    let mut each = Vec::with_capacity(plan.chat_calls);
    for i in 0..plan.chat_calls {
        let q = &plan.questions[i % plan.questions.len()];
        let t = Instant::now();
        let response = engine.chat(ChatRequest::new(q.clone())).await;
        each.push(t.elapsed());
        if !response.success {
            return Err(format!("Rust chat {q:?} failed"));
        }
    }
    let stats = crate::load::summarise(1, each, Vec::new(), Duration::from_secs(1));
    engine.close().await;
    Ok(CallCost {
        language: "rust".into(),
        modes_us: Some(modes_us),
        chat_us: Some(stats.p50_ms * 1000.0),
        chat_mean_us: Some(stats.mean_ms * 1000.0),
        note: None,
    })
}

/// Node: `node/lib` with the addon at `addon` (copied to a `.node` file and loaded
/// through `NAPI_RS_NATIVE_LIBRARY_PATH`).
pub async fn node(plan: &Plan<'_>, repo: &Path, addon: &Path) -> CallCost {
    if !addon.exists() {
        return CallCost::missing(
            "node",
            format!("addon {} not built (cargo build --release -p talk2tables-node)", addon.display()),
        );
    }
    let dir = plan.data_dir.join("node");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return CallCost::missing("node", format!("cannot create {}: {e}", dir.display()));
    }
    let loaded = dir.join("talk2tables.node");
    let script = dir.join("calls.js");
    if let Err(e) = std::fs::copy(addon, &loaded).and_then(|_| std::fs::write(&script, NODE_SCRIPT)) {
        return CallCost::missing("node", format!("cannot prepare the Node run: {e}"));
    }
    let mut cmd = Command::new("node");
    cmd.arg(&script).env("NAPI_RS_NATIVE_LIBRARY_PATH", &loaded).env("T2T_NODE_LIB", repo.join("node/lib/index.js"));
    run_script("node", cmd, plan, &dir).await
}

/// Python: `import talk2tables` with `python3`. When the release module `native`
/// (`lib_native.so` of `cargo build --release -p talk2tables-python`) exists, the package
/// is staged from `python/src/talk2tables` with it as `_native.abi3.so` and put first on
/// `PYTHONPATH`; otherwise the interpreter's installed package is used.
pub async fn python(plan: &Plan<'_>, repo: &Path, native: &Path) -> CallCost {
    let dir = plan.data_dir.join("python");
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(dir.join("calls.py"), PYTHON_SCRIPT)) {
        return CallCost::missing("python", format!("cannot prepare the Python run: {e}"));
    }
    let mut cmd = Command::new("python3");
    cmd.arg(dir.join("calls.py"));
    if native.exists() {
        let pkg = dir.join("site").join("talk2tables");
        if let Err(e) = stage_python(&repo.join("python/src/talk2tables"), native, &pkg) {
            return CallCost::missing("python", format!("cannot stage the Python package: {e}"));
        }
        cmd.env("PYTHONPATH", dir.join("site"));
    }
    run_script("python", cmd, plan, &dir).await
}

fn stage_python(src: &Path, native: &Path, pkg: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(pkg)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), pkg.join(entry.file_name()))?;
        }
    }
    std::fs::copy(native, pkg.join("_native.abi3.so"))?;
    Ok(())
}

async fn run_script(language: &str, mut cmd: Command, plan: &Plan<'_>, data_dir: &Path) -> CallCost {
    let questions = serde_json::to_string(plan.questions).unwrap_or_else(|_| "[]".into());
    cmd.env("T2T_DATA_DIR", data_dir.join("data"))
        .env("T2T_MODES_CALLS", plan.modes_calls.to_string())
        .env("T2T_CHAT_CALLS", plan.chat_calls.to_string())
        .env("T2T_QUESTIONS", questions)
        .kill_on_drop(true);
    let out = match tokio::time::timeout(LANGUAGE_TIMEOUT, cmd.output()).await {
        Err(_) => return CallCost::missing(language, format!("timed out after {LANGUAGE_TIMEOUT:?}")),
        Ok(Err(e)) => return CallCost::missing(language, format!("cannot run {language}: {e}")),
        Ok(Ok(out)) => out,
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| l.trim_start().starts_with('{')).unwrap_or("");
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(v) if v["error"].is_null() => CallCost {
            language: language.into(),
            modes_us: v["modes_us"].as_f64(),
            chat_us: v["chat_us"].as_f64(),
            chat_mean_us: v["chat_mean_us"].as_f64(),
            note: None,
        },
        Ok(v) => CallCost::missing(language, v["error"].as_str().unwrap_or("failed").to_string()),
        Err(_) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
            CallCost::missing(language, format!("no result ({}): {tail}", out.status))
        }
    }
}
