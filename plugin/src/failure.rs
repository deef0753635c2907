//! A failed run as the user sees it: one headline line first on stderr (kpt shows only the first four
//! lines, ArgoCD shows stderr in its UI), then the details, the `results` for KRM mode, and an exit code.
//!
//! Exit codes: 1 when the manifests have problems the transform found (results with severity error),
//! 2 when the input, the configuration or the BOM is unusable, or the command line is wrong.

use functions::krm::KrmResult;

#[derive(Debug)]
pub struct Failure {
    pub headline: String,
    pub details: Vec<String>,
    pub results: Vec<KrmResult>,
    pub code: u8,
}

impl Failure {
    /// Unusable input, configuration or environment (exit 2).
    pub fn input(headline: impl Into<String>) -> Self {
        let headline = headline.into();
        Failure { results: vec![KrmResult::error(headline.clone())], headline, details: Vec::new(), code: 2 }
    }

    /// Prints the failure to stderr: the headline first, then one line per detail.
    pub fn print(&self) {
        crate::logging::stderr_line(format_args!("spinnaker-krm: error: {}", self.headline));
        for detail in &self.details {
            crate::logging::stderr_line(format_args!("  {detail}"));
        }
    }
}

impl From<functions::krm::InputError> for Failure {
    fn from(e: functions::krm::InputError) -> Self {
        Failure::input(e.to_string())
    }
}

impl From<functions::config::ConfigError> for Failure {
    fn from(e: functions::config::ConfigError) -> Self {
        Failure::input(e.to_string())
    }
}

impl From<functions::bom::BomError> for Failure {
    fn from(e: functions::bom::BomError) -> Self {
        Failure::input(e.to_string())
    }
}

impl From<functions::transform::Failed> for Failure {
    fn from(e: functions::transform::Failed) -> Self {
        let details = if e.0.len() > 1 { e.0.iter().map(ToString::to_string).collect() } else { Vec::new() };
        Failure { headline: e.to_string(), details, results: e.0.iter().map(|f| f.to_result()).collect(), code: 1 }
    }
}
