//! Logs go to stderr, always: stdout carries only the result (a ResourceList or a YAML stream), and a
//! single stray line there fails kpt with `MalformedYAMLError` or corrupts what ArgoCD applies.
//! tracing-subscriber's default writer is stdout, hence the explicit writer.

use tracing_subscriber::EnvFilter;

/// `SPINNAKER_KRM_LOG` sets the filter (`debug`, `spinnaker_krm=trace`, ...); the default is `warn`.
pub fn init() {
    let filter = EnvFilter::try_from_env("SPINNAKER_KRM_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_env_filter(filter)
        .init();
}
