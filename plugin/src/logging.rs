//! Logs go to stderr, always: stdout carries only the result (a ResourceList or a YAML stream), and a
//! single stray line there fails kpt with `MalformedYAMLError` or corrupts what ArgoCD applies.
//!
//! They are held until the run ends and written after the failure headline, so the first stderr line of
//! a failing run is `spinnaker-krm: error: …` at every log level (kpt shows the first lines, ArgoCD the
//! first one). What is held is bounded: past [`MAX_HELD`] bytes, lines are counted, not kept.

use std::io::Write;
use std::sync::Mutex;
use tracing_subscriber::EnvFilter;

/// The most log text held for the end of the run.
const MAX_HELD: usize = 4 * 1024 * 1024;

/// The held log text, and how many bytes did not fit.
static HELD: Mutex<(Vec<u8>, usize)> = Mutex::new((Vec::new(), 0));

struct Held;

impl Write for Held {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if held.0.len() + buf.len() <= MAX_HELD {
            held.0.extend_from_slice(buf);
        } else {
            held.1 += buf.len();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `SPINNAKER_KRM_LOG` sets the filter (`debug`, `spinnaker_krm=trace`, ...); the default is `warn`.
pub fn init() {
    let filter = EnvFilter::try_from_env("SPINNAKER_KRM_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_writer(|| Held).with_ansi(false).with_target(false).with_env_filter(filter).init();
}

/// Writes the held logs to stderr (after the failure headline, when the run failed).
pub fn flush() {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    let mut stderr = std::io::stderr().lock();
    // Best effort: a closed stderr must not turn a result into a failure.
    let _ = stderr.write_all(&held.0);
    if held.1 > 0 {
        let _ = writeln!(stderr, "spinnaker-krm: {} bytes of log left out (over {MAX_HELD} bytes)", held.1);
    }
    held.0.clear();
    held.1 = 0;
}

/// One line on stderr, best effort: a reader that closed the pipe (`2>&1 | head`) must not turn a run into a
/// panic (`eprintln!` panics on EPIPE); the exit code still says how the run went.
pub fn stderr_line(line: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
