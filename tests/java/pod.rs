//! Running what spinnaker-krm renders, on this machine, the way the kubelet would run it: the shared part of
//! `tests/truststore.rs` and `tests/mtls_handshake.rs` (both include this file with `#[path]`).
//!
//! A [`Cluster`] holds the ConfigMaps and Secrets a test makes (the CA bundle trust-manager would write, the
//! password Secret, the Secrets cert-manager would write). A [`Pod`] lays out a rendered workload's volumes
//! as temp directories (configMap and secret volumes get their `items`, an emptyDir starts empty and
//! survives re-runs, like a pod restart), and a [`Container`] of it resolves its `env` (`valueFrom.
//! secretKeyRef` from the Cluster, `$(VAR)` as Kubernetes expands it, values under a `mountPath` mapped to
//! that volume's directory) and runs its `command` + `args` exactly, without an extra shell, with the
//! environment cleared but for the resolved env and `PATH` (standing in for the image's). When the tests
//! run as root, the process gets the container's `runAsUser`/`runAsGroup` as well.

#![allow(dead_code)] // each test target uses part of it

use serde_yaml_ng::Value;
use spinnaker_krm_tests as h;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The BOM 1.27.0 image of the gate and clouddriver fixtures after pinning.
pub const BOM_VERSION: &str = "1.27.0";

/// A SpinnakerPlatform with the defaults of DESIGN.md: init-container truststore, mTLS with `need`, the
/// CA chain created; Wise's names for the bundle ConfigMap and the password Secret.
pub const DEFAULT_CONFIG: &str = "apiVersion: spinnaker-krm.dev/v1alpha1
kind: SpinnakerPlatform
metadata:
  name: spinnaker
  annotations:
    config.kubernetes.io/local-config: \"true\"
spec:
  namespace: spinnaker
  bom:
    version: 1.27.0
    dir: bom
";

/// A spinnaker-kustomize Deployment from the fixtures (`base/<svc>/deployment.yml`), with the selector and
/// pod labels its Kustomization's `commonLabels` would add.
pub fn spinnaker_kustomize_deployment(service: &str) -> String {
    let text = h::read_file(&h::fixtures().join(format!("spinnaker-kustomize/base/{service}/deployment.yml")));
    let selector = format!("spec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: {service}\n");
    let labels = format!("  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: {service}\n");
    assert!(text.matches("\nspec:\n").count() == 1 && text.matches("\n  template:\n").count() == 1, "fixture changed?");
    text.replacen("\nspec:\n", &format!("\n{selector}"), 1).replacen("\n  template:\n", &format!("\n{labels}"), 1)
}

/// Runs the binary in KRM mode over `items` with `config` (in a temp dir holding `bom/1.27.0.yml`, as the
/// golden runner does) and returns the output items.
pub fn render(items: &[&str], config: &str) -> Vec<Value> {
    let work = h::TempDir::new("render");
    h::install_bom(work.path());
    let out = h::run_function(work.path(), &h::resource_list(items, config)).success();
    let list: Value = serde_yaml_ng::from_str(&out.stdout).expect("the output is YAML");
    list["items"].as_sequence().expect("the output has items").clone()
}

/// The item of `kind` named `name`.
pub fn find<'a>(items: &'a [Value], kind: &str, name: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["kind"].as_str() == Some(kind) && i["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} {name} in the output"))
}

/// Every item of `kind`.
pub fn all<'a>(items: &'a [Value], kind: &str) -> Vec<&'a Value> {
    items.iter().filter(|i| i["kind"].as_str() == Some(kind)).collect()
}

pub fn text<'a>(value: &'a Value, what: &str) -> &'a str {
    value.as_str().unwrap_or_else(|| panic!("{what} is not a string: {value:?}"))
}

pub fn seq(value: &Value) -> &[Value] {
    value.as_sequence().map(Vec::as_slice).unwrap_or_default()
}

/// The named entry of a list of `{name: ...}` mappings.
pub fn named<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    seq(list).iter().find(|e| e["name"].as_str() == Some(name))
}

/// A random password, as an operator would put in the Secret (hex, 32 characters).
pub fn random_password() -> String {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).expect("read /dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The objects a pod reads from the API server: ConfigMaps and Secrets by name, each a map of key to bytes.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    pub config_maps: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

impl Cluster {
    pub fn config_map(&mut self, name: &str, key: &str, data: impl Into<Vec<u8>>) {
        self.config_maps.entry(name.to_owned()).or_default().insert(key.to_owned(), data.into());
    }

    pub fn secret(&mut self, name: &str, key: &str, data: impl Into<Vec<u8>>) {
        self.secrets.entry(name.to_owned()).or_default().insert(key.to_owned(), data.into());
    }

    pub fn secret_value(&self, name: &str, key: &str) -> &[u8] {
        self.secrets
            .get(name)
            .and_then(|s| s.get(key))
            .unwrap_or_else(|| panic!("the pod refers to Secret {name} key {key}, which the cluster does not have"))
    }
}

/// A rendered workload's pod, its volumes laid out under a directory.
pub struct Pod {
    spec: Value,
    cluster: Cluster,
    volumes: BTreeMap<String, PathBuf>,
}

impl Pod {
    /// Lays out the volumes of `workload` (a Deployment or StatefulSet) under `root`.
    pub fn new(workload: &Value, cluster: &Cluster, root: &Path) -> Pod {
        let spec = workload["spec"]["template"]["spec"].clone();
        assert!(spec.is_mapping(), "no pod template in {workload:?}");
        let mut volumes = BTreeMap::new();
        for volume in seq(&spec["volumes"]) {
            let name = text(&volume["name"], "volume name");
            let dir = root.join("volumes").join(name);
            std::fs::create_dir_all(&dir).expect("create volume dir");
            if let Some(config_map) = volume.get("configMap") {
                let source = text(&config_map["name"], "configMap.name");
                let data = cluster.config_maps.get(source).unwrap_or_else(|| {
                    panic!("volume {name} mounts ConfigMap {source}, which the cluster does not have")
                });
                project(&dir, &config_map["items"], data, &format!("ConfigMap {source}"));
            } else if let Some(secret) = volume.get("secret") {
                let source = text(&secret["secretName"], "secret.secretName");
                let data = cluster
                    .secrets
                    .get(source)
                    .unwrap_or_else(|| panic!("volume {name} mounts Secret {source}, which the cluster does not have"));
                project(&dir, &secret["items"], data, &format!("Secret {source}"));
            } else if volume.get("emptyDir").is_some() {
                // The kubelet makes an emptyDir world-writable.
                set_mode(&dir, 0o777);
            }
            // Other kinds (the fixtures' projected config volume) stay empty: nothing injected reads them.
            volumes.insert(name.to_owned(), dir);
        }
        Pod { spec, cluster: cluster.clone(), volumes }
    }

    /// The directory that stands for volume `name`.
    pub fn volume_dir(&self, name: &str) -> &Path {
        self.volumes.get(name).unwrap_or_else(|| panic!("the pod has no volume {name}"))
    }

    pub fn init_container(&self, name: &str) -> Container<'_> {
        let spec = named(&self.spec["initContainers"], name).unwrap_or_else(|| panic!("no init container {name}"));
        Container { pod: self, spec }
    }

    pub fn container(&self, name: &str) -> Container<'_> {
        let spec = named(&self.spec["containers"], name).unwrap_or_else(|| panic!("no container {name}"));
        Container { pod: self, spec }
    }

    pub fn spec(&self) -> &Value {
        &self.spec
    }
}

/// Writes a ConfigMap's or Secret's data into a volume directory: the `items` (key → path), or every key.
fn project(dir: &Path, items: &Value, data: &BTreeMap<String, Vec<u8>>, what: &str) {
    let files: Vec<(String, String)> = match items.as_sequence() {
        Some(items) => items
            .iter()
            .map(|i| (text(&i["key"], "items.key").to_owned(), text(&i["path"], "items.path").to_owned()))
            .collect(),
        None => data.keys().map(|k| (k.clone(), k.clone())).collect(),
    };
    for (key, path) in files {
        let bytes = data.get(&key).unwrap_or_else(|| panic!("the pod projects key {key} of {what}, which has none"));
        let file = dir.join(&path);
        std::fs::write(&file, bytes).expect("write volume file");
        set_mode(&file, 0o644);
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// One container of a [`Pod`].
pub struct Container<'a> {
    pod: &'a Pod,
    spec: &'a Value,
}

/// A mount: the path in the container, the directory here, read-only or not.
pub struct Mount {
    pub volume: String,
    pub mount_path: String,
    pub dir: PathBuf,
    pub read_only: bool,
}

impl Container<'_> {
    pub fn spec(&self) -> &Value {
        self.spec
    }

    pub fn mounts(&self) -> Vec<Mount> {
        seq(&self.spec["volumeMounts"])
            .iter()
            .map(|m| {
                assert!(m.get("subPath").is_none(), "subPath mounts are not emulated: {m:?}");
                let volume = text(&m["name"], "volumeMounts.name").to_owned();
                Mount {
                    dir: self.pod.volume_dir(&volume).to_path_buf(),
                    mount_path: text(&m["mountPath"], "mountPath").trim_end_matches('/').to_owned(),
                    read_only: m["readOnly"].as_bool() == Some(true),
                    volume,
                }
            })
            .collect()
    }

    /// `path` as seen in the container, mapped to the directory of the volume mounted there (the longest
    /// matching mountPath); None when no mount holds it (then it is the image's own file).
    pub fn host_path(&self, path: &str) -> Option<PathBuf> {
        self.mounts()
            .into_iter()
            .filter(|m| path == m.mount_path || path.starts_with(&format!("{}/", m.mount_path)))
            .max_by_key(|m| m.mount_path.len())
            .map(|m| m.dir.join(path[m.mount_path.len()..].trim_start_matches('/')))
    }

    fn map_path(&self, value: &str) -> String {
        match self.host_path(value) {
            Some(p) => p.to_str().expect("utf-8 temp path").to_owned(),
            None => value.to_owned(),
        }
    }

    /// The container's environment as the kubelet builds it, with paths under a mount mapped to here.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = Vec::new();
        for entry in seq(&self.spec["env"]) {
            let name = text(&entry["name"], "env name").to_owned();
            let value = if let Some(value) = entry.get("value") {
                let raw = match value {
                    Value::String(s) => s.clone(),
                    other => panic!("env {name}: a value must be a string, found {other:?}"),
                };
                self.map_path(&expand(&raw, &env))
            } else if let Some(reference) = entry["valueFrom"].get("secretKeyRef") {
                let secret = text(&reference["name"], "secretKeyRef.name");
                let key = text(&reference["key"], "secretKeyRef.key");
                String::from_utf8(self.pod.cluster.secret_value(secret, key).to_vec()).expect("utf-8 secret value")
            } else {
                panic!("env {name}: only value and valueFrom.secretKeyRef are emulated: {entry:?}")
            };
            env.retain(|(n, _)| *n != name);
            env.push((name, value));
        }
        env
    }

    pub fn env_value(&self, name: &str) -> String {
        self.env()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("the container has no env {name}"))
    }

    /// The raw (rendered, unresolved) `value` of env `name`.
    pub fn rendered_env(&self, name: &str) -> &str {
        let entry = named(&self.spec["env"], name).unwrap_or_else(|| panic!("the container has no env {name}"));
        text(&entry["value"], name)
    }

    /// `command` followed by `args`, with paths under a mount mapped.
    pub fn argv(&self) -> Vec<String> {
        let mut argv: Vec<String> = seq(&self.spec["command"]).iter().map(|a| text(a, "command").to_owned()).collect();
        argv.extend(seq(&self.spec["args"]).iter().map(|a| text(a, "args").to_owned()));
        assert!(!argv.is_empty(), "the container has no command: the image's entrypoint cannot be emulated");
        argv.iter().map(|a| self.map_path(a)).collect()
    }

    /// The uid and gid the container runs as (container securityContext over the pod's).
    pub fn run_as(&self) -> Option<(u32, u32)> {
        let pick = |field: &str| {
            self.spec["securityContext"][field].as_u64().or_else(|| self.pod.spec["securityContext"][field].as_u64())
        };
        let uid = pick("runAsUser")?;
        let gid = pick("runAsGroup").unwrap_or(uid);
        Some((u32::try_from(uid).expect("uid"), u32::try_from(gid).expect("gid")))
    }

    /// A Command for `argv` (for the init container: its own command) with this container's environment.
    pub fn command_for(&self, argv: &[String]) -> Command {
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd.envs(self.env());
        cmd.current_dir(self.pod.volumes.values().next().and_then(|d| d.parent()).unwrap_or(Path::new("/")));
        if running_as_root() {
            if let Some((uid, gid)) = self.run_as() {
                use std::os::unix::process::CommandExt;
                cmd.uid(uid).gid(gid);
            }
        }
        cmd
    }

    /// Runs the container's own command to the end (bounded by `timeout`).
    pub fn run(&self, timeout: Duration) -> h::Run {
        run_bounded(&mut self.command_for(&self.argv()), timeout)
    }
}

/// Kubernetes' `$(VAR)` expansion over the variables defined before (`$$` escapes; unknown references stay).
pub fn expand(value: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some((name, after)) = rest.strip_prefix("$(").and_then(|r| r.split_once(')')) {
            match env.iter().rev().find(|(n, _)| n == name) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&format!("$({name})")),
            }
            rest = after;
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// True when the tests run as root (then containers get their runAsUser, as in the cluster).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// Runs `cmd` to the end with no stdin, killing it and failing the test after `timeout`.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> h::Run {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_reader.join().expect("stdout reader");
    let stderr = err_reader.join().expect("stderr reader");
    h::Run { what, status, stdout, stderr }
}
