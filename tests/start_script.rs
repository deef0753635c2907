//! What the JVM receives through Spinnaker's own start scripts, from what spinnaker-krm renders (issue 10).
//!
//! Each service image starts `/opt/<svc>/bin/<svc>`, a Gradle start script that reads `<SVC>_OPTS` with a
//! shell: Gradle 6.x (Spinnaker 1.26-1.31) `eval set -- $DEFAULT_JVM_OPTS $JAVA_OPTS $<SVC>_OPTS ...`, Gradle
//! 7.6 and later (1.32 on) `printf ... | xargs -n1 | sed ... | tr ...` then `eval` (`functions/src/releases.rs`
//! `GRADLE`). Both lines are reproduced below in the shape Gradle generates them, with `tests/java/PrintJvm.java`
//! as the main class, and run under dash (`/bin/sh` here, as on Debian images) and bash, with the rendered
//! container's environment and a key store password containing `$`, quotes, spaces, `;` and a backslash in
//! the Secret. The JVM must receive exactly the intended `-D` options, the password must reach the process
//! unchanged (as the env var Spring's `${...}` placeholders read), and no command line of the whole process
//! tree (every `execve`, recorded with strace) may hold it.
//!
//! The same run with the password on the command line (what spinnaker-krm rendered before issue 10, after
//! Kubernetes expands `$(SPINNAKER_KRM_STORE_PASSWORD)`) shows what the test catches.

#[path = "java/pod.rs"]
mod pod;

use pod::{Cluster, Pod};
use spinnaker_krm_tests as h;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// A password no start script may touch: a unique token (to find it in traces) and the characters that
/// break shell evaluation.
const PASSWORD: &str = "Zx9Token$HOME 'single\"double;semi\\back";
const TOKEN: &str = "Zx9Token";

/// Gradle 6.x `unixStartScript`, the lines that build the java command (as generated; `@OPTS@` is the
/// service's `<SVC>_OPTS`).
const GRADLE_6: &str = r#"DEFAULT_JVM_OPTS='"-Dspring.config.additional-location=/opt/spinnaker/config/"'
JAVACMD=java

# Escape application args
save () {
    for i do printf %s\\n "$i" | sed "s/'/'\\\\''/g;1s/^/'/;\$s/\$/' \\\\/" ; done
    echo " "
}
APP_ARGS=`save "$@"`

# Collect all arguments for the java command, following the shell quoting and substitution rules
eval set -- $DEFAULT_JVM_OPTS $JAVA_OPTS $@OPTS@ -classpath "\"$CLASSPATH\"" PrintJvm "$APP_ARGS"

exec "$JAVACMD" "$@"
"#;

/// Gradle 7.6 / 8.x / 9.x `unixStartScript`, the same part.
const GRADLE_7: &str = r#"DEFAULT_JVM_OPTS='"-Dspring.config.import=optional:/opt/spinnaker/config/"'
JAVACMD=java

set -- \
        -classpath "$CLASSPATH" \
        PrintJvm \
        "$@"

# Stop when "xargs" is not available.
if ! command -v xargs >/dev/null 2>&1
then
    echo "xargs is not available" >&2; exit 1
fi

eval "set -- $(
        printf '%s\n' "$DEFAULT_JVM_OPTS $JAVA_OPTS $@OPTS@" |
        xargs -n1 |
        sed ' s~[^-[:alnum:]+,./:=@_]~\\&~g; ' |
        tr '\n' ' '
    )" '"$@"'

exec "$JAVACMD" "$@"
"#;

/// `tests/java/PrintJvm.java` compiled once per test process.
fn classes() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("print-jvm-{}", std::process::id()));
        pod::run_bounded(
            Command::new(h::on_path("javac")).arg("-d").arg(&dir).arg(h::root().join("tests/java/PrintJvm.java")),
            Duration::from_secs(120),
        )
        .success();
        dir
    })
}

fn unhex(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    String::from_utf8(bytes).unwrap()
}

/// What one start of the JVM looked like.
struct Started {
    ok: bool,
    options: Vec<String>,
    password_env: String,
    /// The JVM's own /proc/self/cmdline, argument by argument.
    cmdline: Vec<String>,
    /// Every execve of the process tree, as strace printed it.
    command_lines: String,
    stderr: String,
}

/// Runs `script` (one of the patterns, for the env var `opts`) under `shell` with `env`, traced.
fn start(shell: &str, script: &str, opts: &str, env: &[(String, String)], dir: &Path) -> Started {
    let file = dir.join(format!("start-{}", std::process::id()));
    std::fs::write(&file, script.replace("@OPTS@", opts)).unwrap();
    let trace = dir.join("execve.trace");
    let mut cmd = Command::new(h::on_path("strace"));
    cmd.args(["-f", "-qq", "-e", "trace=execve", "-s", "100000", "-o"]).arg(&trace).arg(h::on_path(shell)).arg(&file);
    cmd.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).envs(env.iter().cloned());
    cmd.env("CLASSPATH", classes());
    let out = pod::run_bounded(&mut cmd, Duration::from_secs(120));
    let mut started = Started {
        ok: out.status.success(),
        options: Vec::new(),
        password_env: String::new(),
        cmdline: Vec::new(),
        command_lines: h::read_file(&trace),
        stderr: out.stderr,
    };
    for line in out.stdout.lines() {
        match line.split_once(' ') {
            Some(("option", hex)) => started.options.push(unhex(hex)),
            Some(("env", hex)) => started.password_env = unhex(hex),
            Some(("cmdline", hex)) => started.cmdline.push(unhex(hex)),
            _ => {}
        }
    }
    started
}

/// The rendered pods of clouddriver (`need`) and gate (`want`), with [`PASSWORD`] in the Secret.
fn rendered() -> (Vec<(&'static str, Pod)>, h::TempDir) {
    let items = pod::render(
        &[&pod::spinnaker_kustomize_deployment("clouddriver"), &pod::spinnaker_kustomize_deployment("gate")],
        pod::DEFAULT_CONFIG,
    );
    let mut cluster = Cluster::default();
    cluster.config_map("spinnaker-cert-trust-bundle", "mtls-cacerts", "");
    cluster.secret("certificate-secrets", "TLS_INTERNAL_KEYSTORE_PASSWORD", PASSWORD);
    cluster.secret("clouddriver-mtls", "tls.crt", "");
    cluster.secret("gate-mtls", "tls.crt", "");
    let dir = h::TempDir::new("start-script");
    let pods = ["clouddriver", "gate"]
        .into_iter()
        .map(|name| (name, Pod::new(pod::find(&items, "Deployment", name), &cluster, &dir.path().join(name))))
        .collect();
    (pods, dir)
}

#[test]
fn both_gradle_start_scripts_pass_the_rendered_options_exactly_and_never_the_password() {
    let (pods, dir) = rendered();
    for (name, pod) in &pods {
        let container = pod.container(name);
        let opts = format!("{}_OPTS", name.to_ascii_uppercase());
        let env = container.env();
        let ours = container.rendered_env(&opts).to_owned();
        assert!(!ours.contains('$') && !ours.contains(TOKEN), "{opts} holds only fixed values: {ours}");
        let java_opts = env.iter().find(|(n, _)| n == "JAVA_OPTS").map(|(_, v)| v.clone()).unwrap_or_default();
        for (pattern, script, default) in [
            ("Gradle 6 eval set --", GRADLE_6, "-Dspring.config.additional-location=/opt/spinnaker/config/"),
            ("Gradle 7.6+ xargs -n1", GRADLE_7, "-Dspring.config.import=optional:/opt/spinnaker/config/"),
        ] {
            for shell in ["sh", "bash"] {
                let what = format!("{name}, {pattern}, {shell}");
                let started = start(shell, script, &opts, &env, dir.path());
                assert!(started.ok, "{what}: the start failed:\n{}", started.stderr);
                let mut expected = vec![default.to_owned()];
                expected.extend(java_opts.split_whitespace().map(str::to_owned));
                expected.extend(ours.split_whitespace().map(str::to_owned));
                assert_eq!(started.options, expected, "{what}: the JVM's options");
                for exact in [
                    "-Djavax.net.ssl.trustStore=/spinnaker-krm/truststore/truststore.p12",
                    "-Djavax.net.ssl.trustStoreType=PKCS12",
                    "-Djavax.net.ssl.trustStorePassword=changeit",
                ] {
                    assert!(
                        started.options.iter().any(|o| o == exact),
                        "{what}: {exact} missing: {:?}",
                        started.options
                    );
                }
                assert_eq!(started.password_env, PASSWORD, "{what}: the key store password reaches the JVM unchanged");
                assert!(started.command_lines.contains("execve("), "{what}: strace recorded nothing");
                assert!(started.cmdline.iter().any(|a| a.ends_with("java")), "{what}: {:?}", started.cmdline);
                assert!(!started.cmdline.iter().any(|a| a.contains(TOKEN)), "{what}: {:?}", started.cmdline);
                assert!(
                    !started.command_lines.contains(TOKEN),
                    "{what}: the password is on a command line:\n{}",
                    started.command_lines
                );
            }
        }
    }
}

#[test]
fn the_password_on_the_command_line_as_rendered_before_is_mangled_and_visible() {
    // `-Djavax.net.ssl.trustStorePassword=$(SPINNAKER_KRM_STORE_PASSWORD)` after Kubernetes expanded it.
    let (pods, dir) = rendered();
    let container = pods[0].1.container("clouddriver");
    let mut env = container.env();
    for (name, value) in env.iter_mut() {
        if name == "CLOUDDRIVER_OPTS" {
            *value = format!("-Djavax.net.ssl.trustStorePassword={PASSWORD}");
        }
    }
    let intended = format!("-Djavax.net.ssl.trustStorePassword={PASSWORD}");
    for script in [GRADLE_6, GRADLE_7] {
        let started = start("sh", script, "CLOUDDRIVER_OPTS", &env, dir.path());
        assert!(!started.ok || !started.options.contains(&intended), "the old injection passed the password intact");
        if started.ok {
            assert!(started.command_lines.contains(TOKEN), "and it was on the java command line");
        }
    }
}
