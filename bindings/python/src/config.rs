//! `talk2tables._native.Config`: a parsed configuration (DESIGN.md §2).

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::runtime::catch_panics;

/// A parsed, validated configuration; pass it to `Engine.start`.
///
/// Parsing reads the process environment (and `./.env`) for `${VAR}` expansion and the
/// variables of DESIGN.md §2. Errors: `NativeError` with code `CONFIG_ERROR`, naming the
/// source, line and field.
#[pyclass(frozen, module = "talk2tables._native", name = "Config")]
pub(crate) struct NativeConfig {
    pub(crate) config: talk2tables::Config,
}

#[pymethods]
impl NativeConfig {
    /// Reads and parses a YAML file (`mcp_config.yaml`).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        let config = catch_panics(|| talk2tables::Config::load(&path))?;
        Ok(NativeConfig { config })
    }

    /// Parses YAML (or JSON) text; `source` names it in error messages.
    #[staticmethod]
    fn parse(text: &str, source: &str) -> PyResult<Self> {
        let config = catch_panics(|| {
            let env = talk2tables::config::process_env()?;
            talk2tables::Config::from_yaml_str(text, source, &*env)
        })?;
        Ok(NativeConfig { config })
    }

    /// The `server_id`s of the configured servers, by priority.
    fn server_ids(&self) -> Vec<String> {
        self.config.servers.iter().map(|s| s.server_id.clone()).collect()
    }
}
